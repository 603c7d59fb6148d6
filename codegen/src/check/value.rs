//! Whether a schema accepts one value: how the subset check compares an
//! `enum` or `const` with the other side, whatever shape that side takes
//! (a `oneOf` of constants after a variant gained a doc comment, a plain
//! `string`, a union).
//!
//! The answer is three-valued: keywords it cannot evaluate (`pattern`,
//! string formats, `not`, conditionals) make it [`Tri::Unknown`] unless
//! another keyword already rejects the value.

use serde_json::Value;

use super::schema::{Definitions, Num, Types};

/// Yes, no, or cannot tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tri {
    Yes,
    No,
    Unknown,
}

impl Tri {
    fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Unknown, _) | (_, Tri::Unknown) => Tri::Unknown,
            _ => Tri::Yes,
        }
    }

    fn from(accepted: bool) -> Tri {
        if accepted {
            Tri::Yes
        } else {
            Tri::No
        }
    }
}

/// How deep references are followed for one value.
const MAX_DEPTH: usize = 64;

/// Whether every schema of `node` accepts `value`.
pub(crate) fn accepts_all(definitions: Definitions<'_>, node: &[&Value], value: &Value) -> Tri {
    node.iter().fold(Tri::Yes, |result, schema| {
        result.and(accepts(definitions, schema, value, 0))
    })
}

/// Whether `schema` accepts `value`.
pub(crate) fn accepts(
    definitions: Definitions<'_>,
    schema: &Value,
    value: &Value,
    depth: usize,
) -> Tri {
    let map = match schema {
        Value::Bool(accepted) => return Tri::from(*accepted),
        Value::Object(map) => map,
        _ => return Tri::Unknown,
    };
    if depth > MAX_DEPTH {
        return Tri::Unknown;
    }
    let recurse = |schema: &Value, value: &Value| accepts(definitions, schema, value, depth + 1);
    let mut result = Tri::Yes;
    for (keyword, argument) in map {
        let verdict = match keyword.as_str() {
            "type" => {
                let allowed = match argument {
                    Value::String(name) => Types::named(name),
                    Value::Array(names) => names
                        .iter()
                        .filter_map(Value::as_str)
                        .fold(Types::NONE, |all, name| all.or(Types::named(name))),
                    _ => Types::ALL,
                };
                Tri::from(allowed.intersects(Types::of(value)))
            }
            "const" => Tri::from(argument == value),
            "enum" => Tri::from(
                argument
                    .as_array()
                    .is_some_and(|values| values.contains(value)),
            ),
            "$ref" => match definitions.resolve(argument) {
                Some((_, target)) => recurse(target, value),
                None => Tri::Unknown,
            },
            "allOf" => argument.as_array().map_or(Tri::Unknown, |all| {
                all.iter().fold(Tri::Yes, |result, schema| {
                    result.and(recurse(schema, value))
                })
            }),
            "anyOf" => argument.as_array().map_or(Tri::Unknown, |any| {
                let verdicts: Vec<Tri> = any.iter().map(|schema| recurse(schema, value)).collect();
                if verdicts.contains(&Tri::Yes) {
                    Tri::Yes
                } else if verdicts.contains(&Tri::Unknown) {
                    Tri::Unknown
                } else {
                    Tri::No
                }
            }),
            "oneOf" => argument.as_array().map_or(Tri::Unknown, |one| {
                let verdicts: Vec<Tri> = one.iter().map(|schema| recurse(schema, value)).collect();
                let yes = verdicts.iter().filter(|v| **v == Tri::Yes).count();
                let unknown = verdicts.iter().filter(|v| **v == Tri::Unknown).count();
                match (yes, unknown) {
                    (1, 0) => Tri::Yes,
                    (0, 0) => Tri::No,
                    (n, _) if n > 1 => Tri::No,
                    _ => Tri::Unknown,
                }
            }),
            "not" => match recurse(argument, value) {
                Tri::Yes => Tri::No,
                Tri::No => Tri::Yes,
                Tri::Unknown => Tri::Unknown,
            },
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "multipleOf" => {
                match (value, argument) {
                    (Value::Number(n), Value::Number(limit)) => {
                        let n = Num(n.clone());
                        let limit = Num(limit.clone());
                        let order = n.compare(&limit);
                        Tri::from(match keyword.as_str() {
                            "minimum" => order.is_ge(),
                            "maximum" => order.is_le(),
                            "exclusiveMinimum" => order.is_gt(),
                            "exclusiveMaximum" => order.is_lt(),
                            _ => n.is_multiple_of(&limit),
                        })
                    }
                    _ => Tri::Yes,
                }
            }
            "minLength" | "maxLength" => match (value, argument.as_u64()) {
                (Value::String(text), Some(limit)) => {
                    let length = text.chars().count() as u64;
                    Tri::from(if keyword == "minLength" {
                        length >= limit
                    } else {
                        length <= limit
                    })
                }
                _ => Tri::Yes,
            },
            "pattern" => match value {
                Value::String(_) => Tri::Unknown,
                _ => Tri::Yes,
            },
            "format" => match value {
                // Integer formats are carried by the bounds; string formats
                // are not evaluated.
                Value::String(_) => Tri::Unknown,
                _ => Tri::Yes,
            },
            "minItems" | "maxItems" => match (value, argument.as_u64()) {
                (Value::Array(items), Some(limit)) => {
                    let length = items.len() as u64;
                    Tri::from(if keyword == "minItems" {
                        length >= limit
                    } else {
                        length <= limit
                    })
                }
                _ => Tri::Yes,
            },
            "uniqueItems" => match (value, argument) {
                (Value::Array(items), Value::Bool(true)) => Tri::from(
                    items
                        .iter()
                        .enumerate()
                        .all(|(i, item)| !items[..i].contains(item)),
                ),
                _ => Tri::Yes,
            },
            "items" => match value {
                Value::Array(items) => {
                    let skip = map
                        .get("prefixItems")
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len);
                    items
                        .iter()
                        .skip(skip)
                        .fold(Tri::Yes, |result, item| result.and(recurse(argument, item)))
                }
                _ => Tri::Yes,
            },
            "prefixItems" => match (value, argument.as_array()) {
                (Value::Array(items), Some(schemas)) => items
                    .iter()
                    .zip(schemas)
                    .fold(Tri::Yes, |result, (item, schema)| {
                        result.and(recurse(schema, item))
                    }),
                _ => Tri::Yes,
            },
            "required" => match (value, argument.as_array()) {
                (Value::Object(object), Some(names)) => Tri::from(
                    names
                        .iter()
                        .filter_map(Value::as_str)
                        .all(|name| object.contains_key(name)),
                ),
                _ => Tri::Yes,
            },
            "properties" => match (value, argument.as_object()) {
                (Value::Object(object), Some(schemas)) => object
                    .iter()
                    .filter_map(|(name, item)| schemas.get(name).map(|schema| (schema, item)))
                    .fold(Tri::Yes, |result, (schema, item)| {
                        result.and(recurse(schema, item))
                    }),
                _ => Tri::Yes,
            },
            "additionalProperties" | "unevaluatedProperties" => match value {
                Value::Object(object) => {
                    let declared = map.get("properties").and_then(Value::as_object);
                    object
                        .iter()
                        .filter(|(name, _)| !declared.is_some_and(|d| d.contains_key(*name)))
                        .fold(Tri::Yes, |result, (_, item)| {
                            result.and(recurse(argument, item))
                        })
                }
                _ => Tri::Yes,
            },
            "minProperties" | "maxProperties" => match (value, argument.as_u64()) {
                (Value::Object(object), Some(limit)) => {
                    let count = object.len() as u64;
                    Tri::from(if keyword == "minProperties" {
                        count >= limit
                    } else {
                        count <= limit
                    })
                }
                _ => Tri::Yes,
            },
            "if" | "then" | "else" | "contains" | "minContains" | "maxContains"
            | "patternProperties" | "propertyNames" | "dependentRequired" | "dependentSchemas"
            | "unevaluatedItems" | "$dynamicRef" => Tri::Unknown,
            // Annotations and unknown keywords.
            _ => Tri::Yes,
        };
        result = result.and(verdict);
        if result == Tri::No {
            break;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn evaluates_the_keywords_schemars_writes() {
        let definitions = BTreeMap::from([(
            "Status".to_owned(),
            json!({"oneOf": [{"type": "string", "const": "placed"}, {"type": "string", "const": "shipped"}]}),
        )]);
        let defs = Definitions(&definitions);
        let status = json!({"$ref": "#/$defs/Status"});
        assert_eq!(accepts(defs, &status, &json!("placed"), 0), Tri::Yes);
        assert_eq!(accepts(defs, &status, &json!("lost"), 0), Tri::No);
        let optional = json!({"anyOf": [{"$ref": "#/$defs/Status"}, {"type": "null"}]});
        assert_eq!(accepts(defs, &optional, &Value::Null, 0), Tri::Yes);
        let small = json!({"type": "integer", "minimum": 0, "maximum": 255});
        assert_eq!(accepts(defs, &small, &json!(255), 0), Tri::Yes);
        assert_eq!(accepts(defs, &small, &json!(256), 0), Tri::No);
        assert_eq!(accepts(defs, &small, &json!(1.5), 0), Tri::No);
        let code = json!({"type": "string", "pattern": "^[A-Z]+$"});
        assert_eq!(accepts(defs, &code, &json!("AB"), 0), Tri::Unknown);
        assert_eq!(accepts(defs, &code, &json!(1), 0), Tri::No);
        let object = json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}},
            "additionalProperties": false});
        assert_eq!(accepts(defs, &object, &json!({"a": 1}), 0), Tri::Yes);
        assert_eq!(accepts(defs, &object, &json!({"a": 1, "b": 2}), 0), Tri::No);
        assert_eq!(accepts(defs, &object, &json!({}), 0), Tri::No);
    }
}
