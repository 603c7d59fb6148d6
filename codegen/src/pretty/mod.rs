//! Pretty JSON, byte for byte what `serde_json::to_string_pretty` writes
//! (two spaces a level), with each line break and its indentation written
//! as one slice instead of one write per level: the published documents
//! are deeply nested, and most of their lines are short.

mod sorted;

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

/// `value` as pretty JSON, without a final newline.
pub(crate) fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    let mut text = Vec::with_capacity(4096);
    write(&mut text, value);
    String::from_utf8(text).expect("serde_json writes UTF-8")
}

/// `value` as pretty JSON with a final newline, as the published files end.
pub(crate) fn to_file<T: Serialize + ?Sized>(value: &T) -> String {
    let mut text = Vec::with_capacity(4096);
    write(&mut text, value);
    text.push(b'\n');
    String::from_utf8(text).expect("serde_json writes UTF-8")
}

/// `value` as pretty JSON with every object's keys in order, as writing
/// `serde_json::to_value(value)` would give, with a final newline: for
/// types whose fields are not declared in key order.
pub(crate) fn to_file_sorted<T: Serialize + ?Sized>(value: &T) -> String {
    let mut text = Vec::with_capacity(4096);
    sorted::write(&mut text, value).expect("the descriptor always serializes");
    text.push(b'\n');
    String::from_utf8(text).expect("serde_json writes UTF-8")
}

fn write<T: Serialize + ?Sized>(text: &mut Vec<u8>, value: &T) {
    let mut serializer = Serializer::with_formatter(text, Pretty::default());
    value
        .serialize(&mut serializer)
        .expect("JSON values and the descriptor always serialize");
}

/// A line break and up to 32 levels of indentation; deeper levels take
/// more than one write.
const BREAK: &[u8; 65] = b"\n                                                                ";

/// serde_json's `PrettyFormatter` with a two-space indent.
#[derive(Default)]
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    /// A line break, then the indentation of the current depth.
    fn line<W: ?Sized + io::Write>(&self, writer: &mut W) -> io::Result<()> {
        let mut spaces = self.depth * 2;
        let first = spaces.min(BREAK.len() - 1);
        writer.write_all(&BREAK[..=first])?;
        spaces -= first;
        while spaces > 0 {
            let more = spaces.min(BREAK.len() - 1);
            writer.write_all(&BREAK[1..=more])?;
            spaces -= more;
        }
        Ok(())
    }
}

impl Pretty {
    /// Opens an array or object with `bracket`, one level deeper.
    fn open<W: ?Sized + io::Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    /// Closes an array or object with `bracket`, on a line of its own
    /// unless it was empty.
    fn close<W: ?Sized + io::Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.line(writer)?;
        }
        writer.write_all(bracket)
    }

    /// Starts an element or a key on a new line, after a comma unless it
    /// is the first.
    fn item<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        self.line(writer)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    /// A value nested `depth` levels, with arrays, objects and empty ones.
    fn nested(depth: usize) -> Value {
        let mut value = json!({"a": [1, {"b": []}, {}], "c": "d\n\"e\""});
        for level in 0..depth {
            value = if level % 2 == 0 {
                json!({ "k": value, "e": {} })
            } else {
                json!([value, [], 2.5, null])
            };
        }
        value
    }

    #[test]
    fn writes_what_serde_json_writes_at_every_depth() {
        for depth in [0, 1, 5, 31, 32, 33, 70] {
            let value = nested(depth);
            let expected = serde_json::to_string_pretty(&value).unwrap();
            assert_eq!(super::to_string(&value), expected, "depth {depth}");
            assert_eq!(super::to_file(&value), expected + "\n", "depth {depth}");
        }
    }
}
