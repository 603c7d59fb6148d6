//! Does every value one schema accepts pass another? The subset check.
//!
//! [`Walker::compare`] answers for a *sub* and a *sup* schema, each with its
//! own side's `$defs`, by listing every [`Issue`]: a place where a value the
//! sub side accepts is rejected by the sup side. No issue means subset.
//!
//! The answer is conservative. Where it cannot decide (patterns, string
//! formats of constants, `not`, conditionals), an issue is reported as
//! uncertain rather than dropped; where it can, it is exact for the
//! keywords schemars writes: types (with `integer` inside `number`),
//! `enum`/`const`, unions (alternatives are paired by their serde tag,
//! external key or type name, and constants are checked one by one against
//! the whole other side), required and declared properties, open and
//! closed objects, maps, arrays and tuples, numeric, length and count
//! bounds, formats, `uniqueItems` and `multipleOf`.
//!
//! References are followed into each side's own definitions. A pair of
//! schemas under comparison is assumed to hold when it is met again, which
//! ends recursion through recursive types; results computed under such an
//! assumption are not remembered beyond it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;

use super::issue::{End, Fact, Issue, Measure, Segment};
use super::schema::{
    label, rejects_all, Alt, Definitions, Label, Limit, Node, Range, Types, ANNOTATIONS, ANY,
};
use super::value::{accepts_all, Tri};

/// How to read the two sides of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Direction {
    /// Whether the sub side (whose values must be accepted) is the old
    /// contract.
    pub sub_is_old: bool,
    /// Whether values of the sub side are produced by serializing the Rust
    /// type, which writes only the properties it declares: an open object
    /// on that side does not produce undeclared properties.
    pub serialized: bool,
    /// Whether changed property defaults are reported.
    pub defaults: bool,
}

/// A pair under comparison: two conjunctions of schemas, or two
/// alternatives by their origins.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Nodes(Vec<usize>, Vec<usize>),
    Alts(Vec<usize>, Vec<usize>),
}

/// Compares schemas of one old and one new descriptor in one direction,
/// remembering what it compared.
#[derive(Debug)]
pub struct Walker<'a> {
    sub: Definitions<'a>,
    sup: Definitions<'a>,
    direction: Direction,
    memo: HashMap<Key, Vec<Issue>>,
    active: HashSet<Key>,
    assumed: HashSet<Key>,
    same_memo: HashMap<(&'a str, &'a str), bool>,
    same_active: HashSet<(&'a str, &'a str)>,
    same_assumed: HashSet<(&'a str, &'a str)>,
}

impl<'a> Walker<'a> {
    /// A walker over the old and new definitions.
    pub fn new(
        old: &'a BTreeMap<String, Value>,
        new: &'a BTreeMap<String, Value>,
        direction: Direction,
    ) -> Walker<'a> {
        let (sub, sup) = if direction.sub_is_old {
            (old, new)
        } else {
            (new, old)
        };
        Walker {
            sub: Definitions(sub),
            sup: Definitions(sup),
            direction,
            memo: HashMap::new(),
            active: HashSet::new(),
            assumed: HashSet::new(),
            same_memo: HashMap::new(),
            same_active: HashSet::new(),
            same_assumed: HashSet::new(),
        }
    }

    /// Every place where a value `sub` accepts is rejected by `sup`.
    pub fn compare(&mut self, sub: &'a Value, sup: &'a Value) -> Vec<Issue> {
        let mut issues = self.compare_nodes(&[sub], &[sup]);
        let mut seen = Vec::new();
        issues.retain(|issue| {
            if seen.contains(issue) {
                false
            } else {
                seen.push(issue.clone());
                true
            }
        });
        issues
    }

    fn compare_nodes(&mut self, sub: &[&'a Value], sup: &[&'a Value]) -> Vec<Issue> {
        let sub: Node<'a> = if sub.is_empty() {
            vec![&ANY]
        } else {
            sub.to_vec()
        };
        let sup: Node<'a> = if sup.is_empty() {
            vec![&ANY]
        } else {
            sup.to_vec()
        };
        if let ([a], [b]) = (sub.as_slice(), sup.as_slice()) {
            if self.same(a, b) {
                return Vec::new();
            }
        }
        let key = Key::Nodes(self.sub.identity(&sub), self.sup.identity(&sup));
        self.remembered(key, |walker| {
            let subs = walker.sub.expand(&sub);
            let sups = walker.sup.expand(&sup);
            walker.compare_alts(&subs, &sups, &sup)
        })
    }

    /// `compute`'s issues for `key`, computed once. A pair met again while
    /// it is being compared is assumed to hold; what is computed under that
    /// assumption is remembered only once the assumption is resolved.
    fn remembered(
        &mut self,
        key: Key,
        compute: impl FnOnce(&mut Self) -> Vec<Issue>,
    ) -> Vec<Issue> {
        if let Some(found) = self.memo.get(&key) {
            return found.clone();
        }
        if self.active.contains(&key) {
            self.assumed.insert(key);
            return Vec::new();
        }
        self.active.insert(key.clone());
        let issues = compute(self);
        self.active.remove(&key);
        self.assumed.remove(&key);
        if self.assumed.is_empty() {
            self.memo.insert(key, issues.clone());
        }
        issues
    }

    fn compare_alts(
        &mut self,
        subs: &[Alt<'a>],
        sups: &[Alt<'a>],
        sup: &[&'a Value],
    ) -> Vec<Issue> {
        let mut issues = Vec::new();
        let several = subs.iter().filter(|alt| alt.types != Types::NULL).count() > 1;
        let sup_labels: Vec<Option<Label>> = sups.iter().map(|alt| label(alt, self.sup)).collect();
        for (index, alt) in subs.iter().enumerate() {
            if let Some(values) = &alt.values {
                self.compare_values(alt, values, sups, sup, &mut issues);
                continue;
            }
            if sups.is_empty() {
                issues.push(Issue::new(Fact::Types {
                    sub: alt.types,
                    sup: Types::NONE,
                }));
                continue;
            }
            let own = label(alt, self.sub);
            let matched = own
                .as_ref()
                .and_then(|own| sup_labels.iter().position(|l| l.as_ref() == Some(own)));
            // A variant whose tag the other side does not have is gone,
            // however alike the remaining variants look.
            let tagged_elsewhere = match &own {
                Some(Label::Tag { property, .. }) => sup_labels
                    .iter()
                    .any(|l| matches!(l, Some(Label::Tag { property: p, .. }) if p == property)),
                Some(Label::Key(_)) => sup_labels.iter().any(|l| matches!(l, Some(Label::Key(_)))),
                _ => false,
            };
            let mut order: Vec<usize> = matched.into_iter().collect();
            order.extend((0..sups.len()).filter(|j| Some(*j) != matched));
            let mut accepted = false;
            let mut best: Option<Vec<Issue>> = None;
            for j in order {
                let found = self.alt_subset(alt, &sups[j]);
                if found.is_empty() {
                    accepted = true;
                    break;
                }
                let candidate = match matched {
                    Some(m) => m == j,
                    None => !tagged_elsewhere && (sups.len() == 1 || !several),
                };
                if candidate && best.as_ref().is_none_or(|b| score(&found) < score(b)) {
                    best = Some(found);
                }
            }
            if accepted {
                continue;
            }
            if alt.types == Types::NULL {
                issues.push(Issue::new(Fact::Types {
                    sub: Types::NULL,
                    sup: sups.iter().fold(Types::NONE, |all, alt| all.or(alt.types)),
                }));
                continue;
            }
            let name = match &own {
                Some(label) => label.display(),
                None if several => format!("#{}", index + 1),
                None => alt.types.to_string(),
            };
            match best {
                Some(found) => {
                    for mut issue in found {
                        if several {
                            issue.path.insert(0, Segment::Variant(name.clone()));
                        }
                        issues.push(issue);
                    }
                }
                None => {
                    let mut issue = Issue::new(Fact::Variant { label: name });
                    issue.type_name = alt.type_name.map(str::to_owned);
                    issues.push(issue);
                }
            }
        }
        issues
    }

    /// An `enum` or `const` alternative: each value against the whole sup
    /// side, since the values may be spread over its alternatives.
    fn compare_values(
        &mut self,
        alt: &Alt<'a>,
        values: &[&'a Value],
        sups: &[Alt<'a>],
        sup: &[&'a Value],
        issues: &mut Vec<Issue>,
    ) {
        let mut rejected = Vec::new();
        let mut unsure = Vec::new();
        for value in values {
            if !alt.types.intersects(Types::of(value)) {
                continue;
            }
            match accepts_all(self.sup, sup, value) {
                Tri::Yes => {}
                Tri::No => rejected.push((*value).clone()),
                Tri::Unknown => unsure.push((*value).clone()),
            }
        }
        let sup_restricted = !sups.is_empty() && sups.iter().all(|alt| alt.values.is_some());
        let type_name = alt.type_name.map(str::to_owned);
        if !rejected.is_empty() {
            let mut issue = Issue::new(Fact::Values {
                values: rejected,
                sup_restricted,
            });
            issue.type_name = type_name.clone();
            issues.push(issue);
        }
        if !unsure.is_empty() {
            let mut issue = Issue::unsure(Fact::Values {
                values: unsure,
                sup_restricted,
            });
            issue.type_name = type_name;
            issues.push(issue);
        }
    }

    /// One alternative against another.
    fn alt_subset(&mut self, sub: &Alt<'a>, sup: &Alt<'a>) -> Vec<Issue> {
        let key = Key::Alts(sub.origin.clone(), sup.origin.clone());
        self.remembered(key, |walker| walker.compare_alt(sub, sup))
    }

    fn compare_alt(&mut self, sub: &Alt<'a>, sup: &Alt<'a>) -> Vec<Issue> {
        let mut issues = Vec::new();
        let missing = sub.types.minus(sup.types);
        if !missing.is_empty() {
            issues.push(Issue::new(Fact::Types {
                sub: sub.types,
                sup: sup.types,
            }));
        }
        let common = sub.types.and(sup.types);
        // A changed type says it all (`u32` to `f64` changes the bounds
        // too); a value that may no longer be null is compared further.
        if !common.is_empty() && missing.minus(Types::NULL).is_empty() {
            if let Some(values) = &sup.values {
                if !covers(values, common) {
                    issues.push(Issue::new(Fact::Restricted {
                        values: values.iter().map(|v| (*v).clone()).collect(),
                    }));
                }
            } else {
                if common.intersects(Types::NUMBER) {
                    compare_numbers(sub, sup, &mut issues);
                }
                compare_formats(sub, sup, common, &mut issues);
                if common.intersects(Types::STRING) {
                    compare_range(Measure::Length, &sub.length, &sup.length, &mut issues);
                    for pattern in &sup.patterns {
                        if !sub.patterns.contains(pattern) {
                            issues.push(Issue::unsure(Fact::Pattern {
                                sub: sub.patterns.first().map(|p| (*p).to_owned()),
                                sup: (*pattern).to_owned(),
                            }));
                        }
                    }
                }
                if common.intersects(Types::ARRAY) {
                    self.compare_arrays(sub, sup, &mut issues);
                }
                if common.intersects(Types::OBJECT) {
                    self.compare_objects(sub, sup, &mut issues);
                }
                for (keyword, value) in &sup.opaque {
                    if !sub.opaque.iter().any(|(k, v)| k == keyword && v == value) {
                        issues.push(Issue::unsure(Fact::Unsupported {
                            keyword: (*keyword).to_owned(),
                        }));
                    }
                }
            }
        }
        let name = sup.type_name.or(sub.type_name);
        for issue in &mut issues {
            if issue.type_name.is_none() {
                issue.type_name = name.map(str::to_owned);
            }
        }
        issues
    }

    fn compare_arrays(&mut self, sub: &Alt<'a>, sup: &Alt<'a>, issues: &mut Vec<Issue>) {
        let sub_max = sub
            .item_count
            .upper
            .as_ref()
            .and_then(|limit| limit.value.0.as_u64());
        let prefix = sub.prefix_items.len().max(sup.prefix_items.len());
        for i in 0..prefix {
            if sub_max.is_some_and(|max| i as u64 >= max) {
                break;
            }
            let sub_item = sub
                .prefix_items
                .get(i)
                .cloned()
                .unwrap_or_else(|| sub.items.clone());
            if rejects_all(&sub_item) {
                break;
            }
            let sup_item = sup
                .prefix_items
                .get(i)
                .cloned()
                .unwrap_or_else(|| sup.items.clone());
            if sup_item.is_empty() {
                continue;
            }
            for mut issue in self.compare_nodes(&sub_item, &sup_item) {
                issue.path.insert(0, Segment::Index(i));
                issues.push(issue);
            }
        }
        let more = sub_max.is_none_or(|max| max > prefix as u64) && !rejects_all(&sub.items);
        if more && !sup.items.is_empty() {
            for mut issue in self.compare_nodes(&sub.items, &sup.items) {
                issue.path.insert(0, Segment::Items);
                issues.push(issue);
            }
        }
        compare_range(Measure::Items, &sub.item_count, &sup.item_count, issues);
        if sup.unique_items && !sub.unique_items && sub_max.is_none_or(|max| max > 1) {
            issues.push(Issue::new(Fact::Unique));
        }
    }

    fn compare_objects(&mut self, sub: &Alt<'a>, sup: &Alt<'a>, issues: &mut Vec<Issue>) {
        for name in sup.required.difference(&sub.required) {
            issues.push(Issue::new(Fact::Required {
                name: (*name).to_owned(),
                sub_declares: sub.properties.contains_key(name),
            }));
        }
        let names: BTreeSet<&'a str> = sub
            .properties
            .keys()
            .chain(sup.properties.keys())
            .copied()
            .collect();
        for name in names {
            // A property the sub side does not declare has no values the
            // contract speaks of (unless it is a map): a new optional field
            // narrows nothing, a removed one widens nothing beyond its
            // being no longer required.
            let declared = sub.properties.get(name);
            if declared.is_none() && sub.additional.is_none() {
                continue;
            }
            let Some(sub_node) = self.undeclared(sub, declared) else {
                continue;
            };
            let sup_node = match sup.properties.get(name) {
                Some(node) => node.clone(),
                None => match &sup.additional {
                    Some(node) => node.clone(),
                    None => continue,
                },
            };
            if rejects_all(&sup_node) {
                issues.push(Issue::new(Fact::Rejected {
                    name: name.to_owned(),
                }));
                continue;
            }
            if self.direction.defaults {
                if let (Some(old), Some(new)) = (sub.properties.get(name), sup.properties.get(name))
                {
                    let default = |node: &Node<'a>| node.iter().find_map(|s| s.get("default"));
                    let optional = !sub.required.contains(name) && !sup.required.contains(name);
                    if optional && default(old) != default(new) {
                        let mut issue = Issue::unsure(Fact::Default {
                            sub: default(old).cloned(),
                            sup: default(new).cloned(),
                        });
                        issue.path.push(Segment::Property(name.to_owned()));
                        issues.push(issue);
                    }
                }
            }
            for mut issue in self.compare_nodes(&sub_node, &sup_node) {
                issue.path.insert(0, Segment::Property(name.to_owned()));
                issues.push(issue);
            }
        }
        if let (Some(sub_rest), Some(sup_rest)) = (self.undeclared(sub, None), &sup.additional) {
            if rejects_all(sup_rest) {
                issues.push(Issue::new(Fact::Closed));
            } else {
                for mut issue in self.compare_nodes(&sub_rest, sup_rest) {
                    issue.path.insert(0, Segment::Values);
                    issues.push(issue);
                }
            }
        }
        compare_range(
            Measure::Properties,
            &sub.property_count,
            &sup.property_count,
            issues,
        );
    }

    /// The schema the sub side gives a property (`declared`, else its rule
    /// for undeclared ones); `None` when the sub side never has it.
    fn undeclared(&self, sub: &Alt<'a>, declared: Option<&Node<'a>>) -> Option<Node<'a>> {
        let node = match (declared, &sub.additional) {
            (Some(node), _) => node.clone(),
            (None, Some(node)) => node.clone(),
            (None, None) if self.direction.serialized => return None,
            (None, None) => Vec::new(),
        };
        (!rejects_all(&node)).then_some(node)
    }

    /// Whether two schemas are the same but for annotations, following
    /// references pairwise.
    fn same(&mut self, sub: &'a Value, sup: &'a Value) -> bool {
        let (Value::Object(a), Value::Object(b)) = (sub, sup) else {
            return sub == sup;
        };
        let keys = |map: &'a serde_json::Map<String, Value>| -> BTreeSet<&'a str> {
            map.keys()
                .map(String::as_str)
                .filter(|k| !ANNOTATIONS.contains(k))
                .collect()
        };
        let keys_a = keys(a);
        if keys_a != keys(b) {
            return false;
        }
        for key in keys_a {
            let (x, y) = (&a[key], &b[key]);
            let equal = match key {
                "$ref" => self.same_reference(x, y),
                "required" | "enum" | "type" => same_set(x, y),
                "properties" | "patternProperties" | "dependentSchemas" => match (x, y) {
                    (Value::Object(p), Value::Object(q)) => {
                        p.len() == q.len()
                            && p.iter()
                                .all(|(k, v)| q.get(k).is_some_and(|w| self.same(v, w)))
                    }
                    _ => x == y,
                },
                "items"
                | "additionalProperties"
                | "unevaluatedProperties"
                | "unevaluatedItems"
                | "not"
                | "if"
                | "then"
                | "else"
                | "contains"
                | "propertyNames" => self.same(x, y),
                "prefixItems" | "allOf" | "anyOf" | "oneOf" => match (x, y) {
                    (Value::Array(p), Value::Array(q)) => {
                        p.len() == q.len() && p.iter().zip(q).all(|(v, w)| self.same(v, w))
                    }
                    _ => x == y,
                },
                _ => x == y,
            };
            if !equal {
                return false;
            }
        }
        true
    }

    fn same_reference(&mut self, x: &'a Value, y: &'a Value) -> bool {
        let (Some((a, da)), Some((b, db))) = (self.sub.resolve(x), self.sup.resolve(y)) else {
            return x == y;
        };
        let key = (a, b);
        if let Some(found) = self.same_memo.get(&key) {
            return *found;
        }
        if self.same_active.contains(&key) {
            self.same_assumed.insert(key);
            return true;
        }
        self.same_active.insert(key);
        let found = self.same(da, db);
        self.same_active.remove(&key);
        self.same_assumed.remove(&key);
        if !found || self.same_assumed.is_empty() {
            self.same_memo.insert(key, found);
        }
        found
    }
}

/// Fewer issues, and fewer certain ones, is a closer match.
fn score(issues: &[Issue]) -> usize {
    issues
        .iter()
        .map(|issue| if issue.certain { 4 } else { 1 })
        .sum()
}

/// Whether a restricted sup side still takes every value of the types the
/// sub side has (only possible for `null` and booleans).
fn covers(values: &[&Value], types: Types) -> bool {
    let mut finite = Types::NONE;
    if values.contains(&&Value::Null) {
        finite = finite.or(Types::NULL);
    }
    if values.contains(&&Value::Bool(true)) && values.contains(&&Value::Bool(false)) {
        finite = finite.or(Types::BOOLEAN);
    }
    types.minus(finite).is_empty()
}

fn same_set(x: &Value, y: &Value) -> bool {
    match (x, y) {
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().all(|v| b.contains(v)) && b.iter().all(|v| a.contains(v))
        }
        _ => x == y,
    }
}

fn compare_numbers(sub: &Alt<'_>, sup: &Alt<'_>, issues: &mut Vec<Issue>) {
    compare_range(Measure::Value, &sub.number, &sup.number, issues);
    for divisor in &sup.multiple_of {
        if !sub.multiple_of.iter().any(|m| m.is_multiple_of(divisor)) {
            issues.push(Issue::new(Fact::MultipleOf {
                sub: sub.multiple_of.first().map(ToString::to_string),
                sup: divisor.to_string(),
            }));
        }
    }
}

fn compare_range(measure: Measure, sub: &Range, sup: &Range, issues: &mut Vec<Issue>) {
    if Limit::tighter_lower(sup.lower.as_ref(), sub.lower.as_ref()) {
        issues.push(Issue::new(Fact::Bound {
            measure,
            end: End::Lower,
            sub: sub.lower.clone(),
            sup: sup.lower.clone(),
        }));
    }
    if Limit::tighter_upper(sup.upper.as_ref(), sub.upper.as_ref()) {
        issues.push(Issue::new(Fact::Bound {
            measure,
            end: End::Upper,
            sub: sub.upper.clone(),
            sup: sup.upper.clone(),
        }));
    }
}

/// The `format`s of integers are carried by their bounds, and every JSON
/// number is a `double`; a `float` may lose precision; any other format
/// (of strings) narrows the values.
fn compare_formats(sub: &Alt<'_>, sup: &Alt<'_>, common: Types, issues: &mut Vec<Issue>) {
    for format in &sup.formats {
        if sub.formats.contains(format) || is_integer_format(format) || *format == "double" {
            continue;
        }
        let sub_format = sub
            .formats
            .iter()
            .find(|f| !is_integer_format(f))
            .map(|f| (*f).to_owned());
        if *format == "float" {
            if common.intersects(Types::NUMBER) {
                issues.push(Issue::unsure(Fact::Format {
                    sub: sub_format,
                    sup: (*format).to_owned(),
                }));
            }
        } else if common.intersects(Types::STRING) {
            issues.push(Issue::new(Fact::Format {
                sub: sub_format,
                sup: (*format).to_owned(),
            }));
        }
    }
}

fn is_integer_format(format: &str) -> bool {
    matches!(
        format,
        "int8"
            | "int16"
            | "int32"
            | "int64"
            | "int128"
            | "uint"
            | "int"
            | "uint8"
            | "uint16"
            | "uint32"
            | "uint64"
            | "uint128"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REQUEST: Direction = Direction {
        sub_is_old: true,
        serialized: false,
        defaults: true,
    };
    const REPLY: Direction = Direction {
        sub_is_old: false,
        serialized: true,
        defaults: false,
    };

    fn defs(value: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    /// The change codes of `sub` into `sup`, each with its path.
    fn codes(
        direction: Direction,
        old_defs: &BTreeMap<String, Value>,
        new_defs: &BTreeMap<String, Value>,
        sub: &Value,
        sup: &Value,
    ) -> Vec<String> {
        let mut walker = Walker::new(old_defs, new_defs, direction);
        walker
            .compare(sub, sup)
            .iter()
            .map(|issue| {
                let (code, _) = issue.describe(direction.sub_is_old);
                let certainty = if issue.certain { "" } else { "?" };
                format!(
                    "{}:{code}{certainty}",
                    super::super::issue::render_path(&issue.path)
                )
            })
            .collect()
    }

    fn plain(sub: Value, sup: Value) -> Vec<String> {
        let none = BTreeMap::new();
        codes(REQUEST, &none, &none, &sub, &sup)
    }

    #[test]
    fn annotations_and_order_change_nothing() {
        assert!(plain(
            json!({"type": "object", "description": "a", "required": ["a", "b"],
                   "properties": {"a": {"type": "string"}, "b": {"type": "integer", "title": "B"}}}),
            json!({"type": "object", "description": "b", "required": ["b", "a"],
                   "properties": {"b": {"type": "integer"}, "a": {"type": "string", "examples": ["x"]}}}),
        )
        .is_empty());
        // An enum becomes a oneOf of constants when a variant gets docs.
        let listed = json!({"type": "string", "enum": ["a", "b"]});
        let documented = json!({"oneOf": [
            {"type": "string", "const": "b", "description": "B"},
            {"type": "string", "const": "a", "description": "A"}
        ]});
        assert!(plain(listed.clone(), documented.clone()).is_empty());
        assert!(plain(documented, listed).is_empty());
    }

    #[test]
    fn constants_are_checked_against_the_whole_union() {
        let old = json!({"enum": ["a", "b", "c"]});
        let new = json!({"anyOf": [{"const": "a"}, {"enum": ["b"]}, {"type": "null"}]});
        assert_eq!(plain(old, new), [":enum-value-removed"]);
        // A value the other side may reject by a pattern: uncertain.
        let patterned = json!({"type": "string", "pattern": "^[a-z]$"});
        assert_eq!(
            plain(json!({"const": "a"}), patterned),
            [":enum-value-removed?"]
        );
    }

    #[test]
    fn numbers_integers_and_bounds() {
        assert!(plain(json!({"type": "integer"}), json!({"type": "number"})).is_empty());
        assert_eq!(
            plain(json!({"type": "number"}), json!({"type": "integer"})),
            [":type-changed"]
        );
        assert!(plain(
            json!({"type": "integer", "minimum": 1, "maximum": 9}),
            json!({"type": "integer", "exclusiveMinimum": 0, "maximum": 10}),
        )
        .is_empty());
        assert_eq!(
            plain(
                json!({"type": "integer", "minimum": 0}),
                json!({"type": "integer", "exclusiveMinimum": 0}),
            ),
            [":bound-tightened"]
        );
        assert_eq!(
            plain(
                json!({"type": "number"}),
                json!({"type": "number", "format": "float"})
            ),
            [":format-added?"]
        );
        // Integer formats are carried by their bounds.
        assert!(plain(
            json!({"type": "integer", "format": "uint8", "minimum": 0, "maximum": 255}),
            json!({"type": "integer", "format": "uint16", "minimum": 0, "maximum": 65535}),
        )
        .is_empty());
    }

    #[test]
    fn all_of_false_and_unknown_keywords() {
        let sup = json!({"allOf": [{"type": "object", "required": ["a"]}, {"required": ["b"]}]});
        assert_eq!(
            plain(json!({"type": "object", "required": ["a"]}), sup),
            [":required-property-added"]
        );
        assert_eq!(
            plain(json!({"type": "string"}), json!(false)),
            [":type-changed"]
        );
        let not = json!({"type": "string", "not": {"const": "x"}});
        assert!(plain(not.clone(), not.clone()).is_empty());
        assert_eq!(plain(json!({"type": "string"}), not), [":not-compared?"]);
    }

    #[test]
    fn tuples_compare_position_by_position() {
        let pair = |second: &str| {
            json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": second}],
                   "items": false, "minItems": 2, "maxItems": 2})
        };
        assert_eq!(plain(pair("integer"), pair("string")), ["[1]:type-changed"]);
        assert!(plain(pair("integer"), pair("number")).is_empty());
    }

    #[test]
    fn undeclared_properties_depend_on_who_writes_the_values() {
        let open = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        let closed = json!({"type": "object", "properties": {"a": {"type": "string"}},
                            "additionalProperties": false});
        let none = BTreeMap::new();
        // Any client may send more than it declares...
        assert_eq!(codes(REQUEST, &none, &none, &open, &closed), [":closed"]);
        // ...but a serialized Rust value writes only what it declares.
        assert!(codes(REPLY, &none, &none, &open, &closed).is_empty());
        // Maps are values either way.
        let map =
            |values: &str| json!({"type": "object", "additionalProperties": {"type": values}});
        assert_eq!(
            codes(REPLY, &none, &none, &map("integer"), &map("string")),
            ["*:type-changed"]
        );
    }

    #[test]
    fn recursive_types_end_and_are_reported_once() {
        let list = |value: &str| {
            defs(
                json!({"Node": {"type": "object", "required": ["value"], "properties": {
                    "value": {"type": value},
                    "next": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}
                }}}),
            )
        };
        let (old, new) = (list("integer"), list("string"));
        let root = json!({"$ref": "#/$defs/Node"});
        assert_eq!(
            codes(REQUEST, &old, &new, &root, &root),
            ["value:type-changed"]
        );
        let same = list("integer");
        assert!(codes(REQUEST, &old, &same, &root, &root).is_empty());
    }

    #[test]
    fn results_found_under_an_assumption_are_not_reused_beyond_it() {
        // A holds B and B holds A; only A changed. Comparing A first must
        // not leave "B is unchanged" behind for a later comparison of B.
        let pair = |x: &str| {
            defs(json!({
                "A": {"type": "object", "properties": {"b": {"$ref": "#/$defs/B"}, "x": {"type": x}}},
                "B": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}}
            }))
        };
        let (old, new) = (pair("integer"), pair("string"));
        let a = json!({"$ref": "#/$defs/A"});
        let b = json!({"$ref": "#/$defs/B"});
        let mut walker = Walker::new(&old, &new, REQUEST);
        let first = walker.compare(&a, &a);
        let second = walker.compare(&b, &b);
        assert_eq!(first.len(), 1);
        assert_eq!(second.len(), 1, "{second:?}");
        assert_eq!(super::super::issue::render_path(&second[0].path), "a.x");
    }

    #[test]
    fn variants_pair_by_tag_and_name_their_place() {
        let variant = |tag: &str, field: &str| {
            json!({"type": "object", "required": ["kind", "size"], "properties": {
                "kind": {"type": "string", "const": tag}, "size": {"type": field}}})
        };
        let old = json!({"oneOf": [variant("a", "integer"), variant("b", "integer")]});
        let new = json!({"oneOf": [variant("b", "string"), variant("a", "integer")]});
        assert_eq!(plain(old.clone(), new), ["<b>.size:type-changed"]);
        let fewer = json!({"oneOf": [variant("a", "integer")]});
        assert_eq!(plain(old, fewer), [":variant-removed"]);
    }
}
