//! Between accord messages and NATS messages.
//!
//! Header names are kept exactly as given (NATS header names are case
//! sensitive). The key travels in the [`KEY`] header. Headers NATS itself
//! sets (`Nats-*`, such as `Nats-Msg-Id`) are not part of the accord
//! message and are left out when a message is received.

use async_nats::header::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;

use crate::broker::{BrokerError, Headers, Message};

/// Header: the message key.
pub const KEY: &str = "accord-key";

/// The prefix of the headers NATS reserves for itself.
const NATS_PREFIX: &str = "Nats-";

/// The NATS headers of `message`, its key included.
pub(crate) fn to_nats(message: &Message) -> Result<HeaderMap, BrokerError> {
    let mut map = HeaderMap::new();
    for (name, value) in &message.headers {
        insert(&mut map, name, value)?;
    }
    if let Some(key) = &message.key {
        insert(&mut map, KEY, key)?;
    }
    Ok(map)
}

/// Sets `name` to `value`, refusing what NATS cannot carry.
pub(crate) fn insert(map: &mut HeaderMap, name: &str, value: &str) -> Result<(), BrokerError> {
    let header: HeaderName = name.parse().ok().filter(|_| !name.is_empty()).ok_or_else(|| {
        BrokerError::Rejected(format!(
            "the header name {name:?} cannot travel over NATS (no control characters, spaces or `:`)"
        ))
    })?;
    let value: HeaderValue = value.parse().map_err(|_| {
        BrokerError::Rejected(format!(
            "the value of header `{name}` contains a line break, which NATS headers cannot carry"
        ))
    })?;
    map.insert(header, value);
    Ok(())
}

/// `text` with its line breaks replaced by spaces, so it fits in a header.
pub(crate) fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// The accord message for a NATS message received on `subject`.
pub(crate) fn from_nats(subject: &str, headers: Option<&HeaderMap>, payload: Bytes) -> Message {
    let mut out = Headers::new();
    let mut key = None;
    if let Some(headers) = headers {
        for (name, values) in headers.iter() {
            let name: &str = name.as_ref();
            let Some(value) = values.first() else {
                continue;
            };
            if name == KEY {
                key = Some(value.as_str().to_owned());
            } else if !name.starts_with(NATS_PREFIX) {
                out.insert(name.to_owned(), value.as_str().to_owned());
            }
        }
    }
    Message {
        topic: subject.to_owned(),
        key,
        headers: out,
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_key_survive_the_round_trip_with_their_case() {
        let message = Message::new("orders.placed", "{}")
            .with_header("ce-id", "42")
            .with_header("X-Mixed-Case", "Value With Spaces")
            .with_header("content-type", "application/json")
            .with_key("customer-7");
        let mut map = to_nats(&message).unwrap();
        map.insert("Nats-Msg-Id", "42");
        let back = from_nats("orders.placed", Some(&map), message.payload.clone());
        assert_eq!(back, message);
    }

    #[test]
    fn what_nats_cannot_carry_is_refused_not_mangled() {
        let bad_value = Message::new("t", "").with_header("x", "two\nlines");
        assert!(matches!(to_nats(&bad_value), Err(BrokerError::Rejected(_))));
        let bad_name = Message::new("t", "").with_header("a b", "v");
        assert!(matches!(to_nats(&bad_name), Err(BrokerError::Rejected(_))));
        assert_eq!(one_line("a\r\nb\nc"), "a  b c");
    }
}
