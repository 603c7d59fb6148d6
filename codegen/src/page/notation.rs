//! Types as the documentation page shows them.
//!
//! The page is for every reader, whatever language they call the service
//! from, so it shows the JSON a value is, in the notation JSON shapes are
//! most often written in: `string`, `number`, `"literal"`, `T[]`, `[A, B]`,
//! `{ name: T; other?: U }`, `{ [key: string]: T }`, `A | B`, `A & B`,
//! with the schema names of named types. It is printed here, not by a
//! client language, so that the page shows the contract and nothing else.

use serde_json::Value;

use crate::view::Ty;

/// How tightly an expression binds, to parenthesize where needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precedence {
    Union,
    Intersection,
    Atom,
}

/// `ty` in the page's notation.
pub fn notation(ty: &Ty) -> String {
    render(ty).0
}

fn render(ty: &Ty) -> (String, Precedence) {
    let atom = |text: String| (text, Precedence::Atom);
    match ty {
        Ty::Any => atom("unknown".into()),
        Ty::Never => atom("never".into()),
        Ty::Ref(name) => atom(name.clone()),
        Ty::Literal(value) => atom(match value {
            Value::Array(_) => "unknown[]".into(),
            Value::Object(_) => "{ [key: string]: unknown }".into(),
            scalar => scalar.to_string(),
        }),
        Ty::String => atom("string".into()),
        Ty::Integer { .. } | Ty::Number => atom("number".into()),
        Ty::Boolean => atom("boolean".into()),
        Ty::Null => atom("null".into()),
        Ty::Array(item) => atom(format!("{}[]", tight(render(item), Precedence::Atom))),
        Ty::Tuple { items, rest } => {
            let mut elements: Vec<String> = items.iter().map(notation).collect();
            if let Some(rest) = rest {
                elements.push(format!("...{}[]", tight(render(rest), Precedence::Atom)));
            }
            atom(format!("[{}]", elements.join(", ")))
        }
        Ty::Object(object) => {
            let members: Vec<String> = object
                .properties
                .iter()
                .map(|p| {
                    format!(
                        "{}{}: {}",
                        key(&p.name),
                        if p.required { "" } else { "?" },
                        notation(&p.ty)
                    )
                })
                .collect();
            let index = object
                .additional
                .as_ref()
                .map(|extra| format!("[key: string]: {}", notation(extra)));
            match (members.is_empty(), index) {
                (true, None) => atom("{ [key: string]: unknown }".into()),
                (true, Some(index)) => atom(format!("{{ {index} }}")),
                (false, None) => atom(format!("{{ {} }}", members.join("; "))),
                (false, Some(index)) => (
                    format!("{{ {} }} & {{ {index} }}", members.join("; ")),
                    Precedence::Intersection,
                ),
            }
        }
        Ty::Union(members) => {
            let mut texts: Vec<(String, Precedence)> = Vec::new();
            for member in members.iter().map(render) {
                if !texts.iter().any(|(text, _)| *text == member.0) {
                    texts.push(member);
                }
            }
            match texts.len() {
                0 => atom("never".into()),
                1 => texts.remove(0),
                _ => (
                    texts
                        .into_iter()
                        .map(|(text, _)| text)
                        .collect::<Vec<_>>()
                        .join(" | "),
                    Precedence::Union,
                ),
            }
        }
        Ty::Intersection(parts) => (
            parts
                .iter()
                .map(|p| tight(render(p), Precedence::Intersection))
                .collect::<Vec<_>>()
                .join(" & "),
            Precedence::Intersection,
        ),
    }
}

/// The text, parenthesized when it binds less tightly than `needed`.
fn tight((text, precedence): (String, Precedence), needed: Precedence) -> String {
    if precedence < needed {
        format!("({text})")
    } else {
        text
    }
}

/// A property name: bare when it is a plain word, quoted otherwise.
fn key(name: &str) -> String {
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
        serde_json::to_string(name).unwrap_or_else(|_| format!("{name:?}"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::view::ty::Lowering;

    fn shown(schema: Value) -> String {
        let definitions = BTreeMap::from([("Promise".to_owned(), json!({}))]);
        notation(&Lowering::new(&definitions).lower(&schema))
    }

    #[test]
    fn types_read_as_json_shapes_with_schema_names() {
        assert_eq!(shown(json!({"$ref": "#/$defs/Promise"})), "Promise");
        assert_eq!(
            shown(json!({"type": "array", "items": {"type": ["string", "null"]}})),
            "(string | null)[]"
        );
        assert_eq!(
            shown(
                json!({"type": "object", "properties": {"a-b": {"const": "x"}}, "required": ["a-b"]})
            ),
            "{ \"a-b\": \"x\" }"
        );
    }
}
