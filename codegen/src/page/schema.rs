//! What the page says about a schema beyond its shape: its JSON Schema
//! type with the bounds and format that hold a value in (`integer, uint32,
//! 0 to 4294967295`), and the example values the contract gives
//! (`#[schemars(example = ...)]`).

use serde_json::Value;

/// The most examples shown per schema: 3.
const MAX_EXAMPLES: usize = 3;
/// The most characters of one example shown: 2,000. A longer one is cut,
/// ending in `...`.
const MAX_EXAMPLE_CHARS: usize = 2000;

/// The schema's type, format and bounds in one line, such as `integer,
/// uint32, 0 to 4294967295`; `None` for a schema without a `type` (a
/// reference, a union), or when it would say no more than the page's
/// notation does (a bare `string`, `array`, `object`).
pub fn facts(schema: &Value) -> Option<String> {
    let types: Vec<&str> = match schema.get("type")? {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let mut parts = vec![types.join(" or ")];
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        parts.push(format.to_owned());
    }
    let bound = |key: &str| {
        schema
            .get(key)
            .filter(|v| v.is_number())
            .map(Value::to_string)
    };
    match (bound("minimum"), bound("maximum")) {
        (Some(min), Some(max)) => parts.push(format!("{min} to {max}")),
        (Some(min), None) => parts.push(format!("at least {min}")),
        (None, Some(max)) => parts.push(format!("at most {max}")),
        (None, None) => {}
    }
    if let Some(min) = bound("exclusiveMinimum") {
        parts.push(format!("above {min}"));
    }
    if let Some(max) = bound("exclusiveMaximum") {
        parts.push(format!("below {max}"));
    }
    for (key, what) in [
        ("minLength", "characters at least"),
        ("maxLength", "characters at most"),
        ("minItems", "items at least"),
        ("maxItems", "items at most"),
    ] {
        if let Some(n) = bound(key) {
            parts.push(format!("{what} {n}"));
        }
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        parts.push(format!("matching {pattern}"));
    }
    if parts.len() == 1 && !types.contains(&"integer") {
        return None;
    }
    Some(parts.join(", "))
}

/// The schema's `examples` as JSON text, pretty-printed when `pretty`, at
/// most [`MAX_EXAMPLES`] of them, each cut at [`MAX_EXAMPLE_CHARS`].
pub fn examples(schema: &Value, pretty: bool) -> Vec<String> {
    let Some(Value::Array(examples)) = schema.get("examples") else {
        return Vec::new();
    };
    examples
        .iter()
        .take(MAX_EXAMPLES)
        .map(|example| {
            let text = if pretty {
                serde_json::to_string_pretty(example)
            } else {
                serde_json::to_string(example)
            }
            .unwrap_or_default();
            if text.chars().count() > MAX_EXAMPLE_CHARS {
                let mut cut: String = text.chars().take(MAX_EXAMPLE_CHARS - 3).collect();
                cut.push_str("...");
                cut
            } else {
                text
            }
        })
        .collect()
}

/// The schema of property `name` in the type schema `schema_json`, where
/// the type declares it directly.
pub fn property<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
    schema.get("properties")?.get(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_integer_shows_its_format_and_range() {
        let schema =
            json!({"type": "integer", "format": "uint32", "minimum": 0, "maximum": 4294967295u64});
        assert_eq!(facts(&schema).unwrap(), "integer, uint32, 0 to 4294967295");
        let optional =
            json!({"type": ["integer", "null"], "format": "uint8", "minimum": 0, "maximum": 255});
        assert_eq!(
            facts(&optional).unwrap(),
            "integer or null, uint8, 0 to 255"
        );
        assert_eq!(facts(&json!({"$ref": "#/$defs/X"})), None);
        assert_eq!(facts(&json!({"type": "string"})), None, "says nothing new");
        assert_eq!(facts(&json!({"type": "integer"})).unwrap(), "integer");
        let text = json!({"type": "string", "minLength": 1, "pattern": "^[A-Z]+$"});
        assert_eq!(
            facts(&text).unwrap(),
            "string, characters at least 1, matching ^[A-Z]+$"
        );
    }

    #[test]
    fn examples_are_bounded_in_number_and_length() {
        let many = json!({"examples": [1, 2, 3, 4, 5]});
        assert_eq!(examples(&many, false), ["1", "2", "3"]);
        let long = json!({"examples": ["x".repeat(5000)]});
        let shown = &examples(&long, false)[0];
        assert_eq!(shown.chars().count(), MAX_EXAMPLE_CHARS);
        assert!(shown.ends_with("..."));
        assert!(examples(&json!({"type": "string"}), true).is_empty());
    }
}
