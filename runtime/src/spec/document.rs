//! A document as it is written: the parts built for it, and the named
//! schemas under `components.schemas` borrowed from the descriptor. Those
//! are finished (references rewritten, integer ranges added, as
//! [`finish_document`](super::finish_document) does to the rest) while they
//! are written, so the largest part of each document is never copied.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

use super::{holds_instance_data, integer_range};

/// An OpenAPI or AsyncAPI document of a descriptor: serialize it to write
/// it, or take it [`into_value`](Document::into_value).
#[derive(Debug, Clone)]
pub struct Document<'a> {
    /// Everything but `components.schemas`, finished.
    body: Value,
    /// `components.schemas`.
    schemas: Schemas<'a>,
}

impl<'a> Document<'a> {
    /// A document of `body`, an object with a `components` object, and
    /// `schemas`: `components.schemas`, by name, each referring to the
    /// others as `#/$defs/<name>`, to be written with references under
    /// `prefix`.
    pub(crate) fn new(
        body: Value,
        prefix: &'a str,
        schemas: BTreeMap<&'a str, Cow<'a, Value>>,
    ) -> Self {
        Document {
            body,
            schemas: Schemas {
                prefix,
                named: schemas,
            },
        }
    }

    /// The document as one JSON value.
    pub fn into_value(self) -> Value {
        serde_json::to_value(&self).expect("documents always serialize")
    }
}

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let components = match self.body.get("components") {
            Some(Value::Object(components)) => components,
            _ => return self.body.serialize(serializer),
        };
        let Value::Object(root) = &self.body else {
            return self.body.serialize(serializer);
        };
        WithEntry {
            map: root,
            key: "components",
            value: WithEntry {
                map: components,
                key: "schemas",
                value: &self.schemas,
            },
        }
        .serialize(serializer)
    }
}

/// The named schemas of a document.
#[derive(Debug, Clone)]
struct Schemas<'a> {
    prefix: &'a str,
    named: BTreeMap<&'a str, Cow<'a, Value>>,
}

impl Serialize for Schemas<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.named.len()))?;
        for (name, schema) in &self.named {
            // The walk of a whole document would see `components` and
            // `schemas` above each schema, and its name.
            let finished = Finished {
                value: schema.as_ref(),
                prefix: self.prefix,
                refs: *name != "$ref",
                bounds: !holds_instance_data(name),
            };
            map.serialize_entry(name, &finished)?;
        }
        map.end()
    }
}

/// The entries of `map`, with `key` set to `value`, in key order.
struct WithEntry<'a, T> {
    map: &'a Map<String, Value>,
    key: &'a str,
    value: T,
}

impl<T: Serialize> Serialize for WithEntry<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = self.map.len() + usize::from(!self.map.contains_key(self.key));
        let mut map = serializer.serialize_map(Some(len))?;
        let mut written = false;
        for (key, value) in self.map {
            if !written && self.key <= key.as_str() {
                map.serialize_entry(self.key, &self.value)?;
                written = true;
            }
            if key != self.key {
                map.serialize_entry(key, value)?;
            }
        }
        if !written {
            map.serialize_entry(self.key, &self.value)?;
        }
        map.end()
    }
}

/// A schema written as [`finish`](super::finish) leaves it: `refs` and
/// `bounds` say whether reference rewriting and integer ranges still apply
/// at this point.
struct Finished<'a> {
    value: &'a Value,
    prefix: &'a str,
    refs: bool,
    bounds: bool,
}

impl Finished<'_> {
    fn below<'b>(&self, value: &'b Value, refs: bool, bounds: bool) -> Finished<'b>
    where
        Self: 'b,
    {
        Finished {
            value,
            prefix: self.prefix,
            refs,
            bounds,
        }
    }
}

impl Serialize for Finished<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !self.refs && !self.bounds {
            return self.value.serialize(serializer);
        }
        match self.value {
            Value::Object(object) => {
                // The range, where `bound_integer_formats` adds it: keys
                // that sort as `maximum` before `minimum`.
                let mut added: [Option<(&str, Value)>; 2] = [None, None];
                if self.bounds {
                    if let Some((min, max)) = missing_range(object) {
                        if !object.contains_key("maximum") {
                            added[0] = Some(("maximum", max));
                        }
                        if !object.contains_key("minimum") {
                            added[1] = Some(("minimum", min));
                        }
                    }
                }
                let len = object.len() + added.iter().flatten().count();
                let mut map = serializer.serialize_map(Some(len))?;
                let mut pending = added.iter().flatten().peekable();
                for (key, value) in object {
                    while let Some((extra, bound)) = pending.next_if(|(k, _)| *k < key.as_str()) {
                        map.serialize_entry(extra, bound)?;
                    }
                    if key == "$ref" {
                        match value {
                            Value::String(reference) => match reference.strip_prefix("#/$defs/") {
                                Some(name) if self.refs => {
                                    map.serialize_entry(key, &format!("{}{name}", self.prefix))?
                                }
                                _ => map.serialize_entry(key, reference)?,
                            },
                            _ => {
                                map.serialize_entry(key, &self.below(value, false, self.bounds))?
                            }
                        }
                    } else {
                        let bounds = self.bounds && !holds_instance_data(key);
                        map.serialize_entry(key, &self.below(value, self.refs, bounds))?;
                    }
                }
                for (extra, bound) in pending {
                    map.serialize_entry(extra, bound)?;
                }
                map.end()
            }
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&self.below(item, self.refs, self.bounds))?;
                }
                seq.end()
            }
            _ => self.value.serialize(serializer),
        }
    }
}

/// The range `bound_integer_formats` would add to `object`.
fn missing_range(object: &Map<String, Value>) -> Option<(Value, Value)> {
    let is_integer = match object.get("type") {
        Some(Value::String(t)) => t == "integer",
        Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
        _ => false,
    };
    if !is_integer || (object.contains_key("minimum") && object.contains_key("maximum")) {
        return None;
    }
    object
        .get("format")
        .and_then(Value::as_str)
        .and_then(integer_range)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// What the walk of a whole document makes of `schema` under
    /// `components.schemas.<name>`.
    fn walked(name: &str, schema: &Value) -> Value {
        let mut document = json!({ "components": { "schemas": { name: schema } } });
        super::super::finish_document(&mut document, "#/components/schemas/");
        document["components"]["schemas"][name].clone()
    }

    #[test]
    fn borrowed_schemas_are_written_as_the_walk_finishes_them() {
        let schemas = [
            (
                "Order",
                json!({
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer", "format": "uint64", "minimum": 0},
                        "n": {"type": ["integer", "null"], "format": "int8"},
                        "line": {"$ref": "#/$defs/Line", "description": "x"},
                        "$ref": {"type": "integer", "format": "uint8", "items": {"$ref": "#/$defs/A"}},
                        "other": {"$ref": "https://example.com/x"},
                        "max": {"type": "integer", "format": "int16", "maximum": 3},
                    },
                    "default": {"type": "integer", "format": "int32", "$ref": "#/$defs/Kept"},
                    "examples": [{"$ref": "#/$defs/Also"}],
                    "prefixItems": [{"type": "integer", "format": "uint16"}],
                }),
            ),
            ("default", json!({"type": "integer", "format": "int32"})),
            ("Flag", json!(true)),
        ];
        let mut named = BTreeMap::new();
        for (name, schema) in &schemas {
            named.insert(*name, Cow::Borrowed(schema));
        }
        let document = Document::new(
            json!({"b": 1, "components": {"a": [], "z": {}}, "a": 2}),
            "#/components/schemas/",
            named,
        );
        let written = serde_json::to_string(&document).unwrap();
        let value: Value = serde_json::from_str(&written).unwrap();
        for (name, schema) in &schemas {
            assert_eq!(
                value["components"]["schemas"][name],
                walked(name, schema),
                "{name}"
            );
        }
        assert_eq!(value["components"]["a"], json!([]));
        // Keys are written in order, as a sorted map writes them.
        assert_eq!(written, serde_json::to_string(&value).unwrap());
    }
}
