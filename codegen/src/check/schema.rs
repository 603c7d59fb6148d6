//! Schemas as sets of JSON values, in a form the subset check can compare.
//!
//! A schema is expanded into a union of [`Alt`]ernatives: `anyOf` and
//! `oneOf` become alternatives, `allOf` and `$ref` are intersected into
//! each of them, so every alternative is a plain conjunction of keywords.
//! Property, item and map-value schemas stay unexpanded ([`Node`]s) until
//! the check reaches them, which is what lets recursive types be compared.
//!
//! `oneOf` is read as `anyOf`: schemars writes `oneOf` for enums whose
//! alternatives exclude each other by their tag or their single key, so
//! the exclusivity adds nothing for its schemas.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Number, Value};

/// The schema that accepts every value.
pub(crate) static ANY: Value = Value::Bool(true);

/// A conjunction of schemas of one side: a value must satisfy all of them.
pub(crate) type Node<'a> = Vec<&'a Value>;

/// Keywords that only annotate: they never change which values a schema
/// accepts. (`default` does not either, but a changed request default
/// changes what the server does, so it is compared.)
pub(crate) const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "examples",
    "example",
    "$comment",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$schema",
    "$id",
    "$anchor",
    "$defs",
    "definitions",
    "contentEncoding",
    "contentMediaType",
];

/// Constraint keywords the check does not reason about: when the newer
/// side of a comparison has one that the other lacks, the result is
/// uncertain.
const OPAQUE: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "contains",
    "minContains",
    "maxContains",
    "patternProperties",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "unevaluatedItems",
    "$dynamicRef",
];

/// How deep `$ref`s and combinators are followed while expanding one
/// schema; deeper means a reference cycle that never reaches a property.
const MAX_DEPTH: usize = 32;
/// At most this many alternatives per schema.
const MAX_ALTERNATIVES: usize = 512;

/// A set of JSON types. Numbers are split into integers and the others so
/// that `integer` is a subset of `number`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Types(u8);

impl Types {
    pub(crate) const NULL: Types = Types(1);
    pub(crate) const BOOLEAN: Types = Types(2);
    pub(crate) const INTEGER: Types = Types(4);
    /// Numbers that are not integers.
    pub(crate) const FRACTION: Types = Types(8);
    pub(crate) const STRING: Types = Types(16);
    pub(crate) const ARRAY: Types = Types(32);
    pub(crate) const OBJECT: Types = Types(64);
    pub(crate) const NONE: Types = Types(0);
    pub(crate) const ALL: Types = Types(127);
    pub(crate) const NUMBER: Types = Types(4 | 8);

    /// The types a `type` keyword names.
    pub(crate) fn named(name: &str) -> Types {
        match name {
            "null" => Types::NULL,
            "boolean" => Types::BOOLEAN,
            "integer" => Types::INTEGER,
            "number" => Types::NUMBER,
            "string" => Types::STRING,
            "array" => Types::ARRAY,
            "object" => Types::OBJECT,
            _ => Types::NONE,
        }
    }

    /// The type of a value.
    pub(crate) fn of(value: &Value) -> Types {
        match value {
            Value::Null => Types::NULL,
            Value::Bool(_) => Types::BOOLEAN,
            Value::Number(n) => {
                if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0) {
                    Types::INTEGER
                } else {
                    Types::FRACTION
                }
            }
            Value::String(_) => Types::STRING,
            Value::Array(_) => Types::ARRAY,
            Value::Object(_) => Types::OBJECT,
        }
    }

    pub(crate) fn and(self, other: Types) -> Types {
        Types(self.0 & other.0)
    }

    pub(crate) fn minus(self, other: Types) -> Types {
        Types(self.0 & !other.0)
    }

    pub(crate) fn or(self, other: Types) -> Types {
        Types(self.0 | other.0)
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(crate) fn intersects(self, other: Types) -> bool {
        !self.and(other).is_empty()
    }
}

impl fmt::Display for Types {
    /// `string`, `integer or null`, `nothing`, `anything`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Types::ALL {
            return f.write_str("anything");
        }
        let mut names = Vec::new();
        for (types, name) in [
            (Types::BOOLEAN, "boolean"),
            (Types::STRING, "string"),
            (Types::ARRAY, "array"),
            (Types::OBJECT, "object"),
        ] {
            if self.intersects(types) {
                names.push(name);
            }
        }
        if self.and(Types::NUMBER) == Types::NUMBER {
            names.push("number");
        } else if self.intersects(Types::INTEGER) {
            names.push("integer");
        } else if self.intersects(Types::FRACTION) {
            names.push("non-integer number");
        }
        if self.intersects(Types::NULL) {
            names.push("null");
        }
        if names.is_empty() {
            return f.write_str("nothing");
        }
        f.write_str(&names.join(" or "))
    }
}

/// A JSON number, compared exactly when both are integers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Num(pub(crate) Number);

impl Num {
    fn integer(&self) -> Option<i128> {
        self.0
            .as_i64()
            .map(i128::from)
            .or_else(|| self.0.as_u64().map(i128::from))
    }

    fn float(&self) -> f64 {
        self.0.as_f64().unwrap_or(f64::NAN)
    }

    pub(crate) fn compare(&self, other: &Num) -> Ordering {
        match (self.integer(), other.integer()) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self
                .float()
                .partial_cmp(&other.float())
                .unwrap_or(Ordering::Equal),
        }
    }

    /// Whether `self` is a whole multiple of `divisor`.
    pub(crate) fn is_multiple_of(&self, divisor: &Num) -> bool {
        if let (Some(a), Some(b)) = (self.integer(), divisor.integer()) {
            return b != 0 && a % b == 0;
        }
        let quotient = self.float() / divisor.float();
        quotient.is_finite() && (quotient - quotient.round()).abs() < 1e-9
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One end of a range.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Limit {
    pub(crate) value: Num,
    /// Whether the value itself is excluded.
    pub(crate) exclusive: bool,
}

impl Limit {
    fn inclusive(value: Num) -> Limit {
        Limit {
            value,
            exclusive: false,
        }
    }

    fn count(value: u64) -> Limit {
        Limit::inclusive(Num(Number::from(value)))
    }

    /// Whether the lower limit `self` admits less than `other` does (it is
    /// the tighter one). `None` is no limit.
    pub(crate) fn tighter_lower(this: Option<&Limit>, other: Option<&Limit>) -> bool {
        match (this, other) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(a), Some(b)) => match a.value.compare(&b.value) {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal => a.exclusive && !b.exclusive,
            },
        }
    }

    /// Whether the upper limit `self` admits less than `other` does.
    pub(crate) fn tighter_upper(this: Option<&Limit>, other: Option<&Limit>) -> bool {
        match (this, other) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(a), Some(b)) => match a.value.compare(&b.value) {
                Ordering::Less => true,
                Ordering::Greater => false,
                Ordering::Equal => a.exclusive && !b.exclusive,
            },
        }
    }

    fn lower_of(a: Option<Limit>, b: Option<Limit>) -> Option<Limit> {
        if Limit::tighter_lower(a.as_ref(), b.as_ref()) {
            a
        } else {
            b.or(a)
        }
    }

    fn upper_of(a: Option<Limit>, b: Option<Limit>) -> Option<Limit> {
        if Limit::tighter_upper(a.as_ref(), b.as_ref()) {
            a
        } else {
            b.or(a)
        }
    }
}

/// Lower and upper limits of one measure of a value.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Range {
    pub(crate) lower: Option<Limit>,
    pub(crate) upper: Option<Limit>,
}

impl Range {
    fn intersect(self, other: Range) -> Range {
        Range {
            lower: Limit::lower_of(self.lower, other.lower),
            upper: Limit::upper_of(self.upper, other.upper),
        }
    }
}

/// One alternative of a schema: a conjunction of plain keywords.
#[derive(Debug, Clone)]
pub(crate) struct Alt<'a> {
    pub(crate) types: Types,
    /// `enum` or `const`: the only values allowed, when restricted.
    pub(crate) values: Option<Vec<&'a Value>>,
    /// `minimum`/`maximum` and their exclusive forms.
    pub(crate) number: Range,
    pub(crate) multiple_of: Vec<Num>,
    /// `minLength`/`maxLength`.
    pub(crate) length: Range,
    pub(crate) patterns: Vec<&'a str>,
    pub(crate) formats: Vec<&'a str>,
    /// `items`, as a conjunction; empty allows any item.
    pub(crate) items: Node<'a>,
    pub(crate) prefix_items: Vec<Node<'a>>,
    /// `minItems`/`maxItems`.
    pub(crate) item_count: Range,
    pub(crate) unique_items: bool,
    /// Declared properties with their schemas.
    pub(crate) properties: BTreeMap<&'a str, Node<'a>>,
    pub(crate) required: BTreeSet<&'a str>,
    /// `additionalProperties` (or `unevaluatedProperties`); `None` allows
    /// any other property.
    pub(crate) additional: Option<Node<'a>>,
    /// `minProperties`/`maxProperties`.
    pub(crate) property_count: Range,
    /// Constraints not reasoned about, by keyword.
    pub(crate) opaque: Vec<(&'a str, &'a Value)>,
    /// The named schema (`$defs` entry) this alternative came from, the
    /// innermost when references chain.
    pub(crate) type_name: Option<&'a str>,
    /// The addresses of the schema objects whose keywords make up this
    /// alternative: the same origin on one side is the same alternative,
    /// however it was reached.
    pub(crate) origin: Vec<usize>,
}

impl<'a> Alt<'a> {
    fn any() -> Alt<'a> {
        Alt {
            types: Types::ALL,
            values: None,
            number: Range::default(),
            multiple_of: Vec::new(),
            length: Range::default(),
            patterns: Vec::new(),
            formats: Vec::new(),
            items: Vec::new(),
            prefix_items: Vec::new(),
            item_count: Range::default(),
            unique_items: false,
            properties: BTreeMap::new(),
            required: BTreeSet::new(),
            additional: None,
            property_count: Range::default(),
            opaque: Vec::new(),
            type_name: None,
            origin: Vec::new(),
        }
    }

    /// The plain keywords of one schema object (not its combinators).
    fn from_keywords(map: &'a serde_json::Map<String, Value>) -> Alt<'a> {
        let mut alt = Alt::any();
        let constrains = map.keys().any(|key| {
            !ANNOTATIONS.contains(&key.as_str())
                && !matches!(key.as_str(), "$ref" | "anyOf" | "oneOf" | "allOf")
        });
        if constrains {
            alt.origin
                .push(map as *const serde_json::Map<String, Value> as usize);
        }
        match map.get("type") {
            Some(Value::String(name)) => alt.types = Types::named(name),
            Some(Value::Array(names)) => {
                alt.types = names
                    .iter()
                    .filter_map(Value::as_str)
                    .fold(Types::NONE, |all, name| all.or(Types::named(name)));
            }
            _ => {}
        }
        if let Some(value) = map.get("const") {
            alt.values = Some(vec![value]);
        }
        if let Some(Value::Array(values)) = map.get("enum") {
            let allowed: Vec<&Value> = values.iter().collect();
            alt.values = Some(match alt.values.take() {
                Some(constant) => constant
                    .into_iter()
                    .filter(|v| allowed.contains(v))
                    .collect(),
                None => allowed,
            });
        }
        let number = |key: &str| match map.get(key) {
            Some(Value::Number(n)) => Some(Num(n.clone())),
            _ => None,
        };
        let count = |key: &str| map.get(key).and_then(Value::as_u64).map(Limit::count);
        alt.number = Range {
            lower: Limit::lower_of(
                number("minimum").map(Limit::inclusive),
                number("exclusiveMinimum").map(|value| Limit {
                    value,
                    exclusive: true,
                }),
            ),
            upper: Limit::upper_of(
                number("maximum").map(Limit::inclusive),
                number("exclusiveMaximum").map(|value| Limit {
                    value,
                    exclusive: true,
                }),
            ),
        };
        alt.multiple_of.extend(number("multipleOf"));
        alt.length = Range {
            lower: count("minLength"),
            upper: count("maxLength"),
        };
        alt.patterns
            .extend(map.get("pattern").and_then(Value::as_str));
        alt.formats
            .extend(map.get("format").and_then(Value::as_str));
        if let Some(items) = map.get("items") {
            alt.items.push(items);
        }
        if let Some(Value::Array(prefix)) = map.get("prefixItems") {
            alt.prefix_items = prefix.iter().map(|schema| vec![schema]).collect();
        }
        alt.item_count = Range {
            lower: count("minItems"),
            upper: count("maxItems"),
        };
        alt.unique_items = map.get("uniqueItems") == Some(&Value::Bool(true));
        if let Some(Value::Object(properties)) = map.get("properties") {
            for (name, schema) in properties {
                alt.properties.insert(name.as_str(), vec![schema]);
            }
        }
        if let Some(Value::Array(required)) = map.get("required") {
            alt.required
                .extend(required.iter().filter_map(Value::as_str));
        }
        if let Some(additional) = map.get("additionalProperties") {
            alt.additional = Some(vec![additional]);
        }
        match map.get("unevaluatedProperties") {
            // Properties are merged across combinators here, so "not
            // evaluated" is "not declared".
            Some(Value::Bool(false)) if alt.additional.is_none() => {
                alt.additional = Some(vec![&FALSE]);
            }
            Some(Value::Bool(_)) | None => {}
            Some(other) => alt.opaque.push(("unevaluatedProperties", other)),
        }
        alt.property_count = Range {
            lower: count("minProperties"),
            upper: count("maxProperties"),
        };
        for keyword in OPAQUE {
            if let Some((key, value)) = map.get_key_value(*keyword) {
                alt.opaque.push((key.as_str(), value));
            }
        }
        alt
    }

    /// Whether no value satisfies this alternative.
    pub(crate) fn is_empty(&self) -> bool {
        if self.types.is_empty() {
            return true;
        }
        match &self.values {
            Some(values) => !values.iter().any(|v| self.types.intersects(Types::of(v))),
            None => false,
        }
    }

    /// Both alternatives at once.
    fn intersect(mut self, other: Alt<'a>) -> Alt<'a> {
        self.types = self.types.and(other.types);
        self.values = match (self.values.take(), other.values) {
            (Some(a), Some(b)) => Some(a.into_iter().filter(|v| b.contains(v)).collect()),
            (a, b) => a.or(b),
        };
        self.number = std::mem::take(&mut self.number).intersect(other.number);
        self.multiple_of.extend(other.multiple_of);
        self.length = std::mem::take(&mut self.length).intersect(other.length);
        self.patterns.extend(other.patterns);
        self.formats.extend(other.formats);
        let prefix = self.prefix_items.len().max(other.prefix_items.len());
        let mut merged = Vec::with_capacity(prefix);
        for i in 0..prefix {
            let mut node = self
                .prefix_items
                .get(i)
                .cloned()
                .unwrap_or_else(|| self.items.clone());
            node.extend(
                other
                    .prefix_items
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| other.items.clone()),
            );
            merged.push(node);
        }
        self.prefix_items = merged;
        self.items.extend(other.items);
        self.item_count = std::mem::take(&mut self.item_count).intersect(other.item_count);
        self.unique_items |= other.unique_items;
        // A property declared on one side only still meets the other
        // side's rule for undeclared properties.
        let mut properties = BTreeMap::new();
        let names: BTreeSet<&'a str> = self
            .properties
            .keys()
            .chain(other.properties.keys())
            .copied()
            .collect();
        for name in names {
            let mut node = match self.properties.get(name) {
                Some(schema) => schema.clone(),
                None => self.additional.clone().unwrap_or_default(),
            };
            node.extend(match other.properties.get(name) {
                Some(schema) => schema.clone(),
                None => other.additional.clone().unwrap_or_default(),
            });
            properties.insert(name, node);
        }
        self.properties = properties;
        self.required.extend(other.required);
        self.additional = match (self.additional.take(), other.additional) {
            (Some(mut a), Some(b)) => {
                a.extend(b);
                Some(a)
            }
            (a, b) => a.or(b),
        };
        self.property_count =
            std::mem::take(&mut self.property_count).intersect(other.property_count);
        self.opaque.extend(other.opaque);
        self.type_name = other.type_name.or(self.type_name);
        self.origin.extend(other.origin);
        self.settle()
    }

    /// An object alternative that requires a property it cannot have has
    /// no objects.
    fn settle(mut self) -> Alt<'a> {
        let impossible = self.required.iter().any(|name| {
            match self.properties.get(name).or(self.additional.as_ref()) {
                Some(node) => rejects_all(node),
                None => false,
            }
        });
        if impossible {
            self.types = self.types.minus(Types::OBJECT);
        }
        self
    }
}

/// The schema that accepts nothing.
pub(crate) static FALSE: Value = Value::Bool(false);

/// Whether a conjunction certainly accepts nothing (one of its schemas is
/// `false`).
pub(crate) fn rejects_all(node: &[&Value]) -> bool {
    node.iter().any(|schema| **schema == FALSE)
}

/// The named schemas of one side of a comparison.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Definitions<'a>(pub(crate) &'a BTreeMap<String, Value>);

impl<'a> Definitions<'a> {
    /// The name and schema a `#/$defs/<name>` reference points at.
    pub(crate) fn resolve(&self, reference: &Value) -> Option<(&'a str, &'a Value)> {
        let name = reference.as_str()?.strip_prefix("#/$defs/")?;
        self.0
            .get_key_value(name)
            .map(|(name, schema)| (name.as_str(), schema))
    }

    /// What identifies a conjunction while it is compared: each schema's
    /// address, a bare reference counting as the schema it names, so a
    /// recursive type is met again as the same pair however it is reached.
    pub(crate) fn identity(&self, node: &[&'a Value]) -> Vec<usize> {
        node.iter()
            .map(|schema| {
                let mut current: &Value = schema;
                for _ in 0..MAX_DEPTH {
                    let bare = current.as_object().is_some_and(|map| {
                        map.keys()
                            .all(|k| k == "$ref" || ANNOTATIONS.contains(&k.as_str()))
                    });
                    match current
                        .get("$ref")
                        .filter(|_| bare)
                        .and_then(|r| self.resolve(r))
                    {
                        Some((_, target)) => current = target,
                        None => break,
                    }
                }
                current as *const Value as usize
            })
            .collect()
    }

    /// The alternatives of a conjunction of schemas.
    pub(crate) fn expand(&self, node: &[&'a Value]) -> Vec<Alt<'a>> {
        let mut alts = vec![Alt::any()];
        for schema in node {
            alts = product(alts, self.expand_one(schema, 0));
            if alts.is_empty() {
                break;
            }
        }
        alts
    }

    fn expand_one(&self, schema: &'a Value, depth: usize) -> Vec<Alt<'a>> {
        let map = match schema {
            Value::Bool(true) => return vec![Alt::any()],
            Value::Object(map) => map,
            // `false`, or not a schema at all.
            _ => return Vec::new(),
        };
        let mut alts = vec![Alt::from_keywords(map)];
        if let Some(reference) = map.get("$ref") {
            match self.resolve(reference) {
                Some((name, target)) if depth < MAX_DEPTH => {
                    let mut targets = self.expand_one(target, depth + 1);
                    for alt in &mut targets {
                        alt.type_name.get_or_insert(name);
                    }
                    alts = product(alts, targets);
                }
                _ => alts[0].opaque.push(("$ref", reference)),
            }
        }
        if let Some(Value::Array(all)) = map.get("allOf") {
            for schema in all {
                if depth >= MAX_DEPTH {
                    break;
                }
                alts = product(alts, self.expand_one(schema, depth + 1));
            }
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(Value::Array(any)) = map.get(keyword) {
                if depth >= MAX_DEPTH {
                    alts.iter_mut()
                        .for_each(|alt| alt.opaque.push((keyword, &map[keyword])));
                    continue;
                }
                let union: Vec<Alt<'a>> = any
                    .iter()
                    .flat_map(|schema| self.expand_one(schema, depth + 1))
                    .collect();
                alts = product(alts, union);
            }
        }
        alts.retain(|alt| !alt.is_empty());
        alts
    }
}

fn product<'a>(left: Vec<Alt<'a>>, right: Vec<Alt<'a>>) -> Vec<Alt<'a>> {
    if left.len() == 1 && right.len() <= MAX_ALTERNATIVES {
        let base = left.into_iter().next().expect("one alternative");
        return right
            .into_iter()
            .map(|alt| base.clone().intersect(alt))
            .filter(|alt| !alt.is_empty())
            .collect();
    }
    let mut out = Vec::new();
    for a in &left {
        for b in &right {
            if out.len() >= MAX_ALTERNATIVES {
                return out;
            }
            let alt = a.clone().intersect(b.clone());
            if !alt.is_empty() {
                out.push(alt);
            }
        }
    }
    out
}

/// What tells an alternative apart from its siblings, to pair the
/// alternatives of two versions of one union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Label {
    /// A required property with a constant value: serde's internal and
    /// adjacent tags (`{"method": "ship", ...}`).
    Tag { property: String, value: String },
    /// The single property of a closed object: serde's external tag
    /// (`{"Voucher": {...}}`).
    Key(String),
    /// A single constant value.
    Value(String),
    /// The named schema the alternative came from.
    Named(String),
}

impl Label {
    /// How the label reads in a path: `<ship>`.
    pub(crate) fn display(&self) -> String {
        match self {
            Label::Tag { value, .. } => value.clone(),
            Label::Key(key) => key.clone(),
            Label::Value(value) => value.clone(),
            Label::Named(name) => name.clone(),
        }
    }
}

/// The label of an alternative, if it has one.
pub(crate) fn label(alt: &Alt<'_>, definitions: Definitions<'_>) -> Option<Label> {
    for name in &alt.required {
        let Some(node) = alt.properties.get(name) else {
            continue;
        };
        for schema in node {
            let schema = match schema.get("$ref") {
                Some(reference) => match definitions.resolve(reference) {
                    Some((_, target)) => target,
                    None => schema,
                },
                None => schema,
            };
            let constant = schema.get("const").or_else(|| match schema.get("enum") {
                Some(Value::Array(values)) if values.len() == 1 => values.first(),
                _ => None,
            });
            if let Some(constant) = constant {
                return Some(Label::Tag {
                    property: (*name).to_owned(),
                    value: short(constant),
                });
            }
        }
    }
    if alt.properties.len() == 1
        && alt.required.len() == 1
        && alt.additional.as_deref().is_some_and(rejects_all)
    {
        if let Some(key) = alt.required.first() {
            return Some(Label::Key((*key).to_owned()));
        }
    }
    if let Some(values) = &alt.values {
        if let [value] = values.as_slice() {
            return Some(Label::Value(short(value)));
        }
    }
    alt.type_name.map(|name| Label::Named(name.to_owned()))
}

/// A value as shown in a message: strings bare, anything else as compact
/// JSON, cut at 60 characters.
pub(crate) fn short(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unions_expand_into_alternatives_with_their_type_names() {
        let definitions = BTreeMap::from([
            (
                "Status".to_owned(),
                json!({"oneOf": [
                    {"type": "string", "const": "placed"},
                    {"type": "string", "const": "shipped"}
                ]}),
            ),
            ("Id".to_owned(), json!({"type": "integer", "minimum": 0})),
        ]);
        let defs = Definitions(&definitions);
        let optional = json!({"anyOf": [{"$ref": "#/$defs/Status"}, {"type": "null"}]});
        let alts = defs.expand(&[&optional]);
        assert_eq!(alts.len(), 3);
        assert_eq!(alts[0].type_name, Some("Status"));
        assert_eq!(alts[0].values, Some(vec![&json!("placed")]));
        assert_eq!(alts[2].types, Types::NULL);
        assert_eq!(
            label(&alts[1], defs),
            Some(Label::Value("shipped".to_owned()))
        );

        let nullable = json!({"type": ["integer", "null"], "maximum": 10});
        let alts = defs.expand(&[&nullable]);
        assert_eq!(alts.len(), 1);
        assert_eq!(alts[0].types, Types::INTEGER.or(Types::NULL));
        assert_eq!(
            alts[0].number.upper.as_ref().unwrap().value.to_string(),
            "10"
        );
    }

    #[test]
    fn all_of_intersects_and_keeps_closed_objects_closed() {
        let definitions = BTreeMap::new();
        let defs = Definitions(&definitions);
        let schema = json!({"allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false},
            {"type": "object", "properties": {"b": {"type": "string"}}, "required": ["b"]}
        ]});
        // `b` is required by one part and forbidden by the other.
        assert!(defs.expand(&[&schema]).is_empty());
        let schema = json!({"allOf": [
            {"type": ["object", "null"], "minimum": 1},
            {"type": "object", "properties": {"b": {"type": "string"}}}
        ]});
        let alts = defs.expand(&[&schema]);
        assert_eq!(alts[0].types, Types::OBJECT);
        assert!(alts[0].properties.contains_key("b"));
    }

    #[test]
    fn labels_name_tags_keys_and_types() {
        let definitions = BTreeMap::new();
        let defs = Definitions(&definitions);
        let tagged = json!({"type": "object", "required": ["method", "store"], "properties": {
            "method": {"type": "string", "const": "pickup"}, "store": {"type": "string"}}});
        let external = json!({"type": "object", "required": ["Voucher"], "additionalProperties": false,
            "properties": {"Voucher": {"type": "object"}}});
        assert_eq!(
            label(&defs.expand(&[&tagged])[0], defs),
            Some(Label::Tag {
                property: "method".into(),
                value: "pickup".into()
            })
        );
        assert_eq!(
            label(&defs.expand(&[&external])[0], defs),
            Some(Label::Key("Voucher".into()))
        );
        assert_eq!(
            label(&defs.expand(&[&json!({"type": "string"})])[0], defs),
            None
        );
    }

    #[test]
    fn numbers_compare_exactly_and_types_print_plainly() {
        let big = Num(Number::from(u64::MAX));
        let less = Num(Number::from(u64::MAX - 1));
        assert_eq!(big.compare(&less), Ordering::Greater);
        assert_eq!(
            Num(Number::from(3)).compare(&Num(Number::from_f64(2.5).unwrap())),
            Ordering::Greater
        );
        assert!(Num(Number::from(10)).is_multiple_of(&Num(Number::from(5))));
        assert_eq!(
            Types::INTEGER.or(Types::NULL).to_string(),
            "integer or null"
        );
        assert_eq!(Types::NUMBER.to_string(), "number");
        assert_eq!(Types::NONE.to_string(), "nothing");
    }
}
