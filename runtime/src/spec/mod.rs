//! Documents built from a [`ServiceDescriptor`](crate::ServiceDescriptor).

mod openapi;

use serde_json::Value;

pub use openapi::openapi;

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

/// The first paragraph of a doc comment, as a one-line summary.
pub(crate) fn summary(docs: &str) -> String {
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
    fn summary_is_the_first_paragraph_on_one_line() {
        assert_eq!(
            summary("Place a new\norder.\n\nMore."),
            "Place a new order."
        );
    }
}
