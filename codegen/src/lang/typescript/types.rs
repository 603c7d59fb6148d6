//! TypeScript types from the neutral [`Ty`] tree.
//!
//! References become the referenced type's TypeScript name, unions `|`,
//! intersections `&`, literals literal types, objects inline object types
//! (a property that is not required is optional), maps index signatures,
//! tuples tuple types. Integers are `number`, so values beyond 2^53 lose
//! precision in `JSON.parse`, as in any JavaScript client; bounds, formats
//! and patterns are left to the schema files.

use std::collections::BTreeMap;

use serde_json::Value;

use super::names::{property_key, string_literal, type_name};
use crate::view::{ObjectTy, Ty};

/// How tightly a type expression binds, to parenthesize where needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precedence {
    Union,
    Intersection,
    Atom,
}

/// Renders types as TypeScript with the names of the named schemas.
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

    /// The TypeScript name of the schema named `name`.
    pub fn name(&self, name: &str) -> String {
        self.names
            .get(name)
            .cloned()
            .unwrap_or_else(|| type_name(name))
    }

    /// The TypeScript type of `ty`.
    pub fn type_expr(&self, ty: &Ty) -> String {
        self.render(ty).0
    }

    /// The named types `ty` refers to directly, in TypeScript names.
    pub fn referenced_names(&self, ty: &Ty) -> Vec<String> {
        let mut found: Vec<String> = ty.refs().iter().map(|n| self.name(n)).collect();
        found.sort();
        found.dedup();
        found
    }

    fn render(&self, ty: &Ty) -> (String, Precedence) {
        let atom = |text: &str| (text.to_owned(), Precedence::Atom);
        match ty {
            Ty::Any => atom("unknown"),
            Ty::Never => atom("never"),
            Ty::Ref(name) => (self.name(name), Precedence::Atom),
            Ty::Literal(value) => (literal(value), Precedence::Atom),
            Ty::String => atom("string"),
            Ty::Integer { .. } | Ty::Number => atom("number"),
            Ty::Boolean => atom("boolean"),
            Ty::Null => atom("null"),
            Ty::Array(item) => {
                let (item, precedence) = self.render(item);
                (
                    format!("{}[]", parenthesize(item, precedence)),
                    Precedence::Atom,
                )
            }
            Ty::Tuple { items, rest } => {
                let mut elements: Vec<String> = items.iter().map(|t| self.type_expr(t)).collect();
                if let Some(rest) = rest {
                    let (rest, precedence) = self.render(rest);
                    elements.push(format!("...{}[]", parenthesize(rest, precedence)));
                }
                (format!("[{}]", elements.join(", ")), Precedence::Atom)
            }
            Ty::Object(object) => self.object_type(object),
            Ty::Union(members) => union(members.iter().map(|m| self.render(m)).collect()),
            Ty::Intersection(parts) => intersection(parts.iter().map(|p| self.render(p)).collect()),
        }
    }

    fn object_type(&self, object: &ObjectTy) -> (String, Precedence) {
        let members: Vec<String> = object
            .properties
            .iter()
            .map(|property| {
                format!(
                    "{}{}: {}",
                    property_key(&property.name),
                    if property.required { "" } else { "?" },
                    self.type_expr(&property.ty)
                )
            })
            .collect();
        let index = object
            .additional
            .as_ref()
            .map(|extra| format!("[key: string]: {}", self.type_expr(extra)));
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
        .map(|(text, precedence)| {
            if precedence < Precedence::Intersection {
                format!("({text})")
            } else {
                text
            }
        })
        .collect();
    (texts.join(" & "), Precedence::Intersection)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::ty::Lowering;
    use serde_json::json;

    fn ts(schema: Value) -> String {
        let definitions: BTreeMap<String, Value> = ["Line", "Promise", "a-b"]
            .iter()
            .map(|n| ((*n).to_owned(), json!({})))
            .collect();
        let renderer = TypeRenderer::new(definitions.keys());
        renderer.type_expr(&Lowering::new(&definitions).lower(&schema))
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
}
