//! Every violation in a request body at once.
//!
//! A body is decoded with serde first, which stops at the first mistake.
//! Only when that fails is the body checked against the JSON Schema of the
//! argument's type, the schema the published documents carry, which finds
//! every violation with its field path. A valid body never reaches this
//! module, so the decoding of good requests costs what it did.
//!
//! Bounds: at most [`MAX_VIOLATIONS`] violations are listed, each reason at
//! most [`MAX_REASON`] bytes. One validator is compiled per body type, the
//! first time a body of that type is rejected, and kept for the life of the
//! process: the set of body types is fixed when the program is compiled.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock, RwLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::Validator;
use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::Value;

use crate::error::{FieldError, Location};

/// The most violations one rejection lists; the problem document says
/// how many more there were.
pub const MAX_VIOLATIONS: usize = 32;

/// The longest reason given for one violation, in bytes; a longer one (a
/// long value quoted back, say) is cut at a character boundary and marked.
pub const MAX_REASON: usize = 256;

type Validators = RwLock<HashMap<TypeId, Option<Arc<Validator>>>>;

/// The validator for `T`'s schema, compiled once per type. `None` when the
/// schema cannot be compiled (a hand-written `JsonSchema` that is not valid
/// JSON Schema, say): the caller then reports serde's own error.
fn validator<T: JsonSchema + 'static>() -> Option<Arc<Validator>> {
    static VALIDATORS: OnceLock<Validators> = OnceLock::new();
    let validators = VALIDATORS.get_or_init(Default::default);
    let id = TypeId::of::<T>();
    if let Some(found) = validators
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
    {
        return found.clone();
    }
    // The same settings as the published documents.
    let schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    let compiled = jsonschema::draft202012::new(&schema).ok().map(Arc::new);
    validators
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .entry(id)
        .or_insert(compiled)
        .clone()
}

/// Every violation of `T`'s schema in `body`, as body field errors, with
/// `first` (serde's error) kept where the schema says less: where it names
/// no violation at serde's field, or only that none of a union's variants
/// matched an enclosing value (serde names the variant's own mistake).
/// Empty when the schema finds nothing (serde's error then stands alone).
pub(super) fn violations<T: JsonSchema + 'static>(
    body: &Value,
    first: &FieldError,
) -> Vec<FieldError> {
    let Some(validator) = validator::<T>() else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    let mut first_placed = false;
    let mut more = 0usize;
    for error in validator.iter_errors(body) {
        let mut field = field_path(body, error.instance_path().as_str());
        if let ValidationErrorKind::Required { property } = error.kind() {
            // Named after the missing field itself, not the object that
            // lacks it.
            if let Some(name) = property.as_str() {
                push_key(&mut field, name);
            }
        }
        let union = match error.kind() {
            ValidationErrorKind::OneOfNotValid { context }
            | ValidationErrorKind::AnyOf { context } => Some(context),
            _ => None,
        };
        let refined = union.and_then(|branches| refine_union(body, branches));
        let violation = if let Some(refined) = refined {
            refined
        } else if union.is_some() && encloses(&field, &first.field) {
            if first_placed {
                continue;
            }
            first.clone()
        } else {
            FieldError {
                location: Location::Body,
                field,
                reason: cap(error.to_string()),
            }
        };
        // A value of the wrong type already explains whatever serde found
        // inside it.
        let whole = matches!(error.kind(), ValidationErrorKind::Type { .. });
        first_placed |=
            violation.field == first.field || (whole && encloses(&violation.field, &first.field));
        if errors.len() == MAX_VIOLATIONS {
            more += 1;
            continue;
        }
        errors.push(violation);
    }
    if errors.is_empty() {
        return errors;
    }
    if !first_placed {
        if errors.len() == MAX_VIOLATIONS {
            more += 1;
        } else {
            errors.push(first.clone());
        }
    }
    if more > 0 {
        errors.push(FieldError {
            location: Location::Body,
            field: String::new(),
            reason: format!("{more} more violations not listed"),
        });
    }
    errors
}

/// The field path (`items[0].quantity`) of a JSON Pointer into `body`: an
/// index into an array is written `[i]`, a member of an object `.name`.
fn field_path(body: &Value, pointer: &str) -> String {
    let mut field = String::new();
    let mut node = Some(body);
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        match node {
            Some(Value::Array(items)) => {
                let _ = write!(field, "[{token}]");
                node = token.parse::<usize>().ok().and_then(|i| items.get(i));
            }
            Some(Value::Object(members)) => {
                node = members.get(&token);
                push_key(&mut field, &token);
            }
            _ => {
                node = None;
                push_key(&mut field, &token);
            }
        }
    }
    field
}

/// A precise violation for a value that matched none of a union's
/// branches, where the branches tell one: when every branch fails on the
/// same member's constant (the tag of a tagged enum), that member's value
/// is named with the tags allowed. `None` leaves the union's own message.
fn refine_union(
    body: &Value,
    branches: &[Vec<jsonschema::ValidationError<'static>>],
) -> Option<FieldError> {
    let mut path = None;
    let mut allowed = Vec::new();
    for branch in branches {
        let tag = branch.iter().find_map(|error| match error.kind() {
            ValidationErrorKind::Constant { expected_value } => {
                Some((error, vec![expected_value.as_ref().clone()]))
            }
            ValidationErrorKind::Enum { options } => {
                Some((error, options.as_array().cloned().unwrap_or_default()))
            }
            _ => None,
        })?;
        let at = tag.0.instance_path().as_str();
        match path {
            None => path = Some(at.to_owned()),
            Some(ref p) if p == at => {}
            Some(_) => return None,
        }
        allowed.extend(tag.1);
    }
    let pointer = path?;
    let given = body
        .pointer(&pointer)
        .map(Value::to_string)
        .unwrap_or_default();
    let allowed: Vec<String> = allowed.iter().map(Value::to_string).collect();
    Some(FieldError {
        location: Location::Body,
        field: field_path(body, &pointer),
        reason: cap(format!("{given} is not one of {}", allowed.join(", "))),
    })
}

/// Whether `outer` is `inner` or a value that contains it.
fn encloses(outer: &str, inner: &str) -> bool {
    match inner.strip_prefix(outer) {
        Some(rest) => outer.is_empty() || rest.is_empty() || rest.starts_with(['.', '[']),
        None => false,
    }
}

fn push_key(field: &mut String, key: &str) {
    if !field.is_empty() {
        field.push('.');
    }
    field.push_str(key);
}

/// `reason` cut to [`MAX_REASON`] bytes at a character boundary.
fn cap(mut reason: String) -> String {
    if reason.len() > MAX_REASON {
        let mut end = MAX_REASON - 3;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push_str("...");
    }
    reason
}

/// The field serde's "missing field `name`" message names, for the case
/// the schema cannot: serde reports it at the enclosing object's path.
pub(super) fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Line {
        sku: String,
        quantity: u32,
    }

    #[derive(JsonSchema)]
    #[allow(dead_code)]
    #[schemars(deny_unknown_fields)]
    struct Order {
        customer: String,
        lines: Vec<Line>,
    }

    #[test]
    fn every_violation_is_listed_with_its_path() {
        let body = json!({
            "lines": [{"sku": "a", "quantity": -1}, {"quantity": "x"}],
            "coupon": "FREE"
        });
        let first = serde_error("lines[0].quantity");
        let mut found: Vec<(String, String)> = violations::<Order>(&body, &first)
            .into_iter()
            .map(|e| (e.field, e.reason))
            .collect();
        found.sort();
        let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "",
                "customer",
                "lines[0].quantity",
                "lines[1].quantity",
                "lines[1].sku"
            ],
            "{found:?}"
        );
        // The unknown member is named in the reason of the body-level error.
        assert!(found[0].1.contains("coupon"), "{found:?}");
    }

    #[test]
    fn violations_are_bounded() {
        let lines: Vec<Value> = (0..100).map(|_| json!({"sku": 1, "quantity": 1})).collect();
        let first = serde_error("lines[0].sku");
        let errors = violations::<Order>(&json!({"customer": "c", "lines": lines}), &first);
        assert_eq!(errors.len(), MAX_VIOLATIONS + 1);
        assert_eq!(
            errors[MAX_VIOLATIONS].reason,
            "68 more violations not listed"
        );

        let long = "é".repeat(10_000);
        let errors = violations::<Order>(
            &json!({"customer": 1, "lines": [], long.clone(): 1}),
            &serde_error("customer"),
        );
        assert!(
            errors.iter().all(|e| e.reason.len() <= MAX_REASON),
            "{errors:?}"
        );
    }

    fn serde_error(field: &str) -> FieldError {
        FieldError {
            location: Location::Body,
            field: field.to_owned(),
            reason: "serde's reason".to_owned(),
        }
    }

    #[derive(JsonSchema)]
    #[allow(dead_code)]
    #[serde(tag = "type")]
    enum Payment {
        Card { number: String },
        Cash,
    }

    #[test]
    fn a_tagged_union_mismatch_names_the_tag() {
        let first = serde_error("payment.type");
        #[derive(JsonSchema)]
        #[allow(dead_code)]
        struct Checkout {
            payment: Payment,
            total: u32,
        }
        let errors = violations::<Checkout>(
            &json!({"payment": {"type": "cheque"}, "total": "x"}),
            &first,
        );
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["payment.type", "total"], "{errors:?}");
        assert_eq!(
            errors[0].reason,
            "\"cheque\" is not one of \"Card\", \"Cash\""
        );
        // Serde stopped elsewhere first: the tag is still named.
        let errors = violations::<Checkout>(
            &json!({"total": "x", "payment": {"type": "cheque"}}),
            &serde_error("total"),
        );
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["payment.type", "total"], "{errors:?}");
        // Nothing found by the schema: serde's error stands alone.
        assert!(
            violations::<Checkout>(&json!({"payment": {"type": "Cash"}, "total": 1}), &first)
                .is_empty()
        );
        assert!(encloses("", "a") && encloses("a", "a[0]") && !encloses("a", "ab"));
    }

    #[test]
    fn pointers_become_field_paths() {
        let body = json!({"a": [{"b/c": {"0": 1}}]});
        assert_eq!(field_path(&body, "/a/0/b~1c/0"), "a[0].b/c.0");
        assert_eq!(field_path(&body, ""), "");
        assert_eq!(
            missing_field("missing field `lines` at line 1"),
            Some("lines")
        );
        assert_eq!(missing_field("invalid type"), None);
    }
}
