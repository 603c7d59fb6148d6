//! Documents built from a [`ServiceDescriptor`](crate::ServiceDescriptor).

mod asyncapi;
mod bindings;
mod document;
mod openapi;
mod security;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

pub use asyncapi::{asyncapi, asyncapi_document, asyncapi_with, to_draft07};
pub use bindings::{AsyncApiOptions, AsyncApiServer};
pub use document::Document;
pub use openapi::{openapi, openapi_document};

/// Rewrites every `$ref` of the form `#/$defs/<name>` in `schema` to
/// `<prefix><name>`, where each document format resolves named schemas.
pub fn rewrite_refs(schema: &mut Value, prefix: &str) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if key == "$ref" {
                    if let Value::String(reference) = value {
                        if let Some(name) = reference.strip_prefix("#/$defs/") {
                            *reference = format!("{prefix}{name}");
                        }
                    }
                } else {
                    rewrite_refs(value, prefix);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, prefix)),
        _ => {}
    }
}

/// Adds the range of the Rust integer type to each integer schema whose
/// `format` names one (`"uint32"`, `"int64"`, ...) but leaves the range
/// out, so validators and generators keep to the values the server can
/// decode. A JSON Schema validator treats `format` as an annotation only.
/// 128-bit formats are left alone: JSON documents here carry at most 64-bit
/// integers.
pub fn bound_integer_formats(schema: &mut Value) {
    let Value::Object(map) = schema else {
        if let Value::Array(items) = schema {
            items.iter_mut().for_each(bound_integer_formats);
        }
        return;
    };
    bound_integer_format(map);
    for (key, value) in map.iter_mut() {
        if !holds_instance_data(key) {
            bound_integer_formats(value);
        }
    }
}

/// Whether the value of the schema keyword `key` is instance data (values,
/// not schemas).
fn holds_instance_data(key: &str) -> bool {
    matches!(key, "const" | "enum" | "default" | "example" | "examples")
}

/// [`rewrite_refs`] with `prefix`, then [`bound_integer_formats`], in one
/// walk of `document`: how each document is finished once built.
pub(crate) fn finish_document(document: &mut Value, prefix: &str) {
    finish(document, prefix, true, true);
}

/// The walk of [`finish_document`]. `refs` and `bounds` say whether each
/// of the two still applies below `value`: [`rewrite_refs`] does not go
/// below a `$ref` that is not a string, [`bound_integer_formats`] not into
/// instance data.
fn finish(value: &mut Value, prefix: &str, refs: bool, bounds: bool) {
    match value {
        Value::Object(map) => {
            if bounds {
                bound_integer_format(map);
            }
            for (key, value) in map.iter_mut() {
                if key == "$ref" {
                    match value {
                        Value::String(reference) if refs => {
                            if let Some(name) = reference.strip_prefix("#/$defs/") {
                                *reference = format!("{prefix}{name}");
                            }
                        }
                        Value::String(_) => {}
                        _ if bounds => finish(value, prefix, false, true),
                        _ => {}
                    }
                } else {
                    let bounds = bounds && !holds_instance_data(key);
                    if refs || bounds {
                        finish(value, prefix, refs, bounds);
                    }
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| finish(v, prefix, refs, bounds)),
        _ => {}
    }
}

/// The range of the integer type `map`'s `format` names, added to `map`
/// where it is an integer schema without it.
fn bound_integer_format(map: &mut serde_json::Map<String, Value>) {
    let is_integer = match map.get("type") {
        Some(Value::String(t)) => t == "integer",
        Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
        _ => false,
    };
    if is_integer {
        if let Some((min, max)) = map
            .get("format")
            .and_then(Value::as_str)
            .and_then(integer_range)
        {
            map.entry("minimum").or_insert(min);
            map.entry("maximum").or_insert(max);
        }
    }
}

/// The range of the Rust integer type schemars writes as `format`.
fn integer_range(format: &str) -> Option<(Value, Value)> {
    fn range<T: Into<Value>>(min: T, max: T) -> Option<(Value, Value)> {
        Some((min.into(), max.into()))
    }
    match format {
        "int8" => range(i8::MIN, i8::MAX),
        "int16" => range(i16::MIN, i16::MAX),
        "int32" => range(i32::MIN, i32::MAX),
        "int64" => range(i64::MIN, i64::MAX),
        "int" => range(isize::MIN as i64, isize::MAX as i64),
        "uint8" => range(u8::MIN, u8::MAX),
        "uint16" => range(u16::MIN, u16::MAX),
        "uint32" => range(u32::MIN, u32::MAX),
        "uint64" => range(u64::MIN, u64::MAX),
        "uint" => range(usize::MIN as u64, usize::MAX as u64),
        _ => None,
    }
}

/// The names of the definitions that `roots` reference as `#/$defs/<name>`,
/// directly or through other definitions, so a document publishes only the
/// named schemas it uses.
pub fn referenced_definitions(
    roots: &Value,
    definitions: &BTreeMap<String, Value>,
) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = Vec::new();
    collect_refs(roots, &mut pending);
    while let Some(name) = pending.pop() {
        if let Some(schema) = definitions.get(&name) {
            if found.insert(name) {
                collect_refs(schema, &mut pending);
            }
        }
    }
    found
}

/// Pushes the name of every `#/$defs/<name>` reference in `value`, in
/// order; instance data (`const`, `enum`, `default`, examples) is skipped.
pub fn collect_refs(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => {
                        if let Some(name) = ref_name(reference) {
                            names.push(name);
                        }
                    }
                    ("const" | "enum" | "default" | "examples" | "example", _) => {}
                    _ => collect_refs(value, names),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, names)),
        _ => {}
    }
}

/// The definition name a `#/$defs/...` reference points at, decoded from
/// its JSON-pointer and percent encoding.
pub fn ref_name(reference: &str) -> Option<String> {
    let encoded = reference.strip_prefix("#/$defs/")?;
    if !encoded.contains(['~', '%']) {
        // Nothing to decode: most names.
        return Some(encoded.to_owned());
    }
    let unescaped = encoded.replace("~1", "/").replace("~0", "~");
    Some(
        percent_encoding::percent_decode_str(&unescaped)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// A JSON object of `entries`, moved in. `json!` serializes each value it
/// is given into a new one, a deep copy; documents are assembled with this
/// instead wherever a value is large or already built.
pub(crate) fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

/// The component name of the problem-document schema: `ProblemDetails`,
/// unless the contract has a type of that name.
pub(crate) fn problem_schema_name(descriptor: &crate::ServiceDescriptor) -> &'static str {
    if descriptor.definitions.contains_key("ProblemDetails") {
        "AccordProblemDetails"
    } else {
        "ProblemDetails"
    }
}

/// A document's `info` object: the service name, version and docs.
pub(crate) fn info(descriptor: &crate::ServiceDescriptor) -> Value {
    let mut info = serde_json::Map::new();
    info.insert("title".into(), Value::from(descriptor.name.clone()));
    info.insert("version".into(), Value::from(descriptor.version.clone()));
    if let Some(docs) = &descriptor.docs {
        info.insert("description".into(), Value::from(docs.clone()));
    }
    Value::Object(info)
}

/// The first paragraph of a doc comment, as a one-line summary.
pub fn summary(docs: &str) -> String {
    docs.split("\n\n")
        .next()
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ref_name_decodes_pointer_and_percent_escapes() {
        assert_eq!(ref_name("#/$defs/Order").as_deref(), Some("Order"));
        assert_eq!(ref_name("#/$defs/a~1b~0c%20d").as_deref(), Some("a/b~c d"));
        assert_eq!(ref_name("#/components/schemas/Order"), None);
    }

    #[test]
    fn rewrites_nested_references_only_under_defs() {
        let mut schema = json!({
            "$ref": "#/$defs/Order",
            "items": [{"$ref": "#/$defs/Line"}, {"$ref": "https://example.com/x"}],
            "properties": {"$ref": {"type": "string"}}
        });
        rewrite_refs(&mut schema, "#/components/schemas/");
        assert_eq!(
            schema,
            json!({
                "$ref": "#/components/schemas/Order",
                "items": [{"$ref": "#/components/schemas/Line"}, {"$ref": "https://example.com/x"}],
                "properties": {"$ref": {"type": "string"}}
            })
        );
    }

    #[test]
    fn referenced_definitions_follow_references_transitively() {
        let definitions: BTreeMap<String, Value> = [
            (
                "Order",
                json!({"properties": {"lines": {"items": {"$ref": "#/$defs/Line"}}}}),
            ),
            (
                "Line",
                json!({"properties": {"sku": {"$ref": "#/$defs/Sku"}}}),
            ),
            ("Sku", json!({"type": "string"})),
            ("Tree", json!({"items": {"$ref": "#/$defs/Tree"}})),
            ("Unused", json!({"$ref": "#/$defs/Sku"})),
        ]
        .into_iter()
        .map(|(name, schema)| (name.to_owned(), schema))
        .collect();
        let roots = json!({
            "a": {"$ref": "#/$defs/Order"},
            "b": [{"$ref": "#/$defs/Tree"}, {"$ref": "#/$defs/Missing"}],
            "c": {"$ref": "#/components/schemas/Unused"},
            "properties": {"$ref": {"type": "string"}}
        });
        let found = referenced_definitions(&roots, &definitions);
        assert_eq!(
            found.iter().map(String::as_str).collect::<Vec<_>>(),
            ["Line", "Order", "Sku", "Tree"]
        );
    }

    #[test]
    fn integer_formats_get_the_rust_type_range() {
        let mut schema = json!({
            "properties": {
                "quantity": {"type": "integer", "format": "uint32", "minimum": 0},
                "id": {"type": ["integer", "null"], "format": "uint64", "minimum": 1},
                "delta": {"type": "integer", "format": "int64"},
                "small": {"type": "integer", "format": "uint8", "minimum": 0, "maximum": 9},
                "huge": {"type": "integer", "format": "uint128"},
                "ratio": {"type": "number", "format": "double"},
                "format": {"type": "string"}
            },
            "const": {"type": "integer", "format": "int32"},
            "items": [{"type": "integer", "format": "int16"}]
        });
        bound_integer_formats(&mut schema);
        let props = &schema["properties"];
        assert_eq!(props["quantity"]["minimum"], json!(0));
        assert_eq!(props["quantity"]["maximum"], json!(4_294_967_295u64));
        assert_eq!(props["id"]["minimum"], json!(1), "an existing bound stays");
        assert_eq!(props["id"]["maximum"], json!(u64::MAX));
        assert_eq!(props["delta"]["minimum"], json!(i64::MIN));
        assert_eq!(props["delta"]["maximum"], json!(i64::MAX));
        assert_eq!(props["small"]["maximum"], json!(9));
        assert!(props["huge"].get("maximum").is_none());
        assert!(props["ratio"].get("maximum").is_none());
        assert_eq!(props["format"], json!({"type": "string"}));
        assert_eq!(
            schema["const"],
            json!({"type": "integer", "format": "int32"})
        );
        assert_eq!(schema["items"][0]["maximum"], json!(i16::MAX));
    }

    #[test]
    fn summary_is_the_first_paragraph_on_one_line() {
        assert_eq!(
            summary("Place a new\norder.\n\nMore."),
            "Place a new order."
        );
    }
}
