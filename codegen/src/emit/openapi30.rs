//! OpenAPI 3.0 from OpenAPI 3.1, for generators that do not read 3.1 yet.
//!
//! OpenAPI 3.1 schemas are JSON Schema 2020-12; OpenAPI 3.0 schemas are an
//! older, narrower dialect. Each schema in the document (components,
//! parameters, request and response bodies, headers) is converted:
//!
//! - `null` in a `type` array, and a `{"type": "null"}` alternative of
//!   `anyOf`/`oneOf` (how schemars writes `Option<T>`), become
//!   `nullable: true`. A nullable reference becomes
//!   `{"allOf": [{"$ref": ...}], "nullable": true}` with the referenced
//!   schema's `type` beside it when it has one, since OpenAPI 3.0.3 only
//!   honours `nullable` next to a `type`;
//! - a `type` array of several types becomes an `anyOf` of single types;
//! - `const` becomes a one-value `enum`; `examples` becomes `example`;
//! - `prefixItems` (tuples) becomes `items` with an `anyOf` of the element
//!   schemas and the length as `minItems`/`maxItems` (3.0 has no
//!   positional items);
//! - numeric `exclusiveMinimum`/`exclusiveMaximum` become the 3.0 boolean
//!   form beside `minimum`/`maximum`;
//! - `unevaluatedProperties` becomes `additionalProperties`, boolean
//!   schemas become `{}` and `{"not": {}}`, and `$ref` siblings move into an
//!   `allOf` (schemars' own OpenAPI 3.0 transforms);
//! - keywords 3.0 does not have (`$schema`, `$id`, `$comment`,
//!   `propertyNames`, `patternProperties`, `if`/`then`/`else`,
//!   `dependentSchemas`, `contains`, ...) are dropped: 3.0 cannot say what
//!   they say, and a 3.0 validator rejects them.

use std::collections::BTreeMap;

use schemars::transform::{
    transform_subschemas, RemoveRefSiblings, ReplaceBoolSchemas, ReplaceUnevaluatedProperties,
    SetSingleExample, Transform,
};
use schemars::Schema;
use serde_json::{json, Map, Value};

/// The version written to the `openapi` field.
pub const VERSION: &str = "3.0.3";

const COMPONENT_PREFIX: &str = "#/components/schemas/";

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Keywords OpenAPI 3.0's Schema Object does not have.
const UNSUPPORTED: &[&str] = &[
    "$schema",
    "$id",
    "$anchor",
    "$comment",
    "$defs",
    "$dynamicAnchor",
    "$dynamicRef",
    "definitions",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
    "dependentRequired",
    "dependentSchemas",
    "propertyNames",
    "patternProperties",
    "unevaluatedItems",
    "if",
    "then",
    "else",
    "contains",
    "minContains",
    "maxContains",
    "additionalItems",
];

/// Converts an OpenAPI 3.1 document to OpenAPI 3.0.
pub fn downgrade(document: &Value) -> Value {
    let mut document = document.clone();
    document["openapi"] = json!(VERSION);
    if let Some(root) = document.as_object_mut() {
        root.remove("jsonSchemaDialect");
        root.remove("webhooks");
    }
    if let Some(info) = document.get_mut("info").and_then(Value::as_object_mut) {
        info.remove("summary");
        if let Some(license) = info.get_mut("license").and_then(Value::as_object_mut) {
            license.remove("identifier");
        }
    }

    let component_types: BTreeMap<String, String> = document["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, schema)| Some((name.clone(), single_type(schema)?)))
        .collect();
    let scoped_schemes: Vec<String> = document["components"]["securitySchemes"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, scheme)| matches!(scheme["type"].as_str(), Some("oauth2" | "openIdConnect")))
        .map(|(name, _)| name.clone())
        .collect();
    let mut convert = |schema: &mut Value| convert_schema(schema, &component_types);

    if let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.values_mut().for_each(&mut convert);
    }
    for kind in ["parameters", "headers"] {
        if let Some(items) = document
            .pointer_mut(&format!("/components/{kind}"))
            .and_then(Value::as_object_mut)
        {
            items.values_mut().for_each(|p| parameter(p, &mut convert));
        }
    }
    if let Some(bodies) = document
        .pointer_mut("/components/requestBodies")
        .and_then(Value::as_object_mut)
    {
        bodies.values_mut().for_each(|b| content(b, &mut convert));
    }
    if let Some(responses) = document
        .pointer_mut("/components/responses")
        .and_then(Value::as_object_mut)
    {
        responses
            .values_mut()
            .for_each(|r| response(r, &mut convert));
    }
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            parameters(item, &mut convert);
            for method in METHODS {
                let Some(operation) = item.get_mut(*method) else {
                    continue;
                };
                parameters(operation, &mut convert);
                move_role_scopes(operation, &scoped_schemes);
                if let Some(body) = operation.get_mut("requestBody") {
                    content(body, &mut convert);
                }
                if let Some(responses) = operation
                    .get_mut("responses")
                    .and_then(Value::as_object_mut)
                {
                    responses
                        .values_mut()
                        .for_each(|r| response(r, &mut convert));
                }
            }
        }
    }
    document
}

/// OpenAPI 3.0 lists scopes in a security requirement only for OAuth 2.0
/// and OpenID Connect schemes; for the others the list must be empty. The
/// scopes (roles) an operation requires of a bearer token or API key move
/// to the operation's `x-required-scopes`.
fn move_role_scopes(operation: &mut Value, scoped_schemes: &[String]) {
    let mut moved: Vec<Value> = Vec::new();
    let requirements = operation
        .get_mut("security")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten();
    for requirement in requirements {
        let Some(requirement) = requirement.as_object_mut() else {
            continue;
        };
        for (scheme, scopes) in requirement.iter_mut() {
            if scoped_schemes.contains(scheme) {
                continue;
            }
            if let Some(list) = scopes.as_array_mut() {
                moved.append(list);
            }
        }
    }
    if !moved.is_empty() {
        operation["x-required-scopes"] = Value::Array(moved);
    }
}

/// The one JSON type every value of `schema` has, if it has one: its
/// `type`, the shared `type` of all its alternatives, or the type of all its
/// `enum` values.
fn single_type(schema: &Value) -> Option<String> {
    if let Some(ty) = schema.get("type") {
        return ty.as_str().filter(|t| *t != "null").map(str::to_owned);
    }
    let alternatives = ["oneOf", "anyOf"]
        .iter()
        .find_map(|k| schema.get(*k).and_then(Value::as_array));
    if let Some(alternatives) = alternatives {
        let types: Vec<Option<String>> = alternatives.iter().map(single_type).collect();
        let first = types.first()?.clone()?;
        return types
            .iter()
            .all(|t| t.as_deref() == Some(first.as_str()))
            .then_some(first);
    }
    let values = schema.get("enum").and_then(Value::as_array)?;
    let kind = |v: &Value| match v {
        Value::String(_) => Some("string"),
        Value::Bool(_) => Some("boolean"),
        Value::Number(n) if n.is_f64() => Some("number"),
        Value::Number(_) => Some("integer"),
        _ => None,
    };
    let first = kind(values.first()?)?;
    values
        .iter()
        .all(|v| kind(v) == Some(first))
        .then(|| first.to_owned())
}

fn parameters(holder: &mut Value, convert: &mut impl FnMut(&mut Value)) {
    if let Some(list) = holder.get_mut("parameters").and_then(Value::as_array_mut) {
        list.iter_mut().for_each(|p| parameter(p, convert));
    }
}

fn parameter(parameter: &mut Value, convert: &mut impl FnMut(&mut Value)) {
    if let Some(schema) = parameter.get_mut("schema") {
        convert(schema);
    }
    content(parameter, convert);
}

fn response(response: &mut Value, convert: &mut impl FnMut(&mut Value)) {
    content(response, convert);
    if let Some(headers) = response.get_mut("headers").and_then(Value::as_object_mut) {
        headers.values_mut().for_each(|h| parameter(h, convert));
    }
}

fn content(holder: &mut Value, convert: &mut impl FnMut(&mut Value)) {
    if let Some(media) = holder.get_mut("content").and_then(Value::as_object_mut) {
        for media_type in media.values_mut() {
            if let Some(schema) = media_type.get_mut("schema") {
                convert(schema);
            }
        }
    }
}

/// Converts one JSON Schema 2020-12 schema to an OpenAPI 3.0 Schema Object.
pub fn convert_schema(schema: &mut Value, component_types: &BTreeMap<String, String>) {
    let Ok(schema) = <&mut Schema>::try_from(schema) else {
        return;
    };
    ReplaceUnevaluatedProperties::default().transform(schema);
    Downgrade { component_types }.transform(schema);
    RemoveRefSiblings::default().transform(schema);
    SetSingleExample::default().transform(schema);
    let mut replace_bools = ReplaceBoolSchemas::default();
    replace_bools.skip_additional_properties = true;
    replace_bools.transform(schema);
}

struct Downgrade<'a> {
    component_types: &'a BTreeMap<String, String>,
}

impl Transform for Downgrade<'_> {
    fn transform(&mut self, schema: &mut Schema) {
        transform_subschemas(self, schema);
        let Some(map) = schema.as_object_mut() else {
            return;
        };
        self.type_array(map);
        self.null_alternatives(map, "anyOf");
        self.null_alternatives(map, "oneOf");
        if let Some(value) = map.remove("const") {
            map.insert("enum".into(), Value::Array(vec![value]));
        }
        tuple_items(map);
        exclusive_bound(map, "exclusiveMinimum", "minimum");
        exclusive_bound(map, "exclusiveMaximum", "maximum");
        for keyword in UNSUPPORTED {
            map.remove(*keyword);
        }
        if map.get("type").and_then(Value::as_str) == Some("array") && !map.contains_key("items") {
            map.insert("items".into(), json!({}));
        }
    }
}

impl Downgrade<'_> {
    fn type_array(&self, map: &mut Map<String, Value>) {
        let types: Vec<String> = match map.get("type") {
            Some(Value::Array(types)) => types
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(t)) if t == "null" => vec!["null".to_owned()],
            _ => return,
        };
        map.remove("type");
        let nullable = types.iter().any(|t| t == "null");
        let others: Vec<&String> = types.iter().filter(|t| *t != "null").collect();
        match others.as_slice() {
            [] => {
                map.extend(null_only());
                return;
            }
            [one] => {
                map.insert("type".into(), json!(one));
            }
            many => {
                let alternatives: Vec<Value> = many.iter().map(|t| json!({ "type": t })).collect();
                map.insert("anyOf".into(), Value::Array(alternatives));
            }
        }
        if nullable {
            map.insert("nullable".into(), json!(true));
        }
    }

    /// Turns `{"type": "null"}` alternatives into `nullable: true` where
    /// the rest has a known `type`; elsewhere the alternative stays, as a
    /// schema that admits only `null` in 3.0's terms.
    fn null_alternatives(&self, map: &mut Map<String, Value>, key: &str) {
        let Some(Value::Array(alternatives)) = map.get(key) else {
            return;
        };
        if !alternatives.iter().any(is_null_only) {
            return;
        }
        let mut rest: Vec<Value> = alternatives
            .iter()
            .filter(|a| !is_null_only(a))
            .cloned()
            .collect();
        map.remove(key);
        if rest.is_empty() {
            map.extend(null_only());
            return;
        }
        if let [Value::Object(only)] = rest.as_slice() {
            let is_ref = only.contains_key("$ref");
            let known_type = match only.get("$ref").and_then(Value::as_str) {
                Some(reference) => reference
                    .strip_prefix(COMPONENT_PREFIX)
                    .and_then(|name| self.component_types.get(name))
                    .cloned(),
                None => only.get("type").and_then(Value::as_str).map(str::to_owned),
            };
            let clashes = only
                .keys()
                .any(|k| map.contains_key(k) && k != "description");
            if let Some(ty) = known_type {
                let only = only.clone();
                map.insert("nullable".into(), json!(true));
                if is_ref || clashes {
                    map.insert("type".into(), json!(ty));
                    map.insert("allOf".into(), json!([Value::Object(only)]));
                } else {
                    for (k, v) in only {
                        map.entry(k).or_insert(v);
                    }
                }
                return;
            }
        }
        rest.push(Value::Object(null_only()));
        map.insert(key.into(), Value::Array(rest));
    }
}

/// A schema admitting only `null` in OpenAPI 3.0.3, where `nullable` only
/// counts beside a `type`.
fn null_only() -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("type".into(), json!("string"));
    map.insert("nullable".into(), json!(true));
    map.insert("enum".into(), json!([null]));
    map
}

/// Whether a (converted) schema admits only `null`.
fn is_null_only(schema: &Value) -> bool {
    schema.get("type") == Some(&json!("null"))
        || schema.get("enum") == Some(&json!([null]))
        || schema.get("const") == Some(&Value::Null)
}

fn tuple_items(map: &mut Map<String, Value>) {
    let prefix = match map.remove("prefixItems") {
        Some(Value::Array(prefix)) => prefix,
        Some(_) => return,
        None => match map.get("items") {
            // draft-07 tuple form
            Some(Value::Array(items)) => {
                let items = items.clone();
                map.remove("items");
                if let Some(rest) = map.remove("additionalItems") {
                    map.insert("items".into(), rest);
                }
                items
            }
            _ => return,
        },
    };
    let count = prefix.len();
    let closed = matches!(map.get("items"), Some(Value::Bool(false)));
    let mut element_schemas: Vec<Value> = Vec::new();
    for schema in prefix {
        if !element_schemas.contains(&schema) {
            element_schemas.push(schema);
        }
    }
    if let Some(rest) = map.remove("items").filter(|r| !matches!(r, Value::Bool(_))) {
        if !element_schemas.contains(&rest) {
            element_schemas.push(rest);
        }
    }
    let items = match element_schemas.len() {
        0 => json!({}),
        1 => element_schemas.remove(0),
        _ => json!({ "anyOf": element_schemas }),
    };
    map.insert("items".into(), items);
    map.entry("minItems").or_insert(json!(count));
    if closed {
        map.entry("maxItems").or_insert(json!(count));
    }
}

fn exclusive_bound(map: &mut Map<String, Value>, exclusive: &str, inclusive: &str) {
    if let Some(Value::Number(bound)) = map.get(exclusive).cloned() {
        map.insert(inclusive.into(), Value::Number(bound));
        map.insert(exclusive.into(), json!(true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(schema: Value) -> Value {
        let types = BTreeMap::from([("Line".to_owned(), "object".to_owned())]);
        let mut schema = schema;
        convert_schema(&mut schema, &types);
        schema
    }

    #[test]
    fn nullable_types_and_references() {
        assert_eq!(
            convert(json!({"type": ["string", "null"], "description": "d"})),
            json!({"type": "string", "nullable": true, "description": "d"})
        );
        assert_eq!(
            convert(json!({"anyOf": [{"$ref": "#/components/schemas/Line"}, {"type": "null"}]})),
            json!({"allOf": [{"$ref": "#/components/schemas/Line"}], "nullable": true, "type": "object"})
        );
        // Without a known type, `nullable` would not count: null stays an
        // alternative of its own.
        assert_eq!(
            convert(
                json!({"anyOf": [{"$ref": "#/components/schemas/Other"}, {"type": "null"}], "description": "d"})
            ),
            json!({"anyOf": [
                {"$ref": "#/components/schemas/Other"},
                {"type": "string", "nullable": true, "enum": [null]}
            ], "description": "d"})
        );
        assert_eq!(
            convert(json!({"anyOf": [{"type": "integer", "format": "int32"}, {"type": "null"}]})),
            json!({"type": "integer", "format": "int32", "nullable": true})
        );
        assert_eq!(
            convert(json!({"type": ["integer", "string"]})),
            json!({"anyOf": [{"type": "integer"}, {"type": "string"}]})
        );
    }

    #[test]
    fn a_type_shared_by_every_alternative_or_value_is_the_type() {
        assert_eq!(
            single_type(
                &json!({"oneOf": [{"const": "a", "type": "string"}, {"const": "b", "type": "string"}]})
            ),
            Some("string".to_owned())
        );
        assert_eq!(
            single_type(&json!({"enum": [1, 2]})),
            Some("integer".to_owned())
        );
        assert_eq!(
            single_type(&json!({"anyOf": [{"type": "string"}, {"type": "object"}]})),
            None
        );
        assert_eq!(single_type(&json!({"type": ["string", "null"]})), None);
    }

    #[test]
    fn keywords_of_newer_drafts_are_rewritten_or_dropped() {
        assert_eq!(
            convert(json!({"const": "ship", "type": "string", "examples": ["a", "b"]})),
            json!({"enum": ["ship"], "type": "string", "example": "a"})
        );
        assert_eq!(
            convert(
                json!({"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}], "items": false})
            ),
            json!({"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2})
        );
        assert_eq!(
            convert(json!({"type": "number", "exclusiveMinimum": 0})),
            json!({"type": "number", "minimum": 0, "exclusiveMinimum": true})
        );
        assert_eq!(
            convert(
                json!({"type": "object", "propertyNames": {"format": "uint"}, "additionalProperties": true, "$schema": "x"})
            ),
            json!({"type": "object", "additionalProperties": true})
        );
        assert_eq!(
            convert(json!({"properties": {"any": true, "none": false}})),
            json!({"properties": {"any": {}, "none": {"not": {}}}})
        );
        assert_eq!(
            convert(json!({"$ref": "#/components/schemas/Line", "description": "d"})),
            json!({"allOf": [{"$ref": "#/components/schemas/Line"}], "description": "d"})
        );
    }

    #[test]
    fn documents_convert_every_schema_position() {
        let document = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1", "summary": "s", "license": {"name": "MIT", "identifier": "MIT"}},
            "paths": {"/x/{id}": {"get": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": ["string", "null"]}}],
                "requestBody": {"content": {"application/json": {"schema": {"const": 1}}}},
                "responses": {"200": {"description": "ok",
                    "headers": {"x": {"schema": {"type": ["integer", "null"]}}},
                    "content": {"application/json": {"schema": {"prefixItems": [{"type": "string"}], "type": "array"}}}}}
            }}},
            "components": {"schemas": {"Line": {"type": "object", "properties": {"n": {"type": ["number", "null"]}}}}}
        });
        let converted = downgrade(&document);
        assert_eq!(converted["openapi"], "3.0.3");
        assert_eq!(
            converted["info"],
            json!({"title": "t", "version": "1", "license": {"name": "MIT"}})
        );
        let op = &converted["paths"]["/x/{id}"]["get"];
        assert_eq!(
            op["parameters"][0]["schema"],
            json!({"type": "string", "nullable": true})
        );
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"],
            json!({"enum": [1]})
        );
        let ok = &op["responses"]["200"];
        assert_eq!(
            ok["headers"]["x"]["schema"],
            json!({"type": "integer", "nullable": true})
        );
        assert_eq!(
            ok["content"]["application/json"]["schema"],
            json!({"type": "array", "items": {"type": "string"}, "minItems": 1})
        );
        assert_eq!(
            converted["components"]["schemas"]["Line"]["properties"]["n"],
            json!({"type": "number", "nullable": true})
        );
    }
}
