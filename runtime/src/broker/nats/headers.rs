//! Between accord messages and NATS messages.
//!
//! Header names are kept exactly as given (NATS header names are case
//! sensitive). The key travels in the [`KEY`] header. Headers NATS itself
//! sets (`Nats-*`, such as `Nats-Msg-Id`) are not part of the accord
//! message and are left out when a message is received.

use async_nats::header::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;

use crate::broker::limits::{self, MessagePart, TooLarge, DEAD_LETTER_HEADROOM};
use crate::broker::message::KEY_HEADER;
use crate::broker::{BrokerError, EventEnvelope, HeaderName as MessageName, Headers, Message};

/// Header: the message key.
pub const KEY: &str = KEY_HEADER;

/// Header: the id JetStream drops a repeated publish by.
pub(crate) const MESSAGE_ID: &str = "Nats-Msg-Id";

/// The prefix of the headers NATS reserves for itself.
const NATS_PREFIX: &str = "Nats-";

/// The most bytes of headers JetStream stores with a message (the header
/// block as sent, counted in 16 bits by the server).
pub(crate) const JETSTREAM_MAX_HEADERS: usize = u16::MAX as usize;

/// The NATS headers of `message`, its key included. With `header_limit`,
/// a header (name and value) over that many bytes is refused.
pub(crate) fn to_nats(
    message: &Message,
    header_limit: Option<usize>,
) -> Result<HeaderMap, BrokerError> {
    let mut map = HeaderMap::new();
    let key = message.key.as_ref().map(|key| (KEY, key));
    for (name, value) in message
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v))
        .chain(key.map(|(n, v)| (n, v.as_str())))
    {
        if let Some(limit) = header_limit {
            limits::check_header(name, value, limit, || {
                format!("accord for one header (NatsOptions::max_header_bytes is {limit})")
            })?;
        }
        insert(&mut map, name, value)?;
    }
    Ok(map)
}

/// The NATS headers of `event`, its key included: those of
/// [`EventEnvelope::to_message`] passed to [`to_nats`], without the
/// intermediate map. Static names are used as they are.
pub(crate) fn event_to_nats(
    event: &EventEnvelope<'_>,
    header_limit: Option<usize>,
) -> Result<HeaderMap, BrokerError> {
    static KEY_NAME: MessageName = MessageName::from_static(KEY);
    let mut map = HeaderMap::new();
    let key = event.key.map(|key| (&KEY_NAME, key));
    for (name, value) in event.headers().chain(key) {
        if let Some(limit) = header_limit {
            limits::check_header(name, value, limit, || {
                format!("accord for one header (NatsOptions::max_header_bytes is {limit})")
            })?;
        }
        match name.as_static() {
            Some(name) => {
                let value: HeaderValue = value.parse().map_err(|_| value_error(name))?;
                map.insert(HeaderName::from_static(name), value);
            }
            None => insert(&mut map, name, value)?,
        }
    }
    Ok(map)
}

/// The size of `map` as NATS sends it: the `NATS/1.0` header block.
pub(crate) fn wire_len(map: &HeaderMap) -> usize {
    let mut len = b"NATS/1.0\r\n".len() + b"\r\n".len();
    for (name, values) in map.iter() {
        let name: &str = name.as_ref();
        for value in values {
            len += name.len() + b": ".len() + value.as_str().len() + b"\r\n".len();
        }
    }
    len
}

/// Where a message goes, for the limits that apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// An event published to a stream: JetStream's header limit and the
    /// server's `max_payload` apply, each less [`DEAD_LETTER_HEADROOM`] so
    /// that the event can be dead-lettered.
    Event,
    /// A copy stored in a stream (a dead letter): the limits themselves.
    Copy,
    /// A request or reply over core NATS: `max_payload` only.
    Core,
}

/// Refuses a message with headers `map` and a payload of `payload` bytes
/// that the server would not take (or, for an event, could not take again
/// as a dead letter).
pub(crate) fn check_size(
    map: &HeaderMap,
    payload: usize,
    max_payload: usize,
    bound: Bound,
) -> Result<(), TooLarge> {
    let reserve = if bound == Bound::Event {
        DEAD_LETTER_HEADROOM
    } else {
        0
    };
    let kept = |limit: &str| {
        if reserve == 0 {
            limit.to_owned()
        } else {
            format!("{limit}, less {reserve} bytes kept for the headers of a dead letter")
        }
    };
    let headers = if map.is_empty() { 0 } else { wire_len(map) };
    if bound != Bound::Core && headers + reserve > JETSTREAM_MAX_HEADERS {
        return Err(TooLarge {
            part: MessagePart::Headers {
                largest: largest(map),
            },
            size: headers,
            limit: JETSTREAM_MAX_HEADERS.saturating_sub(reserve),
            limit_name: kept(&format!(
                "JetStream for the headers of a stored message ({JETSTREAM_MAX_HEADERS} bytes)"
            )),
        });
    }
    let size = headers + payload;
    if size + reserve > max_payload {
        return Err(TooLarge {
            part: MessagePart::Message,
            size,
            limit: max_payload.saturating_sub(reserve),
            limit_name: kept(&format!(
                "the NATS server's max_payload ({max_payload} bytes)"
            )),
        });
    }
    Ok(())
}

fn largest(map: &HeaderMap) -> String {
    limits::largest_header(map.iter().map(|(name, values)| {
        let name: &str = name.as_ref();
        let size = values.iter().map(|v| v.as_str().len()).sum::<usize>();
        (name, name.len() + size)
    }))
}

/// Sets `name` to `value`, refusing what NATS cannot carry.
pub(crate) fn insert(map: &mut HeaderMap, name: &str, value: &str) -> Result<(), BrokerError> {
    let header: HeaderName = name.parse().ok().filter(|_| !name.is_empty()).ok_or_else(|| {
        BrokerError::Rejected(format!(
            "the header name {name:?} cannot travel over NATS (no control characters, spaces or `:`)"
        ))
    })?;
    let value: HeaderValue = value.parse().map_err(|_| value_error(name))?;
    map.insert(header, value);
    Ok(())
}

fn value_error(name: &str) -> BrokerError {
    BrokerError::Rejected(format!(
        "the value of header `{name}` contains a line break, which NATS headers cannot carry"
    ))
}

/// The accord message for a NATS message received on `subject`.
pub(crate) fn from_nats(subject: &str, headers: Option<&HeaderMap>, payload: Bytes) -> Message {
    let mut out = Headers::new();
    let mut key = None;
    if let Some(headers) = headers {
        // Sized once: the values go into one buffer.
        let (count, bytes) = headers
            .iter()
            .filter_map(|(_, values)| values.first())
            .fold((0, 0), |(count, bytes), value| {
                (count + 1, bytes + value.as_str().len())
            });
        out = Headers::with_capacity(count, bytes);
        out.extend(headers.iter().filter_map(|(name, values)| {
            let name: &str = name.as_ref();
            let value = values.first()?.as_str();
            if name == KEY {
                key = Some(value.to_owned());
                None
            } else if name.starts_with(NATS_PREFIX) {
                None
            } else {
                // The envelope's names are shared, not copied.
                Some((MessageName::new(name), value))
            }
        }));
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
        let mut map = to_nats(&message, None).unwrap();
        map.insert("Nats-Msg-Id", "42");
        let back = from_nats("orders.placed", Some(&map), message.payload.clone());
        assert_eq!(back, message);
    }

    #[test]
    fn an_event_envelope_is_sent_as_its_message_is_and_received_as_it() {
        let extra = [
            (
                MessageName::from_static(crate::trace::TRACEPARENT),
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
            ),
            (MessageName::from("x-vendor".to_owned()), "a=1".to_owned()),
        ];
        let event = EventEnvelope::sample(&extra);
        let message = event.to_message();
        let direct = event_to_nats(&event, None).unwrap();
        let via_message = to_nats(&message, None).unwrap();
        assert_eq!(wire_len(&direct), wire_len(&via_message));
        let back = from_nats("orders.placed", Some(&direct), event.payload.clone());
        assert_eq!(back, message);
        assert_eq!(back.id(), Some("e-1"));
        let shared: Vec<&str> = back
            .headers
            .keys()
            .filter_map(MessageName::as_static)
            .collect();
        assert_eq!(
            shared,
            [
                "ce-id",
                "ce-source",
                "ce-specversion",
                "ce-time",
                "ce-type",
                "content-type",
                "traceparent"
            ],
            "received, the envelope's names are shared, the others copied"
        );

        let long_source = "s".repeat(100);
        let long = EventEnvelope {
            source: &long_source,
            ..event.clone()
        };
        let error = event_to_nats(&long, Some(50)).unwrap_err();
        assert!(error.to_string().contains("`ce-source`"), "{error}");
        let bad = [(MessageName::from("a b".to_owned()), "v".to_owned())];
        let event = EventEnvelope {
            extra: &bad,
            ..event
        };
        assert!(matches!(
            event_to_nats(&event, None),
            Err(BrokerError::Rejected(_))
        ));
    }

    #[test]
    fn what_nats_cannot_carry_is_refused_not_mangled() {
        let bad_value = Message::new("t", "").with_header("x", "two\nlines");
        assert!(matches!(
            to_nats(&bad_value, None),
            Err(BrokerError::Rejected(_))
        ));
        let bad_name = Message::new("t", "").with_header("a b", "v");
        assert!(matches!(
            to_nats(&bad_name, None),
            Err(BrokerError::Rejected(_))
        ));
    }

    #[test]
    fn the_header_block_is_measured_as_sent() {
        let message = Message::new("t", "")
            .with_header("ce-id", "42")
            .with_key("k");
        let map = to_nats(&message, None).unwrap();
        // "NATS/1.0\r\n" "ce-id: 42\r\n" "accord-key: k\r\n" "\r\n"
        assert_eq!(wire_len(&map), 10 + 11 + 15 + 2);
    }

    #[test]
    fn sizes_are_checked_against_each_limit() {
        let big = Message::new("t", "").with_header("ce-id", "x".repeat(100));
        let error = to_nats(&big, Some(50)).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("the header `ce-id` is 105 bytes"),
            "{error}"
        );
        let key = Message::new("t", "").with_key("k".repeat(100));
        assert!(to_nats(&key, Some(50))
            .unwrap_err()
            .to_string()
            .contains("`accord-key`"));

        let map = to_nats(
            &Message::new("t", "").with_header("h", "x".repeat(70_000)),
            None,
        )
        .unwrap();
        let error = check_size(&map, 0, 1 << 20, Bound::Copy).unwrap_err();
        assert!(matches!(error.part, MessagePart::Headers { ref largest } if largest == "h"));
        assert!(check_size(&map, 0, 1 << 20, Bound::Core).is_ok());
        assert!(check_size(&map, 1 << 20, 1 << 20, Bound::Core).is_err());

        let map = to_nats(&Message::new("t", "").with_header("h", "v"), None).unwrap();
        let fits = 1000 - wire_len(&map);
        assert!(check_size(&map, fits, 1000, Bound::Copy).is_ok());
        assert!(check_size(&map, fits + 1, 1000, Bound::Copy).is_err());
        let error = check_size(&map, 10, DEAD_LETTER_HEADROOM, Bound::Event).unwrap_err();
        assert_eq!(error.part, MessagePart::Message);
        assert!(error.limit_name.contains("dead letter"), "{error}");
    }
}
