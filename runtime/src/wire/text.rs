//! One spelling per value where a call carries values as text: path
//! parameters, headers and the query string.
//!
//! The text formats accord reads (`serde_plain` for a path parameter or a
//! header, `serde_html_form` for the query) parse numbers with Rust's
//! `FromStr`, which takes `+1`, `01` and `-0` for the integers `1`, `1` and
//! `0`. One value then has many spellings, and a cache, a signature or a
//! log that keys on the text sees different requests where the service sees
//! one. [`Strict`](super::strict::Strict) wraps such a deserializer and
//! holds every scalar to one spelling:
//!
//! - **Integers** (every width, `i128` and `u128` too) must be written as
//!   Rust's `Display` writes them, which is what every accord client sends:
//!   decimal digits, a `-` only for negative values, no `+`, no leading
//!   zeros, `0` never signed.
//! - **Floats** must be a JSON number (`1.5`, `-2`, `1e-3`, `1E+21`) and
//!   finite: no `+`, no leading zeros, no `.5`, `5.`, `inf` or `NaN`. Their
//!   value is not held to one spelling: languages write the same float
//!   differently (`1e21`, `1e+21`, `1000000000000000000000`) and each
//!   spelling rounds to the same value.
//! - **Booleans** are `true` or `false`; the HTML checkbox value `on` that
//!   `serde_html_form` also takes is refused.
//! - Strings, characters and unit enum variants are taken as they are.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Visitor};

/// A Rust integer type, parsed from text and handed to a visitor.
pub(super) trait Integer:
    std::str::FromStr<Err = std::num::ParseIntError> + fmt::Display
{
    fn visit<'de, V: Visitor<'de>, E: de::Error>(self, visitor: V) -> Result<V::Value, E>;
}

/// A Rust float type, parsed from text and handed to a visitor.
pub(super) trait Float: std::str::FromStr<Err = std::num::ParseFloatError> {
    fn is_finite(&self) -> bool;
    fn visit<'de, V: Visitor<'de>, E: de::Error>(self, visitor: V) -> Result<V::Value, E>;
}

macro_rules! integers {
    ($($ty:ty => $visit:ident,)*) => {
        $(
            impl Integer for $ty {
                fn visit<'de, V: Visitor<'de>, E: de::Error>(self, visitor: V) -> Result<V::Value, E> {
                    visitor.$visit(self)
                }
            }
        )*
    };
}

integers! {
    i8 => visit_i8, i16 => visit_i16, i32 => visit_i32, i64 => visit_i64, i128 => visit_i128,
    u8 => visit_u8, u16 => visit_u16, u32 => visit_u32, u64 => visit_u64, u128 => visit_u128,
}

macro_rules! floats {
    ($($ty:ty => $visit:ident,)*) => {
        $(
            impl Float for $ty {
                fn is_finite(&self) -> bool {
                    <$ty>::is_finite(*self)
                }
                fn visit<'de, V: Visitor<'de>, E: de::Error>(self, visitor: V) -> Result<V::Value, E> {
                    visitor.$visit(self)
                }
            }
        )*
    };
}

floats! { f32 => visit_f32, f64 => visit_f64, }

/// Parses an integer and insists on its canonical spelling.
pub(super) struct IntegerText<V, T>(V, PhantomData<T>);

impl<V, T> IntegerText<V, T> {
    pub(super) fn new(visitor: V) -> Self {
        IntegerText(visitor, PhantomData)
    }
}

impl<'de, V: Visitor<'de>, T: Integer> Visitor<'de> for IntegerText<V, T> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer in canonical decimal form")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<V::Value, E> {
        let value: T = text.parse().map_err(E::custom)?;
        if !is_canonical_integer(text) {
            return Err(E::custom(format!(
                "not a canonical integer: write it as `{value}` (decimal digits, \
                 a `-` only when negative, no `+`, no leading zeros)"
            )));
        }
        value.visit(self.0)
    }
}

/// Parses a float written as a finite JSON number.
pub(super) struct FloatText<V, T>(V, PhantomData<T>);

impl<V, T> FloatText<V, T> {
    pub(super) fn new(visitor: V) -> Self {
        FloatText(visitor, PhantomData)
    }
}

impl<'de, V: Visitor<'de>, T: Float> Visitor<'de> for FloatText<V, T> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number written as JSON writes it")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<V::Value, E> {
        if !is_json_number(text) {
            return Err(E::custom(
                "not a number as JSON writes it (such as `1.5`, `-2` or `1e-3`: \
                 no `+`, no leading zeros, no `inf` or `NaN`)",
            ));
        }
        let value: T = text.parse().map_err(E::custom)?;
        if !value.is_finite() {
            return Err(E::custom("out of range for the number type"));
        }
        value.visit(self.0)
    }
}

/// Takes `true` and `false` only.
pub(super) struct BoolText<V>(pub(super) V);

impl<'de, V: Visitor<'de>> Visitor<'de> for BoolText<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`true` or `false`")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<V::Value, E> {
        match text {
            "true" => self.0.visit_bool(true),
            "false" => self.0.visit_bool(false),
            _ => Err(E::custom("not a boolean: write `true` or `false`")),
        }
    }
}

/// Whether `text`, which parses as an integer, is spelled as `Display`
/// writes that integer.
fn is_canonical_integer(text: &str) -> bool {
    if text == "0" {
        return true;
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.starts_with(['0', '+'])
}

/// Whether `text` is a number in JSON's grammar (RFC 8259, section 6):
/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(text: &str) -> bool {
    fn digits(bytes: &[u8]) -> usize {
        bytes.iter().take_while(|b| b.is_ascii_digit()).count()
    }
    let bytes = text.as_bytes();
    let mut i = usize::from(bytes.first() == Some(&b'-'));
    match bytes.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digits(&bytes[i..]),
        _ => return false,
    }
    if bytes.get(i) == Some(&b'.') {
        let n = digits(&bytes[i + 1..]);
        if n == 0 {
            return false;
        }
        i += 1 + n;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(&bytes[i..]);
        if n == 0 {
            return false;
        }
        i += n;
    }
    i == bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::strict::Strict;
    use serde::Deserialize;

    fn plain<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, String> {
        T::deserialize(Strict(serde_plain::Deserializer::new(text))).map_err(|e| e.to_string())
    }

    fn form<T: for<'de> Deserialize<'de>>(query: &str) -> Result<T, String> {
        T::deserialize(Strict(serde_html_form::Deserializer::from_bytes(
            query.as_bytes(),
        )))
        .map_err(|e| e.to_string())
    }

    #[test]
    fn integers_have_one_spelling() {
        assert_eq!(plain::<u64>("1"), Ok(1));
        assert_eq!(plain::<u64>("0"), Ok(0));
        assert_eq!(plain::<i32>("-17"), Ok(-17));
        assert_eq!(plain::<u64>(&u64::MAX.to_string()), Ok(u64::MAX));
        assert_eq!(plain::<i64>(&i64::MIN.to_string()), Ok(i64::MIN));
        assert_eq!(plain::<u128>(&u128::MAX.to_string()), Ok(u128::MAX));
        for (text, canonical) in [
            ("+1", "1"),
            ("01", "1"),
            ("00", "0"),
            ("-0", "0"),
            ("+0", "0"),
            ("-007", "-7"),
        ] {
            let error = plain::<i64>(text).unwrap_err();
            assert!(error.contains("not a canonical integer"), "{text}: {error}");
            assert!(error.contains(&format!("`{canonical}`")), "{text}: {error}");
        }
        assert!(plain::<u8>("+1").is_err());
        assert!(plain::<i128>("01").is_err());
        let error = plain::<u32>("x").unwrap_err();
        assert!(error.contains("invalid digit"), "{error}");
        let error = plain::<u8>("256").unwrap_err();
        assert!(error.contains("too large"), "{error}");
    }

    #[test]
    fn canonical_means_what_display_writes() {
        for text in [
            "0", "00", "-0", "+0", "1", "+1", "01", "-1", "-01", "10", "-10", "+10", "007", "-+1",
            "--1", "1-",
        ] {
            if let Ok(value) = text.parse::<i64>() {
                assert_eq!(
                    is_canonical_integer(text),
                    value.to_string() == text,
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn the_rule_reaches_newtypes_options_and_sequences() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Id(u64);
        #[derive(Deserialize, Debug, PartialEq)]
        struct Query {
            id: Option<Id>,
            limit: Option<u32>,
            #[serde(default)]
            tags: Vec<i16>,
        }
        assert_eq!(plain::<Id>("7"), Ok(Id(7)));
        assert!(plain::<Id>("07").is_err());
        assert_eq!(plain::<Option<u8>>("3"), Ok(Some(3)));
        assert!(plain::<Option<u8>>("+3").is_err());
        assert_eq!(
            form::<Query>("id=1&limit=2&tags=-3&tags=4"),
            Ok(Query {
                id: Some(Id(1)),
                limit: Some(2),
                tags: vec![-3, 4]
            })
        );
        assert_eq!(
            form::<Query>("limit="),
            Ok(Query {
                id: None,
                limit: None,
                tags: Vec::new()
            }),
            "an empty optional integer is still absent"
        );
        for query in ["id=01", "limit=%2B2", "tags=1&tags=-0"] {
            let error = form::<Query>(query).unwrap_err();
            assert!(error.contains("canonical"), "{query}: {error}");
        }
        // A form's `+` is a space, which no number has.
        assert!(form::<Query>("limit=+2").is_err());
    }

    #[test]
    fn floats_are_finite_json_numbers() {
        for (text, value) in [
            ("1.5", 1.5),
            ("-2", -2.0),
            ("0", 0.0),
            ("0.25", 0.25),
            ("1e-3", 0.001),
            ("1E+21", 1e21),
            ("1.0", 1.0),
        ] {
            assert_eq!(plain::<f64>(text), Ok(value), "{text}");
        }
        for text in [
            "+1", "01", ".5", "5.", "1e", "1e+", "-", "", "inf", "NaN", "infinity", "0x1", " 1",
        ] {
            let error = plain::<f64>(text).unwrap_err();
            assert!(error.contains("as JSON writes it"), "{text:?}: {error}");
        }
        let error = plain::<f32>("1e39").unwrap_err();
        assert!(error.contains("out of range"), "{error}");
        assert_eq!(
            plain::<f64>("1e400").unwrap_err(),
            "out of range for the number type"
        );
    }

    #[test]
    fn booleans_are_true_or_false() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Query {
            flag: bool,
        }
        assert_eq!(plain::<bool>("true"), Ok(true));
        assert_eq!(plain::<bool>("false"), Ok(false));
        assert_eq!(form::<Query>("flag=false"), Ok(Query { flag: false }));
        for text in ["on", "True", "1", "yes"] {
            assert!(plain::<bool>(text).is_err(), "{text}");
            assert!(form::<Query>(&format!("flag={text}")).is_err(), "{text}");
        }
    }

    #[test]
    fn strings_and_enums_are_taken_as_they_are() {
        #[derive(Deserialize, Debug, PartialEq)]
        #[serde(rename_all = "snake_case")]
        enum Status {
            Placed,
        }
        assert_eq!(plain::<String>("+01"), Ok("+01".to_owned()));
        assert_eq!(plain::<char>("é"), Ok('é'));
        assert_eq!(plain::<Status>("placed"), Ok(Status::Placed));
        assert!(plain::<Status>("Placed").is_err());
    }
}
