//! The name of a message header: shared when it is a name accord knows,
//! owned otherwise.
//!
//! Every event carries the same few header names (the CloudEvents
//! attributes, the trace context), and every delivery of every backend
//! builds a [`Headers`](super::Headers) map of them. A [`HeaderName`] holds
//! each name accord writes itself ([`HeaderName::known`]) as a `&'static
//! str`, so receiving an event copies none of them; any other name is
//! copied once. Either way it reads, compares, orders and hashes as its
//! text, so `headers.get("ce-id")` finds it.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::dead_letters::{REPLAY, REPLAY_GROUP};
use super::message::{
    DEAD_LETTER_ATTEMPTS, DEAD_LETTER_GROUP, DEAD_LETTER_REASON, DEAD_LETTER_TOPIC, KEY_HEADER,
};
use crate::events::envelope::{self, SUBJECT};

/// The W3C trace context's vendor header, which OpenTelemetry's propagator
/// writes beside `traceparent`.
const TRACESTATE: &str = "tracestate";

/// The names [`HeaderName::new`] shares rather than copies besides the
/// envelope's own ([`envelope::NAMES`], looked in first: every event
/// carries them): the dead-letter and replay headers, the key header of
/// the backends that carry the key as a header, and the headers an event
/// may carry beside the envelope's. Each is a valid, lower-case header name.
const OTHERS: [&str; 9] = [
    TRACESTATE,
    SUBJECT,
    DEAD_LETTER_REASON,
    DEAD_LETTER_ATTEMPTS,
    DEAD_LETTER_TOPIC,
    DEAD_LETTER_GROUP,
    REPLAY_GROUP,
    REPLAY,
    KEY_HEADER,
];

/// Every name [`HeaderName::new`] shares, most frequent first.
fn known_names() -> impl Iterator<Item = &'static str> {
    envelope::NAMES.into_iter().chain(OTHERS)
}

/// The name of a message header, by which [`Headers`](super::Headers) are
/// kept.
///
/// It is text, and compares, orders and hashes as its text ([`Borrow<str>`],
/// [`Deref<Target = str>`](Deref)), so a map of them is looked up with a
/// `&str`. A name fixed in the program ([`from_static`](Self::from_static))
/// and a name accord knows ([`known`](Self::known)) are shared, never
/// copied; other names are owned.
///
/// ```
/// use accord::broker::{HeaderName, Headers};
///
/// let mut headers = Headers::new();
/// headers.insert(HeaderName::new("ce-id"), "e-1");
/// headers.insert("x-tenant", "acme");
/// assert_eq!(headers.get("ce-id"), Some("e-1"));
/// assert_eq!(HeaderName::new("ce-id").as_static(), Some("ce-id"));
/// assert_eq!(HeaderName::new("x-tenant").as_static(), None);
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HeaderName(Cow<'static, str>);

impl HeaderName {
    /// A name fixed in the program, shared.
    ///
    /// # Panics
    ///
    /// When `name` is not a lower-case header name (letters `a`-`z`,
    /// digits and ``!#$%&'*+-.^_`|~``, at least one): every backend uses a
    /// static name as it is, without checking it again. In a `const` or
    /// `static`, that is a compile-time error.
    pub const fn from_static(name: &'static str) -> Self {
        assert!(
            is_lower_case_token(name),
            "a static header name is lower case: a-z, 0-9 and !#$%&'*+-.^_`|~"
        );
        HeaderName(Cow::Borrowed(name))
    }

    /// `name`: shared if it is a name accord knows ([`known`](Self::known)),
    /// copied otherwise. What a backend calls for each name it receives.
    pub fn new(name: &str) -> Self {
        match Self::known(name) {
            Some(known) => HeaderName(Cow::Borrowed(known)),
            None => HeaderName(Cow::Owned(name.to_owned())),
        }
    }

    /// The static name equal to `name`, if accord knows it: the CloudEvents
    /// attributes (`ce-specversion`, `ce-id`, `ce-source`, `ce-type`,
    /// `ce-time`, `ce-subject`, `content-type`), the trace context
    /// (`traceparent`, `tracestate`), the dead-letter and replay headers
    /// and `accord-key`. Each is a valid, lower-case header name.
    pub fn known(name: &str) -> Option<&'static str> {
        // Unequal lengths fail at once: a few instructions per name.
        known_names().find(|known| *known == name)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name, if it is shared ([`from_static`](Self::from_static), or
    /// [`known`](Self::known) when received): a lower-case header name,
    /// which a backend can use as a static header name of its own without
    /// checking or copying it.
    pub fn as_static(&self) -> Option<&'static str> {
        match self.0 {
            Cow::Borrowed(name) => Some(name),
            Cow::Owned(_) => None,
        }
    }

    /// The name as a `String` (a copy if it was shared).
    pub fn into_string(self) -> String {
        self.0.into_owned()
    }
}

/// Whether `name` is a lower-case HTTP token: what every backend takes as
/// a header name as it is.
const fn is_lower_case_token(name: &str) -> bool {
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !matches!(
            bytes[i],
            b'a'..=b'z'
                | b'0'..=b'9'
                | b'!'
                | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        ) {
            return false;
        }
        i += 1;
    }
    !bytes.is_empty()
}

impl Deref for HeaderName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for HeaderName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for HeaderName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Copies `name`, unless accord knows it ([`HeaderName::new`]).
impl From<&str> for HeaderName {
    fn from(name: &str) -> Self {
        HeaderName::new(name)
    }
}

/// Keeps `name`.
impl From<String> for HeaderName {
    fn from(name: String) -> Self {
        HeaderName(Cow::Owned(name))
    }
}

impl From<HeaderName> for String {
    fn from(name: HeaderName) -> Self {
        name.into_string()
    }
}

impl PartialEq<str> for HeaderName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for HeaderName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<HeaderName> for str {
    fn eq(&self, other: &HeaderName) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<HeaderName> for &str {
    fn eq(&self, other: &HeaderName) -> bool {
        *self == other.as_str()
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

/// As its text.
impl fmt::Debug for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// As its text.
impl Serialize for HeaderName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
}

/// From text; a name accord knows is shared.
impl<'de> Deserialize<'de> for HeaderName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;

        impl serde::de::Visitor<'_> for Name {
            type Value = HeaderName;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header name")
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<HeaderName, E> {
                Ok(HeaderName::new(name))
            }

            fn visit_string<E: serde::de::Error>(self, name: String) -> Result<HeaderName, E> {
                Ok(match HeaderName::known(&name) {
                    Some(known) => HeaderName::from_static(known),
                    None => HeaderName::from(name),
                })
            }
        }

        deserializer.deserialize_str(Name)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::events::envelope::ID;
    use crate::trace::TRACEPARENT;

    #[test]
    fn known_names_are_shared_and_others_owned() {
        for name in known_names() {
            assert_eq!(HeaderName::new(name).as_static(), Some(name));
            assert_eq!(
                name,
                name.to_ascii_lowercase(),
                "known names are lower case"
            );
        }
        let received = String::from("ce-id");
        let known = HeaderName::new(&received);
        assert_eq!(
            known.as_static(),
            Some(ID),
            "shared, not a copy of what arrived"
        );
        assert!(!std::ptr::eq(known.as_ptr(), received.as_ptr()));
        assert_eq!(HeaderName::new("x-tenant").as_static(), None);
        assert_eq!(HeaderName::from("CE-ID".to_owned()).as_static(), None);
        assert_eq!(
            HeaderName::from_static("x-mine").as_static(),
            Some("x-mine")
        );
    }

    #[test]
    fn a_static_name_is_a_lower_case_token() {
        assert!(is_lower_case_token("accord-dead-letter-reason"));
        for bad in ["", "Ce-Id", "a b", "a:b", "a\nb", "é"] {
            assert!(!is_lower_case_token(bad), "{bad:?}");
        }
        let refused = std::panic::catch_unwind(|| HeaderName::from_static("Not A Name"));
        assert!(refused.is_err());
    }

    #[test]
    fn a_name_compares_orders_and_looks_up_as_its_text() {
        let mut map = BTreeMap::new();
        map.insert(HeaderName::from("b".to_owned()), 2);
        map.insert(HeaderName::from_static("a"), 1);
        map.insert(HeaderName::new("ce-id"), 3);
        assert_eq!(map.get("a"), Some(&1));
        assert_eq!(map.get("ce-id"), Some(&3));
        let names: Vec<&str> = map.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["a", "b", "ce-id"]);
        assert_eq!(
            HeaderName::from_static("x"),
            HeaderName::from("x".to_owned())
        );
        assert_eq!(HeaderName::new("x"), "x");
        assert_eq!(
            format!("{} {:?}", HeaderName::new("x"), HeaderName::new("x")),
            "x \"x\""
        );
    }

    #[test]
    fn names_travel_as_json_text() {
        let map: BTreeMap<HeaderName, String> =
            serde_json::from_str(r#"{"ce-id":"e-1","x-a":"1","tr\u0061ceparent":"t"}"#).unwrap();
        assert_eq!(map.keys().next().unwrap().as_static(), Some(ID));
        assert_eq!(
            map.get_key_value("traceparent").unwrap().0.as_static(),
            Some(TRACEPARENT),
            "an escaped name is shared too"
        );
        assert_eq!(
            serde_json::to_string(&map).unwrap(),
            r#"{"ce-id":"e-1","traceparent":"t","x-a":"1"}"#
        );
    }
}
