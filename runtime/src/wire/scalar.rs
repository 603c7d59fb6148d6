//! The text of a scalar path parameter or header, written straight from
//! the value's `Serialize` without building a `serde_json::Value` first.
//!
//! Strings, integers, booleans, characters, unit enum variants, newtypes
//! and options of them are written here. Anything else (floats, 128-bit
//! integers, sequences, maps, a value whose `Serialize` fails) is reported
//! as [`Unsupported`], and the caller takes the slower path through
//! `serde_json`, whose spelling and errors stay the reference: for every
//! value written here, the text is the one that path gives.

use std::fmt;

use serde::ser::{Impossible, Serialize, Serializer};

/// A value this module does not write; the caller falls back to
/// `serde_json`.
#[derive(Debug)]
pub(crate) struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a plain scalar")
    }
}

impl std::error::Error for Unsupported {}

impl serde::ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Unsupported
    }
}

/// The text of `value`: `Ok(None)` for null (`None`, `()`), `Err` when the
/// value is not one this module writes.
pub(crate) fn scalar_text<T: Serialize + ?Sized>(value: &T) -> Result<Option<String>, Unsupported> {
    value.serialize(ScalarText)
}

struct ScalarText;

macro_rules! display {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(
            fn $method(self, v: $ty) -> Result<Self::Ok, Self::Error> {
                Ok(Some(v.to_string()))
            }
        )*
    };
}

macro_rules! unsupported {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(
            fn $method(self, _v: $ty) -> Result<Self::Ok, Self::Error> {
                Err(Unsupported)
            }
        )*
    };
}

impl Serializer for ScalarText {
    type Ok = Option<String>;
    type Error = Unsupported;
    type SerializeSeq = Impossible<Self::Ok, Unsupported>;
    type SerializeTuple = Impossible<Self::Ok, Unsupported>;
    type SerializeTupleStruct = Impossible<Self::Ok, Unsupported>;
    type SerializeTupleVariant = Impossible<Self::Ok, Unsupported>;
    type SerializeMap = Impossible<Self::Ok, Unsupported>;
    type SerializeStruct = Impossible<Self::Ok, Unsupported>;
    type SerializeStructVariant = Impossible<Self::Ok, Unsupported>;

    display! {
        serialize_bool: bool,
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64,
        serialize_char: char,
    }

    // Floats follow serde_json's number formatting (and its treatment of
    // non-finite values), and 128-bit integers its range checks.
    unsupported! {
        serialize_f32: f32, serialize_f64: f64,
        serialize_i128: i128, serialize_u128: u128,
        serialize_bytes: &[u8],
    }

    fn serialize_str(self, v: &str) -> Result<Self::Ok, Self::Error> {
        Ok(Some(v.to_owned()))
    }

    fn serialize_none(self) -> Result<Self::Ok, Self::Error> {
        Ok(None)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok, Self::Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Self::Ok, Self::Error> {
        Ok(None)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok, Self::Error> {
        Ok(None)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Self::Ok, Self::Error> {
        Ok(Some(variant.to_owned()))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Self::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<Self::Ok, Self::Error> {
        Err(Unsupported)
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        Err(Unsupported)
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Self::Error> {
        Err(Unsupported)
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Self::Error> {
        Err(Unsupported)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        Err(Unsupported)
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
        Err(Unsupported)
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Self::Error> {
        Err(Unsupported)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        Err(Unsupported)
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<Self::Ok, Self::Error> {
        Ok(Some(value.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::Value;

    use super::*;

    /// What the `serde_json` path gives for `value`, when it is a scalar.
    fn via_json<T: Serialize + ?Sized>(value: &T) -> Option<String> {
        match serde_json::to_value(value).unwrap() {
            Value::Null => None,
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => panic!("not a scalar: {other}"),
        }
    }

    fn same<T: Serialize + ?Sized>(value: &T) {
        let fast = scalar_text(value).expect("written directly");
        assert_eq!(fast, via_json(value));
    }

    #[derive(Serialize)]
    struct Id(u64);

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Status {
        OnHold,
    }

    #[derive(Serialize)]
    struct Unit;

    #[test]
    fn scalars_are_spelled_as_json_spells_them() {
        same(&0u8);
        same(&u64::MAX);
        same(&i64::MIN);
        same(&-7i32);
        same(&true);
        same(&'é');
        same("a b/c ü");
        same(&String::new());
        same(&Id(42));
        same(&Status::OnHold);
        same(&Some(Id(5)));
        same(&Option::<u8>::None);
        same(&());
        same(&Unit);
        same(&std::net::Ipv4Addr::LOCALHOST);
    }

    #[test]
    fn others_take_the_json_path() {
        assert!(scalar_text(&1.5f64).is_err());
        assert!(scalar_text(&1u128).is_err());
        assert!(scalar_text(&vec![1, 2]).is_err());
        assert!(scalar_text(&std::collections::BTreeMap::<u8, u8>::new()).is_err());
    }
}
