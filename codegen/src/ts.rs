//! TypeScript types from JSON Schema (2020-12, as schemars writes it).
//!
//! [`type_expr`] turns a schema into a TypeScript type expression:
//! references become the referenced type's name, `oneOf`/`anyOf` unions,
//! `allOf` intersections, `const`/`enum` literal types, objects inline
//! object types (a property not in `required` is optional), maps index
//! signatures, `prefixItems` tuples. Anything JSON Schema can say that
//! TypeScript cannot (formats, ranges, patterns) is left to the schema
//! files; integers are `number`, so values beyond 2^53 lose precision in
//! `JSON.parse`, as in any JavaScript client.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::names::ref_name;

/// Names TypeScript reserves, or that the client template uses from the
/// global scope: a contract type with one of these names gets a trailing
/// `_` in TypeScript, so it neither breaks nor shadows them.
const RESERVED: &[&str] = &[
    // Keywords and primitive type names.
    "any",
    "bigint",
    "boolean",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "never",
    "new",
    "null",
    "number",
    "object",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "string",
    "super",
    "switch",
    "symbol",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "undefined",
    "unknown",
    "var",
    "void",
    "while",
    "with",
    "yield",
    // Globals the client's code names as types.
    "AbortSignal",
    "Array",
    "Error",
    "JSON",
    "Object",
    "Promise",
    "Response",
];

/// The TypeScript name of the schema named `name`: `_` for characters a
/// name cannot hold, a leading `_` before a digit, a trailing `_` after a
/// reserved name.
pub fn type_name(name: &str) -> String {
    let mut ident: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, '_');
    }
    if RESERVED.contains(&ident.as_str()) {
        ident.push('_');
    }
    ident
}

/// A TypeScript identifier for a Rust argument or field name: camelCase for
/// function names, the name itself otherwise, with a trailing `_` after a
/// reserved word.
pub fn identifier(name: &str, camel: bool) -> String {
    let mut ident = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' && camel && !ident.is_empty() {
            upper = true;
        } else if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
            if upper {
                ident.extend(c.to_uppercase());
                upper = false;
            } else {
                ident.push(c);
            }
        } else {
            ident.push('_');
        }
    }
    if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, '_');
    }
    if RESERVED.contains(&ident.as_str()) {
        ident.push('_');
    }
    ident
}

/// A property key: bare when it is an identifier, quoted otherwise.
pub fn property_key(name: &str) -> String {
    let bare = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if bare {
        name.to_owned()
    } else {
        string_literal(name)
    }
}

fn string_literal(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

/// How tightly a type expression binds, to parenthesize where needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precedence {
    Union,
    Intersection,
    Atom,
}

/// Renders schemas as TypeScript with the names of the named schemas.
#[derive(Debug, Clone)]
pub struct TypeRenderer {
    names: BTreeMap<String, String>,
}

impl TypeRenderer {
    /// A renderer for the definitions named `names` (schema names).
    pub fn new<'a>(names: impl IntoIterator<Item = &'a String>) -> Self {
        TypeRenderer {
            names: names
                .into_iter()
                .map(|n| (n.clone(), type_name(n)))
                .collect(),
        }
    }

    /// The TypeScript type of `schema`.
    pub fn type_expr(&self, schema: &Value) -> String {
        self.render(schema).0
    }

    /// The named schemas `schema` refers to directly, in TypeScript names.
    pub fn referenced_names(&self, schema: &Value) -> Vec<String> {
        let mut names = Vec::new();
        crate::names::collect_refs(schema, &mut names);
        let mut found: Vec<String> = names
            .iter()
            .filter_map(|n| self.names.get(n).cloned())
            .collect();
        found.sort();
        found.dedup();
        found
    }

    fn render(&self, schema: &Value) -> (String, Precedence) {
        let map = match schema {
            Value::Bool(true) => return ("unknown".into(), Precedence::Atom),
            Value::Bool(false) => return ("never".into(), Precedence::Atom),
            Value::Object(map) => map,
            _ => return ("unknown".into(), Precedence::Atom),
        };
        if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
            let name = ref_name(reference)
                .and_then(|n| self.names.get(&n).cloned())
                .unwrap_or_else(|| "unknown".to_owned());
            return (name, Precedence::Atom);
        }
        if let Some(value) = map.get("const") {
            return (literal(value), Precedence::Atom);
        }
        if let Some(Value::Array(values)) = map.get("enum") {
            let parts: Vec<(String, Precedence)> = values
                .iter()
                .map(|v| (literal(v), Precedence::Atom))
                .collect();
            return union(parts);
        }

        // The schema's own shape, then any combinators narrowing it.
        let mut parts: Vec<(String, Precedence)> = Vec::new();
        if let Some(own) = self.own_type(map) {
            parts.push(own);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(alternatives)) = map.get(key) {
                let rendered = alternatives.iter().map(|s| self.render(s)).collect();
                parts.push(union(rendered));
            }
        }
        if let Some(Value::Array(all)) = map.get("allOf") {
            parts.extend(all.iter().map(|s| self.render(s)));
        }
        match parts.len() {
            0 => ("unknown".into(), Precedence::Atom),
            1 => parts.remove(0),
            _ => intersection(parts),
        }
    }

    /// The type `type` (and the keywords that go with it) describes, if any.
    fn own_type(&self, map: &Map<String, Value>) -> Option<(String, Precedence)> {
        let types: Vec<&str> = match map.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ if map.contains_key("properties") || map.contains_key("additionalProperties") => {
                vec!["object"]
            }
            _ if map.contains_key("items") || map.contains_key("prefixItems") => vec!["array"],
            _ => return None,
        };
        let rendered = types
            .into_iter()
            .map(|t| match t {
                "string" => ("string".into(), Precedence::Atom),
                "integer" | "number" => ("number".into(), Precedence::Atom),
                "boolean" => ("boolean".into(), Precedence::Atom),
                "null" => ("null".into(), Precedence::Atom),
                "array" => (self.array_type(map), Precedence::Atom),
                "object" => self.object_type(map),
                _ => ("unknown".into(), Precedence::Atom),
            })
            .collect();
        Some(union(rendered))
    }

    fn array_type(&self, map: &Map<String, Value>) -> String {
        if let Some(Value::Array(prefix)) = map.get("prefixItems") {
            let mut elements: Vec<String> = prefix.iter().map(|s| self.type_expr(s)).collect();
            let closed = map.get("maxItems").and_then(Value::as_u64) == Some(prefix.len() as u64);
            match map.get("items") {
                _ if closed => {}
                Some(Value::Bool(false)) => {}
                None => elements.push("...unknown[]".into()),
                Some(rest) => {
                    let (rest, precedence) = self.render(rest);
                    elements.push(format!("...{}[]", parenthesize(rest, precedence)));
                }
            }
            return format!("[{}]", elements.join(", "));
        }
        match map.get("items") {
            Some(items) => {
                let (item, precedence) = self.render(items);
                format!("{}[]", parenthesize(item, precedence))
            }
            None => "unknown[]".into(),
        }
    }

    fn object_type(&self, map: &Map<String, Value>) -> (String, Precedence) {
        let mut members = Vec::new();
        for property in self.properties(map) {
            members.push(format!(
                "{}{}: {}",
                property.key,
                if property.required { "" } else { "?" },
                property.ts_type
            ));
        }
        let extra = ["additionalProperties", "unevaluatedProperties"]
            .iter()
            .find_map(|k| map.get(*k).filter(|v| v.is_object()));
        let index = extra.map(|schema| format!("[key: string]: {}", self.type_expr(schema)));
        match (members.is_empty(), index) {
            (true, None) => ("{ [key: string]: unknown }".into(), Precedence::Atom),
            (true, Some(index)) => (format!("{{ {index} }}"), Precedence::Atom),
            (false, None) => (format!("{{ {} }}", members.join("; ")), Precedence::Atom),
            // An index signature must admit every property, so the map
            // part is a separate member of an intersection.
            (false, Some(index)) => (
                format!("{{ {} }} & {{ {index} }}", members.join("; ")),
                Precedence::Intersection,
            ),
        }
    }

    /// The properties of an object schema, sorted by name.
    pub fn properties(&self, map: &Map<String, Value>) -> Vec<Property> {
        let required: Vec<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(Value::Object(properties)) = map.get("properties") else {
            return Vec::new();
        };
        properties
            .iter()
            .map(|(name, schema)| Property {
                name: name.clone(),
                key: property_key(name),
                required: required.contains(&name.as_str()),
                ts_type: self.type_expr(schema),
                docs: schema
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })
            .collect()
    }
}

/// One property of an object schema, in TypeScript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The JSON name.
    pub name: String,
    /// The name as a TypeScript property key (quoted when it must be).
    pub key: String,
    /// Whether the object always has it.
    pub required: bool,
    /// Its TypeScript type.
    pub ts_type: String,
    /// Its schema's `description`.
    pub docs: Option<String>,
}

fn literal(value: &Value) -> String {
    match value {
        Value::String(s) => string_literal(s),
        Value::Null | Value::Bool(_) | Value::Number(_) => value.to_string(),
        // TypeScript has no literal types for these; the shape is close enough.
        Value::Array(_) => "unknown[]".into(),
        Value::Object(_) => "{ [key: string]: unknown }".into(),
    }
}

fn parenthesize(text: String, precedence: Precedence) -> String {
    if precedence < Precedence::Atom {
        format!("({text})")
    } else {
        text
    }
}

fn union(parts: Vec<(String, Precedence)>) -> (String, Precedence) {
    // `&` binds tighter than `|`, so no member of a union needs parentheses.
    let mut members: Vec<(String, Precedence)> = Vec::new();
    for part in parts {
        if !members.iter().any(|(text, _)| *text == part.0) {
            members.push(part);
        }
    }
    match members.len() {
        0 => ("never".into(), Precedence::Atom),
        1 => members.remove(0),
        _ => {
            let texts: Vec<String> = members.into_iter().map(|(text, _)| text).collect();
            (texts.join(" | "), Precedence::Union)
        }
    }
}

fn intersection(parts: Vec<(String, Precedence)>) -> (String, Precedence) {
    let texts: Vec<String> = parts
        .into_iter()
        .map(|(text, precedence)| parenthesize_if(text, precedence < Precedence::Intersection))
        .collect();
    (texts.join(" & "), Precedence::Intersection)
}

fn parenthesize_if(text: String, yes: bool) -> String {
    if yes {
        format!("({text})")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn renderer() -> TypeRenderer {
        let names = ["Line".to_owned(), "Promise".to_owned(), "a-b".to_owned()];
        TypeRenderer::new(names.iter())
    }

    fn ts(schema: Value) -> String {
        renderer().type_expr(&schema)
    }

    #[test]
    fn scalars_literals_and_references() {
        assert_eq!(ts(json!({"type": "string"})), "string");
        assert_eq!(ts(json!({"type": "integer", "format": "uint64"})), "number");
        assert_eq!(ts(json!({"type": ["string", "null"]})), "string | null");
        assert_eq!(ts(json!({"const": "ship", "type": "string"})), "\"ship\"");
        assert_eq!(ts(json!({"enum": ["a", 1, null]})), "\"a\" | 1 | null");
        assert_eq!(ts(json!({"$ref": "#/$defs/Line"})), "Line");
        assert_eq!(ts(json!({"$ref": "#/$defs/Promise"})), "Promise_");
        assert_eq!(ts(json!({"$ref": "#/$defs/a-b"})), "a_b");
        assert_eq!(ts(json!(true)), "unknown");
        assert_eq!(ts(json!({})), "unknown");
    }

    #[test]
    fn arrays_tuples_and_maps() {
        assert_eq!(
            ts(json!({"type": "array", "items": {"$ref": "#/$defs/Line"}})),
            "Line[]"
        );
        assert_eq!(
            ts(json!({"type": "array", "items": {"type": ["string", "null"]}})),
            "(string | null)[]"
        );
        assert_eq!(
            ts(
                json!({"type": "array", "prefixItems": [{"type": "number"}, {"type": "string"}], "items": false})
            ),
            "[number, string]"
        );
        assert_eq!(
            ts(
                json!({"type": "array", "prefixItems": [{"type": "number"}], "minItems": 1, "maxItems": 1})
            ),
            "[number]"
        );
        assert_eq!(
            ts(json!({"type": "array", "prefixItems": [{"type": "number"}]})),
            "[number, ...unknown[]]"
        );
        assert_eq!(
            ts(json!({"type": "object", "additionalProperties": {"type": "string"}})),
            "{ [key: string]: string }"
        );
    }

    #[test]
    fn objects_unions_and_nullable_references() {
        assert_eq!(
            ts(json!({
                "type": "object",
                "properties": {"b": {"type": "string"}, "a-1": {"type": "integer"}},
                "required": ["b"]
            })),
            "{ \"a-1\"?: number; b: string }"
        );
        assert_eq!(
            ts(json!({"anyOf": [{"$ref": "#/$defs/Line"}, {"type": "null"}]})),
            "Line | null"
        );
        assert_eq!(
            ts(json!({"oneOf": [
                {"type": "object", "properties": {"t": {"const": "a"}}, "required": ["t"]},
                {"type": "string"}
            ]})),
            "{ t: \"a\" } | string"
        );
        assert_eq!(
            ts(json!({
                "type": "object",
                "properties": {"id": {"type": "string"}},
                "required": ["id"],
                "oneOf": [{"properties": {"x": {"type": "number"}}}, {"properties": {"y": {"type": "number"}}}]
            })),
            "{ id: string } & ({ x?: number } | { y?: number })"
        );
        assert_eq!(
            ts(
                json!({"type": "array", "items": {"allOf": [{"$ref": "#/$defs/Line"}, {"type": "object", "properties": {"n": {"type": "number"}}}]}})
            ),
            "(Line & { n?: number })[]"
        );
    }

    #[test]
    fn identifiers_avoid_reserved_words() {
        assert_eq!(identifier("place_order", true), "placeOrder");
        assert_eq!(identifier("idempotency_key", false), "idempotency_key");
        assert_eq!(identifier("new", false), "new_");
        assert_eq!(identifier("delete", true), "delete_");
        assert_eq!(type_name("9lives"), "_9lives");
        assert_eq!(type_name("Response"), "Response_");
        assert_eq!(property_key("x-y"), "\"x-y\"");
        assert_eq!(property_key("snake_case"), "snake_case");
    }
}
