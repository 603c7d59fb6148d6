//! Types as a tree, lowered once from JSON Schema (2020-12, as schemars
//! writes it), for every target language to map in its own way.
//!
//! The lowering keeps what a typed client can express: references to named
//! schemas, scalars (with integer bounds), literals, arrays, tuples, maps,
//! inline objects, unions (`oneOf`, `anyOf`, `enum`, type lists) and
//! intersections (`allOf`, or a shape narrowed by a combinator). What a
//! client type cannot say (patterns, formats of strings, lengths) stays in
//! the published schema files. Nothing is dropped silently: a schema the
//! lowering does not understand becomes [`Ty::Any`], a value of any shape.

use std::collections::BTreeMap;

use accord::spec::ref_name;
use serde_json::{Map, Number, Value};

/// A type, lowered from a JSON Schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// Any JSON value (`true`, `{}`, or a schema the lowering cannot read).
    Any,
    /// No value (`false`).
    Never,
    /// A named schema, by its schema name.
    Ref(String),
    /// Exactly this value (`const`, or one value of an `enum`).
    Literal(Value),
    /// A string.
    String,
    /// An integer, with its inclusive bounds where the schema has them
    /// (schemars writes Rust's integer types as `format`, which the view
    /// turns into `minimum` and `maximum`).
    Integer {
        /// The least value.
        minimum: Option<Number>,
        /// The greatest value.
        maximum: Option<Number>,
    },
    /// A number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// `null`.
    Null,
    /// An array of items of one type.
    Array(Box<Ty>),
    /// A tuple: positional items, then `rest` items of one type unless the
    /// tuple is closed (`None`).
    Tuple {
        /// The positional items.
        items: Vec<Ty>,
        /// The type of the items after them; `None` when there are none.
        rest: Option<Box<Ty>>,
    },
    /// An object: declared properties, and the type of any other property
    /// (a map), if it may have others.
    Object(ObjectTy),
    /// One of several types, in schema order.
    Union(Vec<Ty>),
    /// All of several types at once.
    Intersection(Vec<Ty>),
}

/// An object type.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectTy {
    /// The declared properties, sorted by name.
    pub properties: Vec<Property>,
    /// The type of the values of undeclared properties, for a map.
    pub additional: Option<Box<Ty>>,
}

/// A declared property of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// The JSON name.
    pub name: String,
    /// Whether every value has it.
    pub required: bool,
    /// Its schema's `description`.
    pub docs: Option<String>,
    /// Its type.
    pub ty: Ty,
}

impl Ty {
    /// Whether `null` is one of the values of this type, at its top level.
    pub fn is_nullable(&self) -> bool {
        match self {
            Ty::Null | Ty::Any => true,
            Ty::Literal(value) => value.is_null(),
            Ty::Union(members) => members.iter().any(Ty::is_nullable),
            _ => false,
        }
    }

    /// The names of the schemas this type refers to, directly, sorted and
    /// without repeats.
    pub fn refs(&self) -> Vec<String> {
        fn walk(ty: &Ty, found: &mut Vec<String>) {
            match ty {
                Ty::Ref(name) => found.push(name.clone()),
                Ty::Array(item) => walk(item, found),
                Ty::Tuple { items, rest } => {
                    items.iter().for_each(|t| walk(t, found));
                    if let Some(rest) = rest {
                        walk(rest, found);
                    }
                }
                Ty::Object(object) => {
                    object.properties.iter().for_each(|p| walk(&p.ty, found));
                    if let Some(extra) = &object.additional {
                        walk(extra, found);
                    }
                }
                Ty::Union(members) | Ty::Intersection(members) => {
                    members.iter().for_each(|t| walk(t, found))
                }
                _ => {}
            }
        }
        let mut found = Vec::new();
        walk(self, &mut found);
        found.sort();
        found.dedup();
        found
    }
}

/// Lowers schemas whose references point into a set of named definitions.
#[derive(Debug, Clone)]
pub struct Lowering<'a> {
    definitions: &'a BTreeMap<String, Value>,
}

impl<'a> Lowering<'a> {
    /// A lowering for schemas referring to `definitions` (by schema name).
    pub fn new(definitions: &'a BTreeMap<String, Value>) -> Self {
        Lowering { definitions }
    }

    /// The type of `schema`.
    pub fn lower(&self, schema: &Value) -> Ty {
        let map = match schema {
            Value::Bool(false) => return Ty::Never,
            Value::Object(map) => map,
            _ => return Ty::Any,
        };
        if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
            return match ref_name(reference).filter(|n| self.definitions.contains_key(n)) {
                Some(name) => Ty::Ref(name),
                None => Ty::Any,
            };
        }
        if let Some(value) = map.get("const") {
            return Ty::Literal(value.clone());
        }
        if let Some(Value::Array(values)) = map.get("enum") {
            return Ty::Union(values.iter().cloned().map(Ty::Literal).collect());
        }

        // The schema's own shape, then any combinators narrowing it.
        let mut parts = Vec::new();
        if let Some(own) = self.own_type(map) {
            parts.push(own);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(alternatives)) = map.get(key) {
                parts.push(Ty::Union(
                    alternatives.iter().map(|s| self.lower(s)).collect(),
                ));
            }
        }
        if let Some(Value::Array(all)) = map.get("allOf") {
            parts.extend(all.iter().map(|s| self.lower(s)));
        }
        match parts.len() {
            0 => Ty::Any,
            1 => parts.remove(0),
            _ => Ty::Intersection(parts),
        }
    }

    /// The type `type` (and the keywords that go with it) describes, if any.
    fn own_type(&self, map: &Map<String, Value>) -> Option<Ty> {
        let types: Vec<&str> = match map.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ if map.contains_key("properties") || map.contains_key("additionalProperties") => {
                vec!["object"]
            }
            _ if map.contains_key("items") || map.contains_key("prefixItems") => vec!["array"],
            _ => return None,
        };
        let mut lowered: Vec<Ty> = types
            .into_iter()
            .map(|t| match t {
                "string" => Ty::String,
                "integer" => Ty::Integer {
                    minimum: bound(map, "minimum", "exclusiveMinimum", 1),
                    maximum: bound(map, "maximum", "exclusiveMaximum", -1),
                },
                "number" => Ty::Number,
                "boolean" => Ty::Boolean,
                "null" => Ty::Null,
                "array" => self.array_type(map),
                "object" => Ty::Object(self.object_type(map)),
                _ => Ty::Any,
            })
            .collect();
        Some(if lowered.len() == 1 {
            lowered.remove(0)
        } else {
            Ty::Union(lowered)
        })
    }

    fn array_type(&self, map: &Map<String, Value>) -> Ty {
        if let Some(Value::Array(prefix)) = map.get("prefixItems") {
            let items = prefix.iter().map(|s| self.lower(s)).collect();
            let closed = map.get("maxItems").and_then(Value::as_u64) == Some(prefix.len() as u64);
            let rest = match map.get("items") {
                _ if closed => None,
                Some(Value::Bool(false)) => None,
                None => Some(Box::new(Ty::Any)),
                Some(rest) => Some(Box::new(self.lower(rest))),
            };
            return Ty::Tuple { items, rest };
        }
        Ty::Array(Box::new(match map.get("items") {
            Some(items) => self.lower(items),
            None => Ty::Any,
        }))
    }

    /// The object an object schema describes: its properties, sorted by
    /// name, and the type of other properties where it admits them.
    pub fn object_type(&self, map: &Map<String, Value>) -> ObjectTy {
        let required: Vec<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let properties = match map.get("properties") {
            Some(Value::Object(properties)) => properties
                .iter()
                .map(|(name, schema)| Property {
                    name: name.clone(),
                    required: required.contains(&name.as_str()),
                    docs: schema
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    ty: self.lower(schema),
                })
                .collect(),
            _ => Vec::new(),
        };
        let additional = ["additionalProperties", "unevaluatedProperties"]
            .iter()
            .find_map(|k| map.get(*k).filter(|v| v.is_object()))
            .map(|schema| Box::new(self.lower(schema)));
        ObjectTy {
            properties,
            additional,
        }
    }
}

/// An inclusive integer bound: `inclusive`, or `exclusive` moved by `step`.
fn bound(map: &Map<String, Value>, inclusive: &str, exclusive: &str, step: i64) -> Option<Number> {
    if let Some(Value::Number(n)) = map.get(inclusive) {
        return Some(integral(n));
    }
    let Some(Value::Number(n)) = map.get(exclusive) else {
        return None;
    };
    let moved = if let Some(i) = n.as_i64() {
        i.checked_add(step).map(Number::from)
    } else if let Some(u) = n.as_u64() {
        u.checked_add_signed(step).map(Number::from)
    } else {
        n.as_f64().and_then(|f| {
            let edge = if step > 0 {
                f.floor() + 1.0
            } else {
                f.ceil() - 1.0
            };
            Number::from_f64(edge)
        })
    };
    moved.map(|n| integral(&n))
}

/// A bound written as a float (`1.0`) as the integer it is, where it is one.
fn integral(n: &Number) -> Number {
    match n.as_f64() {
        Some(f) if !n.is_i64() && !n.is_u64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
            Number::from(f as i64)
        }
        _ => n.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lower(schema: Value) -> Ty {
        let definitions = BTreeMap::from([("Line".to_owned(), json!({}))]);
        Lowering::new(&definitions).lower(&schema)
    }

    #[test]
    fn scalars_references_and_literals() {
        assert_eq!(lower(json!({"type": "string"})), Ty::String);
        assert_eq!(
            lower(json!({"$ref": "#/$defs/Line"})),
            Ty::Ref("Line".into())
        );
        assert_eq!(lower(json!({"$ref": "#/$defs/Gone"})), Ty::Any);
        assert_eq!(lower(json!({"const": 1})), Ty::Literal(json!(1)));
        assert_eq!(
            lower(json!({"type": ["string", "null"]})),
            Ty::Union(vec![Ty::String, Ty::Null])
        );
        assert_eq!(lower(json!(true)), Ty::Any);
        assert_eq!(lower(json!(false)), Ty::Never);
    }

    #[test]
    fn integer_bounds_are_inclusive() {
        assert_eq!(
            lower(json!({"type": "integer", "minimum": 0, "maximum": 255})),
            Ty::Integer {
                minimum: Some(0.into()),
                maximum: Some(255.into())
            }
        );
        assert_eq!(
            lower(json!({"type": "integer", "exclusiveMinimum": 0, "maximum": 10.0})),
            Ty::Integer {
                minimum: Some(1.into()),
                maximum: Some(10.into())
            }
        );
    }

    #[test]
    fn objects_maps_and_tuples() {
        let Ty::Object(object) = lower(json!({
            "type": "object",
            "properties": {"b": {"type": "string"}, "a": {"type": "integer"}},
            "required": ["b"],
            "additionalProperties": {"type": "boolean"}
        })) else {
            panic!("an object")
        };
        let names: Vec<(&str, bool)> = object
            .properties
            .iter()
            .map(|p| (p.name.as_str(), p.required))
            .collect();
        assert_eq!(names, [("a", false), ("b", true)]);
        assert_eq!(object.additional.as_deref(), Some(&Ty::Boolean));
        assert_eq!(
            lower(json!({"type": "array", "prefixItems": [{"type": "string"}], "maxItems": 1})),
            Ty::Tuple {
                items: vec![Ty::String],
                rest: None
            }
        );
    }
}
