//! The generated documents agree on what a value may be: every fixed-width
//! integer carries the range of its Rust type in `asyncapi.json` as in
//! `openapi.json` and `schemas/`, so a publisher that validates against the
//! AsyncAPI document cannot send a value the Rust subscriber rejects.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::support::{published, service_folders};

/// The range of each integer `format` schemars writes.
fn range(format: &str) -> Option<(i128, i128)> {
    Some(match format {
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int16" => (i16::MIN.into(), i16::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "int64" => (i64::MIN.into(), i64::MAX.into()),
        "uint8" => (0, u8::MAX.into()),
        "uint16" => (0, u16::MAX.into()),
        "uint32" => (0, u32::MAX.into()),
        "uint64" => (0, u64::MAX.into()),
        _ => return None,
    })
}

fn number(value: &Value) -> Option<i128> {
    value
        .as_i64()
        .map(i128::from)
        .or_else(|| value.as_u64().map(i128::from))
}

/// Each integer schema with a fixed-width `format` below `value`, by JSON
/// pointer: its format and its `minimum` and `maximum`, if any.
fn integer_bounds(
    value: &Value,
    pointer: String,
    found: &mut BTreeMap<String, (String, Value, Value)>,
) {
    match value {
        Value::Object(map) => {
            let is_integer = match map.get("type") {
                Some(Value::String(t)) => t == "integer",
                Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
                _ => false,
            };
            if let (true, Some(format)) = (is_integer, map.get("format").and_then(Value::as_str)) {
                if range(format).is_some() {
                    let bound = |key: &str| map.get(key).cloned().unwrap_or(Value::Null);
                    found.insert(
                        pointer.clone(),
                        (format.to_owned(), bound("minimum"), bound("maximum")),
                    );
                }
            }
            for (key, child) in map {
                if !matches!(
                    key.as_str(),
                    "const" | "enum" | "default" | "example" | "examples"
                ) {
                    integer_bounds(child, format!("{pointer}/{key}"), found);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                integer_bounds(item, format!("{pointer}/{i}"), found);
            }
        }
        _ => {}
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_fixed_width_integer_in_asyncapi_carries_its_range() {
    let mut checked = 0;
    for outputs in published().values() {
        for folder in service_folders(&outputs.v31) {
            let asyncapi = read_json(&folder.join("asyncapi.json"));
            let mut found = BTreeMap::new();
            integer_bounds(&asyncapi, String::new(), &mut found);
            for (pointer, (format, minimum, maximum)) in &found {
                let (low, high) = range(format).unwrap();
                let where_ = format!("{}: {pointer} ({format})", folder.display());
                let minimum = number(minimum).unwrap_or_else(|| panic!("{where_}: no minimum"));
                let maximum = number(maximum).unwrap_or_else(|| panic!("{where_}: no maximum"));
                assert!(
                    low <= minimum && maximum <= high && minimum <= maximum,
                    "{where_}: {minimum}..={maximum}"
                );
                checked += 1;
            }

            // A named schema has the same bounds as in openapi.json and in
            // its schema file.
            let openapi = read_json(&folder.join("openapi.json"));
            let schemas = asyncapi["components"]["schemas"].as_object().unwrap();
            for (name, schema) in schemas {
                let mut in_asyncapi = BTreeMap::new();
                integer_bounds(schema, String::new(), &mut in_asyncapi);
                let file = folder.join("schemas").join(format!("{name}.json"));
                if file.is_file() {
                    let mut in_file = BTreeMap::new();
                    integer_bounds(&read_json(&file), String::new(), &mut in_file);
                    assert_eq!(in_asyncapi, in_file, "{name} in {}", folder.display());
                }
                if let Some(schema) = openapi["components"]["schemas"].get(name) {
                    let mut in_openapi = BTreeMap::new();
                    integer_bounds(schema, String::new(), &mut in_openapi);
                    assert_eq!(in_asyncapi, in_openapi, "{name} in {}", folder.display());
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} integer schemas checked");

    // The case a publisher in another language would hit: a u32 quantity.
    let orders = published()["orders"].v31.join("orders").join("1.2.0");
    let asyncapi = read_json(&orders.join("asyncapi.json"));
    let quantity = &asyncapi["components"]["schemas"]["Line"]["properties"]["quantity"];
    assert_eq!(quantity["maximum"], u32::MAX, "{quantity}");
    assert_eq!(quantity["minimum"], 0, "{quantity}");
}
