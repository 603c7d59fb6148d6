//! What the subset check finds, and how each finding reads as a change
//! from the old contract to the new one.
//!
//! The check asks whether every value one schema (the *sub* side) accepts
//! is accepted by another (the *sup* side). A fact states why not in
//! those terms; [`Issue::describe`] turns it into a change code and a
//! sentence once it is known which side is the old contract: "`quantity`
//! became required" when the old schema is the sub side, "`quantity` is no
//! longer required" when it is the new one.

use serde_json::Value;

use super::schema::{short, Limit, Types};

/// Every schema change code [`Issue::describe`] gives, with what it means
/// read from the old contract to the new one.
pub const SCHEMA_CHANGES: &[(&str, &str)] = &[
    (
        "property-became-required",
        "a declared property became required",
    ),
    ("required-property-added", "a new property is required"),
    (
        "property-became-optional",
        "a required property may be missing",
    ),
    (
        "required-property-removed",
        "a required property is no longer declared",
    ),
    (
        "property-removed",
        "a property is gone from an object that rejects undeclared ones",
    ),
    (
        "property-added",
        "a property was added to an object whose old schema rejects undeclared ones",
    ),
    ("closed", "undeclared properties are now rejected"),
    ("opened", "undeclared properties are now accepted"),
    ("type-changed", "the JSON type changed"),
    ("no-longer-nullable", "null is no longer accepted"),
    ("became-nullable", "the value may now be null"),
    (
        "enum-value-removed",
        "a value of an enum or constant is gone",
    ),
    ("enum-value-added", "an enum gained a value"),
    ("became-enum", "a free value is now restricted to a list"),
    ("no-longer-enum", "a listed value is no longer restricted"),
    ("variant-removed", "an alternative of a union is gone"),
    ("variant-added", "a union gained an alternative"),
    (
        "bound-tightened",
        "a minimum, maximum, length or count bound admits less",
    ),
    ("bound-loosened", "a bound admits more"),
    ("format-added", "a string must now have a format"),
    ("format-removed", "a string no longer needs its format"),
    ("format-changed", "a string's format changed"),
    ("pattern-added", "a string must now match a pattern"),
    (
        "pattern-removed",
        "a string no longer needs to match its pattern",
    ),
    ("pattern-changed", "a string's pattern changed"),
    ("unique-items-added", "array items must now be unique"),
    ("unique-items-removed", "array items may now repeat"),
    (
        "multiple-of-changed",
        "a number must be a multiple of another value",
    ),
    (
        "not-compared",
        "a keyword accord does not reason about differs",
    ),
    (
        "default-changed",
        "the default of an optional request field changed",
    ),
];

/// One step into a schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A property of an object.
    Property(String),
    /// Every item of an array.
    Items,
    /// One position of a tuple.
    Index(usize),
    /// Every value of a map (`additionalProperties`).
    Values,
    /// One alternative of a union, by its tag, key or type name.
    Variant(String),
}

/// A path such as `lines[].quantity`, `delivery<ship>.address` or
/// `labels.*`; empty at the root.
pub fn render_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Property(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Segment::Items => out.push_str("[]"),
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
            Segment::Values => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('*');
            }
            Segment::Variant(label) => out.push_str(&format!("<{label}>")),
        }
    }
    out
}

/// Which measure of a value a range limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Measure {
    /// A number (`minimum`, `maximum`).
    Value,
    /// A string's length.
    Length,
    /// An array's length.
    Items,
    /// How many properties an object has.
    Properties,
}

/// Which end of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Lower,
    Upper,
}

/// Why the sub side is not a subset of the sup side, at one place.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fact {
    /// The sup side requires a property the sub side may leave out.
    Required { name: String, sub_declares: bool },
    /// The sub side has a property the sup side (a closed object) rejects.
    Rejected { name: String },
    /// The sub side accepts properties it does not name; the sup side
    /// rejects them.
    Closed,
    /// The sub side has values of types the sup side rejects.
    Types { sub: Types, sup: Types },
    /// Values of the sub side's `enum`/`const` the sup side rejects.
    Values {
        values: Vec<Value>,
        sup_restricted: bool,
    },
    /// The sup side allows only these values; the sub side is not
    /// restricted.
    Restricted { values: Vec<Value> },
    /// An alternative of the sub side no alternative of the sup side accepts.
    Variant { label: String },
    /// The sup side's range is tighter.
    Bound {
        measure: Measure,
        end: End,
        sub: Option<Limit>,
        sup: Option<Limit>,
    },
    /// The sup side requires a format the sub side does not.
    Format { sub: Option<String>, sup: String },
    /// The sup side requires a pattern the sub side does not.
    Pattern { sub: Option<String>, sup: String },
    /// The sup side requires unique items.
    Unique,
    /// The sup side requires a multiple the sub side does not.
    MultipleOf { sub: Option<String>, sup: String },
    /// A constraint the check does not reason about differs.
    Unsupported { keyword: String },
    /// The property's default differs (requests only).
    Default {
        sub: Option<Value>,
        sup: Option<Value>,
    },
}

/// One finding of the subset check, at a path below the compared schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// Where, relative to the compared schema.
    pub path: Vec<Segment>,
    /// The named schema holding the change, when there is one.
    pub type_name: Option<String>,
    pub(crate) fact: Fact,
    /// Whether the values in question certainly exist; `false` when the
    /// check could not decide.
    pub certain: bool,
}

impl Issue {
    pub(crate) fn new(fact: Fact) -> Issue {
        Issue {
            path: Vec::new(),
            type_name: None,
            fact,
            certain: true,
        }
    }

    pub(crate) fn unsure(fact: Fact) -> Issue {
        Issue {
            certain: false,
            ..Issue::new(fact)
        }
    }

    /// What the issue is about: its path, and for a required or rejected
    /// property, that property.
    pub fn subject(&self) -> Vec<Segment> {
        let mut subject = self.path.clone();
        if let Fact::Required { name, .. } | Fact::Rejected { name } = &self.fact {
            subject.push(Segment::Property(name.clone()));
        }
        subject
    }

    /// Whether this is about the types of values.
    pub fn is_types(&self) -> bool {
        matches!(self.fact, Fact::Types { .. })
    }

    /// Whether this is about a property being required or allowed.
    pub fn is_property(&self) -> bool {
        matches!(self.fact, Fact::Required { .. } | Fact::Rejected { .. })
    }

    /// Whether this is a changed default rather than a changed set of values.
    pub fn is_default(&self) -> bool {
        matches!(self.fact, Fact::Default { .. })
    }

    /// Whether the sub side has an alternative or `enum` value the sup
    /// side lacks, at the root: an added or removed variant of a union.
    pub fn is_root_variant(&self) -> bool {
        self.path.is_empty() && matches!(self.fact, Fact::Variant { .. } | Fact::Values { .. })
    }

    /// The change code and a sentence describing the issue as a change from
    /// the old contract to the new one; `sub_is_old` says which side of the
    /// check the old contract was.
    pub fn describe(&self, sub_is_old: bool) -> (&'static str, String) {
        // (old, new) from (sub, sup).
        fn order<T>(sub_is_old: bool, sub: T, sup: T) -> (T, T) {
            if sub_is_old {
                (sub, sup)
            } else {
                (sup, sub)
            }
        }
        match &self.fact {
            Fact::Required { name, sub_declares } => match (sub_is_old, sub_declares) {
                (true, true) => (
                    "property-became-required",
                    format!("`{name}` became required"),
                ),
                (true, false) => (
                    "required-property-added",
                    format!("required property `{name}` added"),
                ),
                (false, true) => (
                    "property-became-optional",
                    format!("`{name}` is no longer required, so it may be missing"),
                ),
                (false, false) => (
                    "required-property-removed",
                    format!("required property `{name}` removed"),
                ),
            },
            Fact::Rejected { name } => {
                if sub_is_old {
                    (
                        "property-removed",
                        format!("`{name}` removed, and properties not declared are rejected"),
                    )
                } else {
                    (
                        "property-added",
                        format!("`{name}` added, and the old schema rejects properties it does not declare"),
                    )
                }
            }
            Fact::Closed => {
                if sub_is_old {
                    (
                        "closed",
                        "properties not declared are now rejected".to_owned(),
                    )
                } else {
                    (
                        "opened",
                        "properties not declared are now accepted".to_owned(),
                    )
                }
            }
            Fact::Types { sub, sup } => {
                let missing = sub.minus(*sup);
                if missing == Types::NULL {
                    if sub_is_old {
                        ("no-longer-nullable", "no longer accepts null".to_owned())
                    } else {
                        ("became-nullable", "may now be null".to_owned())
                    }
                } else {
                    let (old, new) = order(sub_is_old, sub, sup);
                    ("type-changed", format!("type changed from {old} to {new}"))
                }
            }
            Fact::Values {
                values,
                sup_restricted,
            } => {
                let list = value_list(values);
                let plural = values.len() > 1;
                match (sub_is_old, sup_restricted) {
                    (true, true) => (
                        "enum-value-removed",
                        format!("{} {list} removed", if plural { "values" } else { "value" }),
                    ),
                    (true, false) => (
                        "enum-value-removed",
                        format!(
                            "{} {list} no longer accepted",
                            if plural { "values" } else { "value" }
                        ),
                    ),
                    (false, _) => (
                        "enum-value-added",
                        format!("{} {list} added", if plural { "values" } else { "value" }),
                    ),
                }
            }
            Fact::Restricted { values } => {
                let list = value_list(values);
                if sub_is_old {
                    ("became-enum", format!("now restricted to {list}"))
                } else {
                    ("no-longer-enum", format!("no longer restricted to {list}"))
                }
            }
            Fact::Variant { label } => {
                if sub_is_old {
                    ("variant-removed", format!("variant `{label}` removed"))
                } else {
                    ("variant-added", format!("variant `{label}` added"))
                }
            }
            Fact::Bound {
                measure,
                end,
                sub,
                sup,
            } => {
                let (old, new) = order(sub_is_old, sub, sup);
                let code = if sub_is_old {
                    "bound-tightened"
                } else {
                    "bound-loosened"
                };
                let prefix = if *measure == Measure::Length {
                    "length now"
                } else {
                    "now"
                };
                (
                    code,
                    format!(
                        "{prefix} {} (was {})",
                        limit_text(*measure, *end, new.as_ref()),
                        limit_text(*measure, *end, old.as_ref())
                    ),
                )
            }
            Fact::Format { sub, sup } => {
                let (old, new) = order(sub_is_old, sub.as_deref(), Some(sup.as_str()));
                match (old, new) {
                    (None, Some(new)) => ("format-added", format!("format `{new}` added")),
                    (Some(old), None) => ("format-removed", format!("format `{old}` removed")),
                    (old, new) => (
                        "format-changed",
                        format!(
                            "format changed from `{}` to `{}`",
                            old.unwrap_or_default(),
                            new.unwrap_or_default()
                        ),
                    ),
                }
            }
            Fact::Pattern { sub, sup } => {
                let (old, new) = order(sub_is_old, sub.as_deref(), Some(sup.as_str()));
                match (old, new) {
                    (None, Some(new)) => ("pattern-added", format!("pattern `{new}` added")),
                    (Some(old), None) => ("pattern-removed", format!("pattern `{old}` removed")),
                    (old, new) => (
                        "pattern-changed",
                        format!(
                            "pattern changed from `{}` to `{}`",
                            old.unwrap_or_default(),
                            new.unwrap_or_default()
                        ),
                    ),
                }
            }
            Fact::Unique => {
                if sub_is_old {
                    ("unique-items-added", "items must now be unique".to_owned())
                } else {
                    ("unique-items-removed", "items may now repeat".to_owned())
                }
            }
            Fact::MultipleOf { sub, sup } => {
                let (old, new) = order(sub_is_old, sub.as_deref(), Some(sup.as_str()));
                let multiple = |m: Option<&str>| match m {
                    Some(m) => format!("a multiple of {m}"),
                    None => "any number".to_owned(),
                };
                (
                    "multiple-of-changed",
                    format!("now {} (was {})", multiple(new), multiple(old)),
                )
            }
            Fact::Unsupported { keyword } => (
                "not-compared",
                format!("`{keyword}` differs, and accord cannot compare it"),
            ),
            Fact::Default { sub, sup } => {
                let (old, new) = order(sub_is_old, sub, sup);
                let message = match (old, new) {
                    (Some(old), Some(new)) => format!(
                        "default changed from {} to {}",
                        short_json(old),
                        short_json(new)
                    ),
                    (None, Some(new)) => format!("default {} added", short_json(new)),
                    (Some(old), None) => format!("default {} removed", short_json(old)),
                    (None, None) => "default changed".to_owned(),
                };
                ("default-changed", message)
            }
        }
    }
}

fn limit_text(measure: Measure, end: End, limit: Option<&Limit>) -> String {
    let one = limit.is_some_and(|l| l.value.to_string() == "1");
    let unit = match (measure, one) {
        (Measure::Value, _) => "",
        (Measure::Length, false) => " characters",
        (Measure::Length, true) => " character",
        (Measure::Items, false) => " items",
        (Measure::Items, true) => " item",
        (Measure::Properties, false) => " properties",
        (Measure::Properties, true) => " property",
    };
    match (end, limit) {
        (End::Lower, None) => "no minimum".to_owned(),
        (End::Upper, None) => "no maximum".to_owned(),
        (End::Lower, Some(limit)) if limit.exclusive => format!("more than {}{unit}", limit.value),
        (End::Lower, Some(limit)) => format!("at least {}{unit}", limit.value),
        (End::Upper, Some(limit)) if limit.exclusive => format!("less than {}{unit}", limit.value),
        (End::Upper, Some(limit)) => format!("at most {}{unit}", limit.value),
    }
}

fn value_list(values: &[Value]) -> String {
    let shown: Vec<String> = values
        .iter()
        .take(5)
        .map(|v| format!("`{}`", short(v)))
        .collect();
    let more = values.len().saturating_sub(5);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn short_json(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::schema::Num;

    #[test]
    fn paths_read_like_field_accesses() {
        let path = [
            Segment::Property("delivery".into()),
            Segment::Variant("ship".into()),
            Segment::Property("lines".into()),
            Segment::Items,
            Segment::Property("quantity".into()),
        ];
        assert_eq!(render_path(&path), "delivery<ship>.lines[].quantity");
        assert_eq!(
            render_path(&[Segment::Property("labels".into()), Segment::Values]),
            "labels.*"
        );
        assert_eq!(render_path(&[Segment::Index(1)]), "[1]");
        assert_eq!(render_path(&[]), "");
    }

    #[test]
    fn facts_read_as_changes_from_old_to_new() {
        let required = Issue::new(Fact::Required {
            name: "sku".into(),
            sub_declares: true,
        });
        assert_eq!(required.describe(true).0, "property-became-required");
        assert_eq!(required.describe(false).0, "property-became-optional");

        let nullable = Issue::new(Fact::Types {
            sub: Types::STRING.or(Types::NULL),
            sup: Types::STRING,
        });
        assert_eq!(nullable.describe(true).0, "no-longer-nullable");
        assert_eq!(nullable.describe(false).0, "became-nullable");

        let bound = Issue::new(Fact::Bound {
            measure: Measure::Value,
            end: End::Upper,
            sub: Some(Limit {
                value: Num(4294967295u64.into()),
                exclusive: false,
            }),
            sup: Some(Limit {
                value: Num(100.into()),
                exclusive: false,
            }),
        });
        assert_eq!(
            bound.describe(true),
            (
                "bound-tightened",
                "now at most 100 (was at most 4294967295)".to_owned()
            )
        );
        assert_eq!(
            bound.describe(false),
            (
                "bound-loosened",
                "now at most 4294967295 (was at most 100)".to_owned()
            )
        );
        let format = Issue::new(Fact::Format {
            sub: None,
            sup: "uuid".into(),
        });
        assert_eq!(format.describe(true).1, "format `uuid` added");
        assert_eq!(format.describe(false).1, "format `uuid` removed");
    }
}
