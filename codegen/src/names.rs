//! Stable type names.
//!
//! Each named schema is published under its name: as `schemas/<Name>.json`,
//! as a component of the OpenAPI and AsyncAPI documents, and as a type of
//! each client. Consumers build against those names, so they must not
//! depend on the order in which schemars happened to meet the types.
//!
//! schemars names a type by its `schema_name()`; when a second, different
//! type asks for a name already taken, it gets the first free `Name2`,
//! `Name3`, ... (generic types are the usual case: in schemars 1.x
//! `Page<Order>` and `Page<Customer>` are both called `Page`). The
//! descriptor keeps only the final names, so a numbered name is detected
//! the way schemars makes it: a definition `<Base><N>` (N >= 2) next to a
//! definition `<Base>`. A type that really is called `Base2` is told apart
//! by the crate's source: [`crate::discover::scan`] records the schema name
//! each `#[derive(JsonSchema)]` type of the contract crate declares, and a
//! declared name is never reported. What remains is a collision, reported
//! with the operations that use each of the types and the declarations that
//! share the name, and fixed with `#[schemars(rename = "...")]`.
//!
//! Names must also work as file names on every system (letters, digits,
//! `_`, `-` and `.`, unique regardless of case); each client language
//! checks that they stay apart as names of its own
//! ([`Language::check_type_names`](crate::lang::Language::check_type_names)).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use accord::descriptor::OperationKind;
use accord::ServiceDescriptor;
use serde_json::Value;

use accord::spec::referenced_definitions as reachable;

use crate::discover::SchemaType;

/// What to tell a user whose names are not stable.
pub const RENAME_ADVICE: &str = "Published names must be stable, so accord does not publish a \
name schemars had to number. Give each type its own name with `#[schemars(rename = \"...\")]` \
on the type; for a generic type, a pattern naming its parameters, such as \
`#[schemars(rename = \"{T}Page\")]`. Then run accord again.";

/// Every problem with the names `descriptor` publishes its types under;
/// empty when there is none. `declared` are the contract crate's
/// `JsonSchema` types; `root` shortens the file names shown.
pub fn check_names(
    descriptor: &ServiceDescriptor,
    declared: &[SchemaType],
    root: &Path,
) -> Vec<String> {
    let mut problems = collisions(descriptor, declared, root);
    problems.extend(unusable_names(descriptor));
    problems
}

fn collisions(descriptor: &ServiceDescriptor, declared: &[SchemaType], root: &Path) -> Vec<String> {
    let definitions = &descriptor.definitions;
    let declared_names: BTreeSet<&str> = declared
        .iter()
        .filter(|t| !t.schema_name.contains('{'))
        .map(|t| t.schema_name.as_str())
        .collect();
    let patterns: Vec<&str> = declared
        .iter()
        .filter(|t| t.schema_name.contains('{'))
        .map(|t| t.schema_name.as_str())
        .collect();

    // base name -> the numbered names schemars gave other types
    let mut numbered: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for name in definitions.keys() {
        if declared_names.contains(name.as_str())
            || patterns.iter().any(|p| matches_pattern(name, p))
        {
            continue;
        }
        if let Some(base) = numbered_base(name, |b| definitions.contains_key(b)) {
            numbered.entry(base).or_default().push(name);
        }
    }
    if numbered.is_empty() {
        return Vec::new();
    }

    let usages = usages(descriptor);
    let used_by = |name: &str| match usages.get(name) {
        Some(sites) => sites.join(", "),
        None => "no operation directly".to_owned(),
    };
    let relative = |path: &Path| {
        path.strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    numbered
        .into_iter()
        .map(|(base, mut others)| {
            others.sort_by_key(|n| (n.len(), *n));
            let quoted: Vec<String> = others.iter().map(|n| format!("`{n}`")).collect();
            let mut text = format!(
                "{} different types publish their schema under the name `{base}` (schemars \
                 named the other{} {}).\n    `{base}` is used by: {}",
                others.len() + 1,
                if others.len() == 1 { "" } else { "s" },
                quoted.join(", "),
                used_by(base),
            );
            for other in &others {
                text.push_str(&format!("\n    `{other}` is used by: {}", used_by(other)));
            }
            let sharing: Vec<&SchemaType> =
                declared.iter().filter(|t| t.schema_name == base).collect();
            let listed: Vec<String> = sharing
                .iter()
                .map(|t| format!("`{}` ({})", t.rust_path, relative(&t.file)))
                .collect();
            match sharing.as_slice() {
                [] => text.push_str(&format!(
                    "\n    No type of the contract crate declares the name `{base}`; the types \
                     come from other crates or implement `JsonSchema` by hand."
                )),
                [only] if only.generic => text.push_str(&format!(
                    "\n    {} is generic: each use with other type arguments is another type, \
                     and schemars names them all `{base}`.",
                    listed[0]
                )),
                [_] => text.push_str(&format!(
                    "\n    The crate declares {} under that name; the other type comes from \
                     another crate or implements `JsonSchema` by hand.",
                    listed[0]
                )),
                _ => text.push_str(&format!(
                    "\n    The crate declares {} under that name.",
                    join_and(&listed)
                )),
            }
            text
        })
        .collect()
}

/// `Name` when `name` is `Name<N>` with N >= 2 (how schemars numbers a
/// taken name) and `exists(Name)`; the longest such `Name` is tried first.
fn numbered_base(name: &str, exists: impl Fn(&str) -> bool) -> Option<&str> {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    (1..=digits).find_map(|len| {
        let (base, number) = name.split_at(name.len() - len);
        let valid = !base.is_empty()
            && !number.starts_with('0')
            && number.parse::<u64>().is_ok_and(|n| n >= 2);
        (valid && exists(base)).then_some(base)
    })
}

/// Whether `name` fits a rename pattern such as `{T}Page` or
/// `Page_for_{T}_and_{U}`: the literal parts in order, each placeholder
/// standing for at least one character.
fn matches_pattern(name: &str, pattern: &str) -> bool {
    let mut literals = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        literals.push(&rest[..open]);
        match rest[open..].find('}') {
            Some(close) => rest = &rest[open + close + 1..],
            None => return false,
        }
    }
    literals.push(rest);
    let (first, last) = (literals[0], literals[literals.len() - 1]);
    if literals.len() == 1 {
        return name == first;
    }
    if !name.starts_with(first) || !name.ends_with(last) || name.len() < first.len() + last.len() {
        return false;
    }
    let mut middle = &name[first.len()..name.len() - last.len()];
    for literal in &literals[1..literals.len() - 1] {
        // The placeholder before the literal takes at least one character.
        match middle.get(1..).and_then(|m| m.find(literal)) {
            Some(at) => middle = &middle[1 + at + literal.len()..],
            None => return false,
        }
    }
    !middle.is_empty()
}

/// `a`, `a and b`, `a, b and c`.
pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Names that cannot be file names.
fn unusable_names(descriptor: &ServiceDescriptor) -> Vec<String> {
    let mut problems = Vec::new();
    let mut by_folded: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for name in descriptor.definitions.keys() {
        if !is_file_safe(name) {
            problems.push(format!(
                "The type name `{name}` cannot be a file name (`schemas/{name}.json`) on every \
                 system: use letters, digits, `_`, `-` and `.`, not starting with `.` or `-`."
            ));
            continue;
        }
        by_folded
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(name);
    }
    for names in by_folded.values().filter(|n| n.len() > 1) {
        let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        problems.push(format!(
            "The type names {} differ only in case, so their schema files would be one file \
             on case-insensitive file systems.",
            join_and(&quoted)
        ));
    }
    problems
}

/// Whether `name` is usable as a file name on Linux, macOS and Windows.
pub fn is_file_safe(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['.', '-'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// For each definition, the places the service uses it (directly or
/// through other definitions), such as "`get_order` response".
pub fn usages(descriptor: &ServiceDescriptor) -> BTreeMap<String, Vec<String>> {
    let mut roots: Vec<(String, &Value)> = Vec::new();
    for op in &descriptor.operations {
        let name = &op.name;
        match &op.kind {
            OperationKind::Request(request) => {
                for param in &request.path_params {
                    roots.push((
                        format!("`{name}` path parameter `{}`", param.name),
                        &param.schema,
                    ));
                }
                if let Some(query) = &request.query {
                    roots.push((format!("`{name}` query"), &query.schema));
                }
                for header in &request.headers {
                    roots.push((format!("`{name}` header `{}`", header.name), &header.schema));
                }
                if let Some(body) = &request.body {
                    roots.push((format!("`{name}` body"), &body.schema));
                }
                if let Some(response) = &request.response {
                    roots.push((format!("`{name}` response"), response));
                }
                if let Some(error) = &request.error {
                    roots.push((format!("`{name}` error"), &error.schema));
                }
            }
            OperationKind::Event(event) => {
                roots.push((format!("`{name}` event payload"), &event.payload));
                if let Some(error) = &event.error {
                    roots.push((format!("`{name}` handler error"), error));
                }
            }
        }
    }
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (label, schema) in roots {
        for name in reachable(schema, &descriptor.definitions) {
            let sites = found.entry(name).or_default();
            if !sites.contains(&label) {
                sites.push(label.clone());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord::descriptor::{EventDescriptor, OperationDescriptor};
    use serde_json::json;
    use std::path::PathBuf;

    fn descriptor(definitions: Value, payloads: &[(&str, Value)]) -> ServiceDescriptor {
        ServiceDescriptor {
            name: "s".into(),
            version: "1.0.0".into(),
            docs: None,
            auth: None,
            operations: payloads
                .iter()
                .map(|(name, payload)| OperationDescriptor {
                    name: (*name).into(),
                    docs: None,
                    kind: OperationKind::Event(EventDescriptor {
                        topic: format!("s.{name}"),
                        key: None,
                        argument: "event".into(),
                        payload: payload.clone(),
                        error: None,
                    }),
                })
                .collect(),
            definitions: serde_json::from_value(definitions).unwrap(),
        }
    }

    fn declared(path: &str, name: &str, generic: bool) -> SchemaType {
        SchemaType {
            rust_path: path.into(),
            file: PathBuf::from("/c/src/lib.rs"),
            schema_name: name.into(),
            generic,
        }
    }

    #[test]
    fn numbered_bases_follow_schemars_numbering() {
        let exists = |b: &str| ["Page", "Vec3", "Vec", "A"].contains(&b);
        assert_eq!(numbered_base("Page2", exists), Some("Page"));
        assert_eq!(numbered_base("Page12", exists), Some("Page"));
        assert_eq!(numbered_base("Vec32", exists), Some("Vec3"));
        assert_eq!(numbered_base("Vec1", exists), None, "schemars starts at 2");
        assert_eq!(numbered_base("Vec02", exists), None);
        assert_eq!(numbered_base("Page", exists), None);
        assert_eq!(numbered_base("Other2", exists), None);
        assert_eq!(numbered_base("2", exists), None);
    }

    #[test]
    fn patterns_match_their_placeholders() {
        assert!(matches_pattern("ProductPage", "{T}Page"));
        assert!(!matches_pattern("Page", "{T}Page"));
        assert!(!matches_pattern("ProductPage2", "{T}Page"));
        assert!(matches_pattern("Page_for_A_and_B", "Page_for_{T}_and_{U}"));
        assert!(!matches_pattern("Page_for_A", "Page_for_{T}_and_{U}"));
        assert!(matches_pattern("Fixed", "Fixed"));
    }

    #[test]
    fn a_generic_type_used_twice_is_reported_with_its_uses() {
        let d = descriptor(
            json!({
                "Page": {"properties": {"items": {"items": {"$ref": "#/$defs/Product"}}}},
                "Page2": {"properties": {"items": {"items": {"$ref": "#/$defs/Review"}}}},
                "Product": {}, "Review": {}
            }),
            &[
                ("products", json!({"$ref": "#/$defs/Page"})),
                ("reviews", json!({"$ref": "#/$defs/Page2"})),
            ],
        );
        let types = [
            declared("c::Page", "Page", true),
            declared("c::Product", "Product", false),
            declared("c::Review", "Review", false),
        ];
        let problems = check_names(&d, &types, Path::new("/c"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        let text = &problems[0];
        assert!(text.contains("under the name `Page`"), "{text}");
        assert!(
            text.contains("`Page` is used by: `products` event payload"),
            "{text}"
        );
        assert!(
            text.contains("`Page2` is used by: `reviews` event payload"),
            "{text}"
        );
        assert!(text.contains("`c::Page` (src/lib.rs) is generic"), "{text}");
    }

    #[test]
    fn two_declared_types_sharing_a_name_are_both_named() {
        let d = descriptor(json!({"Status": {}, "Status2": {}}), &[]);
        let types = [
            declared("c::a::Status", "Status", false),
            declared("c::b::Status", "Status", false),
        ];
        let problems = check_names(&d, &types, Path::new("/c"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("`c::a::Status` (src/lib.rs) and `c::b::Status` (src/lib.rs)"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn a_type_really_named_with_a_number_is_not_a_collision() {
        let d = descriptor(
            json!({"Point": {}, "Point2": {}, "ProductPage": {}, "Page": {}}),
            &[],
        );
        let types = [
            declared("c::Point", "Point", false),
            declared("c::Point2", "Point2", false),
            declared("c::Page", "{T}Page", true),
        ];
        assert!(check_names(&d, &types, Path::new("/c")).is_empty());
        // Undeclared, the same names read as a collision.
        assert_eq!(check_names(&d, &[], Path::new("/c")).len(), 1);
    }

    #[test]
    fn names_must_be_portable_file_names() {
        let d = descriptor(
            json!({"Page<Order>": {}, "Line": {}, "line": {}, "a-b": {}, "a_b": {}}),
            &[],
        );
        let problems = check_names(&d, &[], Path::new("/c"));
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].contains("`Page<Order>` cannot be a file name"));
        assert!(problems[1].contains("`Line` and `line` differ only in case"));
    }
}
