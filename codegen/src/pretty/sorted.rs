//! Pretty JSON with every object's keys in order, written straight from a
//! `Serialize` type: what serializing it into a `serde_json::Value` (whose
//! maps sort their keys) and writing that would give, without building
//! the value. Objects whose keys come in order, such as the JSON values
//! inside, are written as they come; one whose keys do not (a struct's
//! fields in declaration order) is put in order once it ends, by moving
//! its entries' bytes.

use std::borrow::Cow;

use serde::ser::{self, Serialize};
use serde_json::{Error, Value};

use super::BREAK;

/// `value` as pretty JSON with sorted keys, without a final newline.
pub(crate) fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(Writer { out, depth: 0 })
}

/// A line break and the indentation of `depth`.
fn line(out: &mut Vec<u8>, depth: usize) {
    let mut spaces = depth * 2;
    let first = spaces.min(BREAK.len() - 1);
    out.extend_from_slice(&BREAK[..=first]);
    spaces -= first;
    while spaces > 0 {
        let more = spaces.min(BREAK.len() - 1);
        out.extend_from_slice(&BREAK[1..=more]);
        spaces -= more;
    }
}

/// A scalar, written as serde_json writes it (compact and pretty agree).
fn scalar<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    serde_json::to_writer(out, value)
}

struct Writer<'o> {
    out: &'o mut Vec<u8>,
    depth: usize,
}

impl<'o> Writer<'o> {
    fn object(self) -> Object<'o> {
        self.out.push(b'{');
        let start = self.out.len();
        Object {
            out: self.out,
            depth: self.depth,
            start,
            entries: Vec::new(),
            in_order: true,
            value_start: 0,
        }
    }

    /// Starts `{"variant": `, for a variant with fields.
    fn variant(self, variant: &str) -> Result<(&'o mut Vec<u8>, usize), Error> {
        self.out.push(b'{');
        line(self.out, self.depth + 1);
        scalar(self.out, variant)?;
        self.out.extend_from_slice(b": ");
        Ok((self.out, self.depth))
    }

    fn array(self) -> Array<'o> {
        self.out.push(b'[');
        Array {
            out: self.out,
            depth: self.depth,
            empty: true,
        }
    }
}

impl<'o> ser::Serializer for Writer<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Array<'o>;
    type SerializeTuple = Array<'o>;
    type SerializeTupleStruct = Array<'o>;
    type SerializeTupleVariant = Variant<Array<'o>>;
    type SerializeMap = Object<'o>;
    type SerializeStruct = Object<'o>;
    type SerializeStructVariant = Variant<Object<'o>>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        scalar(self.out, &v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        scalar(self.out, &v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        scalar(self.out, &v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        scalar(self.out, &v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        scalar(self.out, &v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        scalar(self.out, &v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        scalar(self.out, &v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        scalar(self.out, &v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        scalar(self.out, &v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        // A value holds every number as an `f64`.
        scalar(self.out, &f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        scalar(self.out, &v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        scalar(self.out, &v)
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        scalar(self.out, v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let mut array = self.array();
        for byte in v {
            ser::SerializeSeq::serialize_element(&mut array, byte)?;
        }
        ser::SerializeSeq::end(array)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        scalar(self.out, variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let mut object = self.object();
        ser::SerializeMap::serialize_entry(&mut object, variant, value)?;
        ser::SerializeMap::end(object)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Array<'o>, Error> {
        Ok(self.array())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Array<'o>, Error> {
        Ok(self.array())
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Array<'o>, Error> {
        Ok(self.array())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Variant<Array<'o>>, Error> {
        let (out, depth) = self.variant(variant)?;
        Ok(Variant {
            inner: Writer {
                out,
                depth: depth + 1,
            }
            .array(),
            depth,
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Object<'o>, Error> {
        Ok(self.object())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Object<'o>, Error> {
        Ok(self.object())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Variant<Object<'o>>, Error> {
        let (out, depth) = self.variant(variant)?;
        Ok(Variant {
            inner: Writer {
                out,
                depth: depth + 1,
            }
            .object(),
            depth,
        })
    }
}

/// An array being written.
struct Array<'o> {
    out: &'o mut Vec<u8>,
    depth: usize,
    empty: bool,
}

impl<'o> Array<'o> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        line(self.out, self.depth + 1);
        value.serialize(Writer {
            out: self.out,
            depth: self.depth + 1,
        })
    }

    fn finish(self) -> Result<&'o mut Vec<u8>, Error> {
        if !self.empty {
            line(self.out, self.depth);
        }
        self.out.push(b']');
        Ok(self.out)
    }
}

impl ser::SerializeSeq for Array<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish().map(|_| ())
    }
}

impl ser::SerializeTuple for Array<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish().map(|_| ())
    }
}

impl ser::SerializeTupleStruct for Array<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish().map(|_| ())
    }
}

/// An object being written: each entry goes straight to the output, and
/// its key and place are kept to put the entries in order at the end if
/// they did not come in order.
struct Object<'o> {
    out: &'o mut Vec<u8>,
    depth: usize,
    /// Where the first entry starts, after `{`.
    start: usize,
    /// Each entry's key and where it starts and ends, its separator not
    /// included.
    entries: Vec<(Cow<'static, str>, usize, usize)>,
    /// Whether every key so far came after the one before.
    in_order: bool,
    /// Where the entry being written starts.
    value_start: usize,
}

impl<'o> Object<'o> {
    /// Starts an entry: its separator, indentation and key. Returns the
    /// output to write the value into.
    fn key(&mut self, key: Cow<'static, str>) -> Result<&mut Vec<u8>, Error> {
        if let Some((last, _, _)) = self.entries.last() {
            self.out.push(b',');
            if key.as_ref() <= last.as_ref() {
                self.in_order = false;
            }
        }
        line(self.out, self.depth + 1);
        self.value_start = self.out.len();
        scalar(self.out, key.as_ref())?;
        self.out.extend_from_slice(b": ");
        self.entries.push((key, self.value_start, 0));
        Ok(self.out)
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Writer {
            out: self.out,
            depth: self.depth + 1,
        })?;
        if let Some(entry) = self.entries.last_mut() {
            entry.2 = self.out.len();
        }
        Ok(())
    }

    fn finish(mut self) -> Result<&'o mut Vec<u8>, Error> {
        if !self.in_order {
            // A value keeps the last of equal keys, in key order.
            let written = self.out.split_off(self.start);
            let mut entries = std::mem::take(&mut self.entries);
            for entry in &mut entries {
                entry.1 -= self.start;
                entry.2 -= self.start;
            }
            entries.reverse();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            entries.dedup_by(|later, first| later.0 == first.0);
            for (i, (_, from, to)) in entries.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                line(self.out, self.depth + 1);
                self.out.extend_from_slice(&written[*from..*to]);
            }
            self.entries = entries;
        }
        if !self.entries.is_empty() {
            line(self.out, self.depth);
        }
        self.out.push(b'}');
        Ok(self.out)
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        // As a value's map takes keys.
        let key = match serde_json::to_value(key)? {
            Value::String(key) => key,
            Value::Number(key) => key.to_string(),
            Value::Bool(key) => key.to_string(),
            _ => return Err(ser::Error::custom("key must be a string")),
        };
        self.key(Cow::Owned(key)).map(|_| ())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish().map(|_| ())
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.key(Cow::Borrowed(key))?;
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish().map(|_| ())
    }
}

/// `{"variant": inner}`, for enum variants with fields.
struct Variant<I> {
    inner: I,
    /// The depth of the outer object.
    depth: usize,
}

impl<'o> Variant<Array<'o>> {
    fn close(self) -> Result<(), Error> {
        let out = self.inner.finish()?;
        line(out, self.depth);
        out.push(b'}');
        Ok(())
    }
}

impl<'o> Variant<Object<'o>> {
    fn close(self) -> Result<(), Error> {
        let out = self.inner.finish()?;
        line(out, self.depth);
        out.push(b'}');
        Ok(())
    }
}

impl ser::SerializeTupleVariant for Variant<Array<'_>> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.inner.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeStructVariant for Variant<Object<'_>> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.inner.key(Cow::Borrowed(key))?;
        self.inner.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_json::json;

    /// Writes `value` both ways: straight, and through a `Value`.
    fn both<T: Serialize>(value: &T) -> (String, String) {
        let mut straight = Vec::new();
        super::write(&mut straight, value).unwrap();
        let through = serde_json::to_string_pretty(&serde_json::to_value(value).unwrap()).unwrap();
        (String::from_utf8(straight).unwrap(), through)
    }

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Tagged {
        Plain,
        WithField { zeta: u8, alpha: Option<String> },
    }

    #[derive(Serialize)]
    enum External {
        Unit,
        Newtype(u32),
        Tuple(u8, String),
        Fields { b: bool, a: f32 },
    }

    #[derive(Serialize)]
    struct Inner {
        zed: Vec<u8>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        #[serde(flatten)]
        tagged: Tagged,
    }

    #[derive(Serialize)]
    struct Outer {
        version: &'static str,
        name: String,
        empty: Vec<u8>,
        nothing: BTreeMap<String, u8>,
        inner: Vec<Inner>,
        externals: Vec<External>,
        value: serde_json::Value,
        keys: BTreeMap<u16, char>,
        unit: (),
    }

    #[test]
    fn writes_what_a_value_writes() {
        let outer = Outer {
            version: "1",
            name: "a \"quoted\" name\n".into(),
            empty: Vec::new(),
            nothing: BTreeMap::new(),
            inner: vec![
                Inner {
                    zed: vec![1, 2],
                    skipped: None,
                    tagged: Tagged::Plain,
                },
                Inner {
                    zed: Vec::new(),
                    skipped: Some(3),
                    tagged: Tagged::WithField {
                        zeta: 9,
                        alpha: None,
                    },
                },
            ],
            externals: vec![
                External::Unit,
                External::Newtype(7),
                External::Tuple(1, "x".into()),
                External::Fields { b: true, a: 0.1 },
            ],
            value: json!({"b": [{"y": 1, "x": {}}], "a": null, "c": 1.5e300}),
            keys: BTreeMap::from([(10, 'a'), (9, 'b')]),
            unit: (),
        };
        let (straight, through) = both(&outer);
        assert_eq!(straight, through);
    }
}
