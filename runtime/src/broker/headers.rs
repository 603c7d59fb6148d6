//! Message headers: names and values kept in two allocations whatever
//! their number.
//!
//! Every delivery of every backend builds the headers of its message, and
//! every event carries the same seven or so (the CloudEvents attributes,
//! the trace context). Kept as a map of owned strings, that is an
//! allocation and a free per value per delivery; kept here, it is one
//! vector of names and one string holding every value one after another.
//! Names accord knows are shared, not copied ([`HeaderName`]).
//!
//! The names are kept sorted, so a lookup is a binary search and the
//! headers iterate, compare and serialize in the order of their names, as
//! a `BTreeMap` of them would. Headers decoded from the wire are collected
//! ([`FromIterator`]) and sorted once, so a message with many headers costs
//! `n log n` to decode, never `n²`.

use std::fmt;
use std::ops::Range;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::HeaderName;

/// Message headers, by lower-case name, each name once.
///
/// Looked up by text (`headers.get("ce-id")`); inserting a name already
/// present replaces its value. The names accord knows are shared rather
/// than copied (see [`HeaderName`]), and the values are kept in one
/// buffer, so a message's headers are two allocations however many it has.
///
/// ```
/// use accord::broker::{HeaderName, Headers};
///
/// let mut headers = Headers::new();
/// headers.insert("x-tenant", "acme");
/// headers.insert(HeaderName::new("ce-id"), "e-1");
/// assert_eq!(headers.get("ce-id"), Some("e-1"));
/// let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
/// assert_eq!(names, ["ce-id", "x-tenant"]);
///
/// let collected: Headers = [("b", "2"), ("a", "1"), ("b", "3")].into_iter().collect();
/// assert_eq!(collected.get("b"), Some("3"), "the last value of a name wins");
/// assert_eq!(collected.len(), 2);
/// ```
#[derive(Clone, Default)]
pub struct Headers {
    /// The names, sorted, each with where its value is in `text`.
    entries: Vec<(HeaderName, Range<usize>)>,
    /// The values, one after another; some bytes may belong to values
    /// since replaced or removed ([`Headers::dead`]).
    text: String,
    /// The bytes of `text` no entry points at.
    dead: usize,
}

/// How many bytes of replaced or removed values [`Headers`] keeps before
/// it copies the live ones into a new buffer (when they are also at least
/// half of it): small enough that a few changes never copy.
const COMPACT_AFTER: usize = 256;

/// Up to how many headers [`Headers::get`] scans them rather than
/// searching: an event carries about eight.
const LINEAR_LOOKUP: usize = 16;

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Headers::default()
    }

    /// No headers, with room for `count` of them whose values take
    /// `value_bytes` in all.
    pub fn with_capacity(count: usize, value_bytes: usize) -> Self {
        Headers {
            entries: Vec::with_capacity(count),
            text: String::with_capacity(value_bytes),
            dead: 0,
        }
    }

    /// How many headers there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(held, _)| held.as_str().cmp(name))
    }

    /// The value of header `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let range = if self.entries.len() <= LINEAR_LOOKUP {
            // Most names differ in length from the one looked for: a
            // scan compares few bytes, where a binary search compares
            // the common `ce-` prefix at every step.
            &self
                .entries
                .iter()
                .find(|(held, _)| held.len() == name.len() && held.as_str() == name)?
                .1
        } else {
            &self.entries[self.find(name).ok()?].1
        };
        Some(&self.text[range.clone()])
    }

    /// Whether there is a header `name`.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets header `name` to `value`, replacing any value it had.
    pub fn insert(&mut self, name: impl Into<HeaderName>, value: impl AsRef<str>) {
        let name = name.into();
        let value = value.as_ref();
        match self.find(&name) {
            Ok(at) => {
                // Appended: the old value's bytes are left unused, and
                // reclaimed once they are most of the buffer.
                let old = self.entries[at].1.len();
                self.entries[at].1 = self.push_text(value);
                self.dead += old;
                self.compact_if_wasteful();
            }
            Err(at) => {
                let range = self.push_text(value);
                self.entries.insert(at, (name, range));
            }
        }
    }

    /// Removes header `name`; its value, if there was one.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let at = self.find(name).ok()?;
        let (_, range) = self.entries.remove(at);
        let value = self.text[range.clone()].to_owned();
        self.dead += range.len();
        self.compact_if_wasteful();
        Some(value)
    }

    /// The headers, by name in order, with their values.
    pub fn iter(&self) -> HeadersIter<'_> {
        HeadersIter {
            entries: self.entries.iter(),
            text: &self.text,
        }
    }

    /// The names, in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &HeaderName> + '_ {
        self.entries.iter().map(|(name, _)| name)
    }

    fn push_text(&mut self, value: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(value);
        start..self.text.len()
    }

    /// Copies the live values into a new buffer once most of it is dead.
    fn compact_if_wasteful(&mut self) {
        if self.dead < COMPACT_AFTER || self.dead * 2 < self.text.len() {
            return;
        }
        let mut text = String::with_capacity(self.text.len() - self.dead);
        for (_, range) in &mut self.entries {
            let start = text.len();
            text.push_str(&self.text[range.clone()]);
            *range = start..text.len();
        }
        self.text = text;
        self.dead = 0;
    }

    /// Sorts the entries appended from `from` on into the rest, keeping
    /// the last value of each name.
    fn settle(&mut self, from: usize) {
        let sorted = self.entries[from..]
            .windows(2)
            .all(|pair| pair[0].0.as_str() < pair[1].0.as_str());
        let joins_in_order = from == 0
            || from == self.entries.len()
            || self.entries[from - 1].0.as_str() < self.entries[from].0.as_str();
        if sorted && joins_in_order {
            return;
        }
        // Stable: of the entries with one name, the last appended stays
        // last. Of each run of one name, the first entry is kept, with the
        // last one's value.
        self.entries
            .sort_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
        let mut dead = 0;
        self.entries.dedup_by(|later, kept| {
            if later.0 != kept.0 {
                return false;
            }
            std::mem::swap(&mut later.1, &mut kept.1);
            dead += later.1.len();
            true
        });
        self.dead += dead;
        self.compact_if_wasteful();
    }
}

/// The headers gathered in `pairs`, sized once from them (a decoder that
/// gathers a message's headers first builds them so); of a name given more
/// than once, the last value.
impl<V: AsRef<str>> From<Vec<(HeaderName, V)>> for Headers {
    fn from(pairs: Vec<(HeaderName, V)>) -> Self {
        let bytes = pairs.iter().map(|(_, value)| value.as_ref().len()).sum();
        let mut headers = Headers::with_capacity(pairs.len(), bytes);
        headers.extend(pairs);
        headers
    }
}

/// The headers of `iter`; of a name given more than once, the last value.
impl<N: Into<HeaderName>, V: AsRef<str>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut headers = Headers::new();
        headers.extend(iter);
        headers
    }
}

/// Adds the headers of `iter`, replacing those of the same name; of a name
/// given more than once, the last value wins.
impl<N: Into<HeaderName>, V: AsRef<str>> Extend<(N, V)> for Headers {
    fn extend<I: IntoIterator<Item = (N, V)>>(&mut self, iter: I) {
        let from = self.entries.len();
        let iter = iter.into_iter();
        self.entries.reserve(iter.size_hint().0);
        for (name, value) in iter {
            let range = self.push_text(value.as_ref());
            self.entries.push((name.into(), range));
        }
        self.settle(from);
    }
}

/// The headers of a message, by name in order, with their values.
#[derive(Debug, Clone)]
pub struct HeadersIter<'a> {
    entries: std::slice::Iter<'a, (HeaderName, Range<usize>)>,
    text: &'a str,
}

impl<'a> Iterator for HeadersIter<'a> {
    type Item = (&'a HeaderName, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let (name, range) = self.entries.next()?;
        Some((name, &self.text[range.clone()]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for HeadersIter<'_> {}

impl DoubleEndedIterator for HeadersIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let (name, range) = self.entries.next_back()?;
        Some((name, &self.text[range.clone()]))
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a HeaderName, &'a str);
    type IntoIter = HeadersIter<'a>;

    fn into_iter(self) -> HeadersIter<'a> {
        self.iter()
    }
}

/// The same names with the same values.
impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

/// As a map of names to values.
impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// As a map of names to values, in the order of the names.
impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (name, value) in self {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// From a map of names to values; of a name given twice, the last value.
impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Map;

        impl<'de> Visitor<'de> for Map {
            type Value = Headers;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of header names to text values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Headers, A::Error> {
                let mut headers = Headers::new();
                // Capped: the hint is the sender's to choose.
                headers
                    .entries
                    .reserve(access.size_hint().unwrap_or(0).min(64));
                while let Some((name, value)) = access.next_entry::<HeaderName, String>()? {
                    let range = headers.push_text(&value);
                    headers.entries.push((name, range));
                }
                headers.settle(0);
                Ok(headers)
            }
        }

        deserializer.deserialize_map(Map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(headers: &Headers) -> Vec<&str> {
        headers.keys().map(HeaderName::as_str).collect()
    }

    #[test]
    fn inserted_headers_are_found_by_name_and_kept_in_name_order() {
        let mut headers = Headers::new();
        headers.insert("x-b", "2");
        headers.insert(HeaderName::new("ce-id"), "e-1");
        headers.insert("x-a", String::from("1"));
        assert_eq!(names(&headers), ["ce-id", "x-a", "x-b"]);
        assert_eq!(headers.get("x-a"), Some("1"));
        assert_eq!(headers.get("ce-id"), Some("e-1"));
        assert_eq!(headers.get("x-c"), None);
        assert!(headers.contains_key("x-b"));
        assert_eq!(headers.len(), 3);
        assert_eq!(
            headers.keys().next().unwrap().as_static(),
            Some("ce-id"),
            "a known name is shared"
        );
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v)).collect();
        assert_eq!(pairs, [("ce-id", "e-1"), ("x-a", "1"), ("x-b", "2")]);
    }

    #[test]
    fn a_value_is_replaced_and_removed_whatever_its_length() {
        let mut headers = Headers::new();
        headers.insert("a", "first");
        headers.insert("b", "kept");
        headers.insert("a", "1");
        assert_eq!(headers.get("a"), Some("1"));
        headers.insert("a", "é");
        headers.insert("a", "e");
        assert_eq!(
            headers.get("a"),
            Some("e"),
            "a shorter value after a wider character"
        );
        headers.insert("a", "a longer value than before");
        assert_eq!(headers.get("a"), Some("a longer value than before"));
        assert_eq!(headers.get("b"), Some("kept"));
        assert_eq!(
            headers.remove("a").as_deref(),
            Some("a longer value than before")
        );
        assert_eq!(headers.remove("a"), None);
        assert_eq!(names(&headers), ["b"]);
        assert_eq!(headers.get("b"), Some("kept"));
    }

    #[test]
    fn the_buffer_stays_bounded_however_often_a_value_is_replaced() {
        let mut headers = Headers::new();
        headers.insert("kept", "k");
        for n in 0..10_000 {
            headers.insert("counter", format!("{n:0>width$}", width = 10 + n % 7));
            assert_eq!(headers.get("kept"), Some("k"));
        }
        assert_eq!(headers.get("counter"), Some("0000000009999"));
        assert!(
            headers.text.len() <= 2 * COMPACT_AFTER + 64,
            "{} bytes held for two short values",
            headers.text.len()
        );
    }

    #[test]
    fn collected_headers_are_sorted_once_and_the_last_value_of_a_name_wins() {
        let headers: Headers = [("z", "1"), ("a", "2"), ("z", "3"), ("m", "4"), ("a", "5")]
            .into_iter()
            .collect();
        assert_eq!(names(&headers), ["a", "m", "z"]);
        assert_eq!(headers.get("a"), Some("5"));
        assert_eq!(headers.get("z"), Some("3"));

        let mut more = headers.clone();
        more.extend([("b", "6"), ("z", "7")]);
        assert_eq!(names(&more), ["a", "b", "m", "z"]);
        assert_eq!(more.get("z"), Some("7"));
        more.extend([("zz", "8")]);
        assert_eq!(names(&more), ["a", "b", "m", "z", "zz"]);
    }

    #[test]
    fn a_name_is_found_among_few_headers_and_among_many() {
        for count in [
            0,
            1,
            2,
            LINEAR_LOOKUP - 1,
            LINEAR_LOOKUP,
            LINEAR_LOOKUP + 1,
            100,
        ] {
            let headers: Headers = (0..count)
                .map(|n| (format!("x-{n}"), n.to_string()))
                .collect();
            for n in 0..count {
                assert_eq!(headers.get(&format!("x-{n}")), Some(n.to_string().as_str()));
            }
            assert_eq!(headers.get("x-"), None, "{count} headers");
            assert_eq!(headers.get(&format!("x-{count}")), None, "{count} headers");
            assert_eq!(headers.contains_key("x-0"), count > 0);
        }
    }

    #[test]
    fn many_headers_are_collected_in_n_log_n() {
        // 100,000 distinct names in reverse order: quadratic insertion
        // would move five billion entries.
        let pairs: Vec<(String, String)> = (0..100_000)
            .rev()
            .map(|n| (format!("x-{n:06}"), n.to_string()))
            .collect();
        let headers: Headers = pairs.iter().map(|(n, v)| (n.as_str(), v)).collect();
        assert_eq!(headers.len(), 100_000);
        assert_eq!(headers.get("x-000042"), Some("42"));
        assert_eq!(names(&headers)[0], "x-000000");
    }

    #[test]
    fn headers_are_equal_by_content_whatever_the_order_they_were_built_in() {
        let mut one = Headers::new();
        one.insert("a", "1");
        one.insert("b", "2");
        let mut two = Headers::new();
        two.insert("b", "x");
        two.insert("a", "1");
        two.insert("b", "2");
        assert_eq!(one, two);
        two.insert("b", "3");
        assert_ne!(one, two);
        assert_eq!(format!("{one:?}"), r#"{"a": "1", "b": "2"}"#);
    }

    #[test]
    fn headers_travel_as_a_json_map() {
        let headers: Headers =
            serde_json::from_str(r#"{"x-a":"1","ce-id":"e-1","tr\u0061ceparent":"t","x-a":"2"}"#)
                .unwrap();
        assert_eq!(names(&headers), ["ce-id", "traceparent", "x-a"]);
        assert_eq!(headers.get("x-a"), Some("2"));
        assert_eq!(
            headers.keys().nth(1).unwrap().as_static(),
            Some("traceparent"),
            "an escaped name is shared too"
        );
        assert_eq!(
            serde_json::to_string(&headers).unwrap(),
            r#"{"ce-id":"e-1","traceparent":"t","x-a":"2"}"#
        );
        let error = serde_json::from_str::<Headers>(r#"{"a":1}"#).unwrap_err();
        assert!(error.to_string().contains("invalid type"), "{error}");
    }
}
