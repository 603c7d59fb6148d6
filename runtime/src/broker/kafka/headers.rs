//! Between accord messages and Kafka records.
//!
//! The message key is the record key, so the partitioner sends every
//! message of one key to one partition. Headers travel as record headers;
//! the CloudEvents attributes, `ce-*` in accord, travel as `ce_*` as the
//! CloudEvents Kafka protocol binding's binary content mode says
//! (`ce_id`, `ce_type`, ...), and `content-type` as itself. Records from
//! other Kafka producers in binary mode are read the same way. The attempt
//! of a copy that accord publishes again travels in [`ATTEMPT`], which is
//! not part of the accord message.

use std::borrow::Cow;

use bytes::Bytes;
use rdkafka::message::{Header, Headers, OwnedHeaders};

use crate::broker::limits::{self, MessagePart, TooLarge, DEAD_LETTER_HEADROOM};
use crate::broker::{BrokerError, EventEnvelope, HeaderName, Headers as MessageHeaders, Message};
use crate::events::envelope::{ID, SOURCE, SPEC_VERSION, SUBJECT, TIME, TYPE};

/// Record header: which delivery a copy of a record is, from 2.
pub(crate) const ATTEMPT: &str = "accord-attempt";

/// What a record adds to the bytes of its key, headers and payload, as the
/// broker counts it against `message.max.bytes`: the record batch header
/// (61 bytes) and the record's own lengths and offsets (at most 21).
pub(crate) const RECORD_OVERHEAD: usize = 82;

/// What each header adds to its name and value (their two lengths).
const HEADER_OVERHEAD: usize = 10;

const ACCORD_CE: &str = "ce-";
const KAFKA_CE: &str = "ce_";

/// The CloudEvents attributes accord writes, as accord and as record
/// headers name them: looked up, so the common names cost no copy (the
/// accord names are shared, built once).
static ATTRIBUTES: [(HeaderName, &str); 6] = [
    (HeaderName::from_static(SPEC_VERSION), "ce_specversion"),
    (HeaderName::from_static(ID), "ce_id"),
    (HeaderName::from_static(SOURCE), "ce_source"),
    (HeaderName::from_static(TYPE), "ce_type"),
    (HeaderName::from_static(TIME), "ce_time"),
    (HeaderName::from_static(SUBJECT), "ce_subject"),
];

/// The record header name of an accord header.
fn to_record_name(name: &str) -> Cow<'_, str> {
    if let Some((_, record)) = ATTRIBUTES.iter().find(|(accord, _)| *accord == name) {
        return Cow::Borrowed(record);
    }
    match name.strip_prefix(ACCORD_CE) {
        Some(attribute) => format!("{KAFKA_CE}{attribute}").into(),
        None => name.into(),
    }
}

/// The accord header name of a record header: shared for the names accord
/// knows, one copy otherwise.
fn from_record_name(name: &str) -> HeaderName {
    if let Some((accord, _)) = ATTRIBUTES.iter().find(|(_, record)| *record == name) {
        return accord.clone();
    }
    match name.strip_prefix(KAFKA_CE) {
        Some(attribute) => HeaderName::from(format!("{ACCORD_CE}{attribute}")),
        None => HeaderName::new(name),
    }
}

/// The record headers of `message` with `extra` added, and their size. With
/// `header_limit`, a header (name and value) over that many bytes is
/// refused.
pub(crate) fn to_kafka(
    message: &Message,
    extra: &[(&str, &str)],
    header_limit: Option<usize>,
) -> Result<(OwnedHeaders, usize), BrokerError> {
    let pairs = message
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v))
        .chain(extra.iter().copied());
    encode(pairs, message.headers.len() + extra.len(), header_limit)
}

/// The record headers of `event`, and their size: the same as those of
/// [`EventEnvelope::to_message`], written without building the message.
/// With `header_limit`, a header (name and value) over that many bytes is
/// refused.
pub(crate) fn event_to_kafka(
    event: &EventEnvelope<'_>,
    header_limit: Option<usize>,
) -> Result<(OwnedHeaders, usize), BrokerError> {
    let pairs = event.headers().map(|(name, value)| (name.as_str(), value));
    encode(pairs, ATTRIBUTES.len() + event.extra.len(), header_limit)
}

/// Writes `pairs` (accord names) as record headers, with room for
/// `capacity` of them.
fn encode<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    capacity: usize,
    header_limit: Option<usize>,
) -> Result<(OwnedHeaders, usize), BrokerError> {
    let mut headers = OwnedHeaders::new_with_capacity(capacity);
    let mut size = 0;
    for (name, value) in pairs {
        if let Some(limit) = header_limit {
            limits::check_header(name, value, limit, || {
                format!("accord for one header (KafkaOptions::max_header_bytes is {limit})")
            })?;
        }
        let name = to_record_name(name);
        size += name.len() + value.len() + HEADER_OVERHEAD;
        headers = headers.insert(Header {
            key: &name,
            value: Some(value),
        });
    }
    Ok((headers, size))
}

/// Refuses a record of `headers` bytes of headers, a key of `key` bytes
/// and a payload of `payload` bytes over `max` (less the dead-letter
/// headroom for an `event`, which may yet be dead-lettered).
pub(crate) fn check_size(
    message: &Message,
    headers: usize,
    max: usize,
    event: bool,
) -> Result<(), TooLarge> {
    let key = message.key.as_ref().map_or(0, String::len);
    check_record(key, headers, message.payload.len(), max, event, || {
        limits::largest_header(
            message
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), n.len() + v.len())),
        )
    })
}

/// [`check_size`] for an event published from its envelope.
pub(crate) fn check_event_size(
    event: &EventEnvelope<'_>,
    headers: usize,
    max: usize,
) -> Result<(), TooLarge> {
    let key = event.key.map_or(0, str::len);
    check_record(key, headers, event.payload.len(), max, true, || {
        limits::largest_header(
            event
                .headers()
                .map(|(n, v)| (n.as_str(), n.as_str().len() + v.len())),
        )
    })
}

/// Refuses a record of a `key`, `headers` and `payload` bytes over `max`
/// (less the dead-letter headroom for an `event`); `largest` names the
/// largest header when the headers are the larger part.
fn check_record(
    key: usize,
    headers: usize,
    payload: usize,
    max: usize,
    event: bool,
    largest: impl FnOnce() -> String,
) -> Result<(), TooLarge> {
    let reserve = if event { DEAD_LETTER_HEADROOM } else { 0 };
    let size = RECORD_OVERHEAD + key + headers + payload;
    if size + reserve > max {
        let limit_name = if event {
            format!(
                "KafkaOptions::max_message_bytes ({max} bytes, the broker's message.max.bytes), \
                 less {reserve} bytes kept for the headers of a dead letter"
            )
        } else {
            format!("KafkaOptions::max_message_bytes ({max} bytes, the broker's message.max.bytes)")
        };
        let part = if headers > payload {
            MessagePart::Headers { largest: largest() }
        } else {
            MessagePart::Message
        };
        return Err(TooLarge {
            part,
            size,
            limit: max.saturating_sub(reserve),
            limit_name,
        });
    }
    Ok(())
}

/// The accord message of a record on `topic`, and which attempt it is.
///
/// The headers are gathered first (reading a record's header costs more
/// than keeping it), then the message's headers are built from them in one
/// go, sized once. A name that comes twice keeps its last value.
pub(crate) fn from_kafka<H: Headers>(
    topic: &str,
    key: Option<&[u8]>,
    headers: Option<&H>,
    payload: Option<&[u8]>,
) -> (Message, u32) {
    let mut attempt = 1;
    let mut pairs = Vec::with_capacity(headers.map_or(0, Headers::count));
    if let Some(headers) = headers {
        for header in headers.iter() {
            let value = header.value.unwrap_or_default();
            if header.key == ATTEMPT {
                attempt = std::str::from_utf8(value)
                    .ok()
                    .and_then(|value| value.parse().ok())
                    .unwrap_or(1)
                    .max(1);
            } else {
                pairs.push((from_record_name(header.key), text(value)));
            }
        }
    }
    let message = Message {
        topic: topic.to_owned(),
        key: key.map(|key| text(key).into_owned()),
        headers: MessageHeaders::from(pairs),
        payload: Bytes::copy_from_slice(payload.unwrap_or_default()),
    };
    (message, attempt)
}

/// `bytes` as text: copied as they are when they are UTF-8 (nearly
/// always), with U+FFFD for what is not otherwise.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudevents_attributes_travel_as_ce_underscore_headers() {
        let message = Message::new("orders.placed", "{}")
            .with_header("ce-id", "42")
            .with_header("ce-type", "orders.placed")
            .with_header("content-type", "application/json")
            .with_header("traceparent", "00-1-2-01")
            .with_key("customer-7");
        let (headers, _) = to_kafka(&message, &[], None).unwrap();
        let names: Vec<&str> = headers.iter().map(|h| h.key).collect();
        assert_eq!(
            names,
            ["ce_id", "ce_type", "content-type", "traceparent"],
            "binary content mode of the Kafka protocol binding"
        );
        let (back, attempt) = from_kafka(
            "orders.placed",
            Some(b"customer-7"),
            Some(&headers),
            Some(b"{}"),
        );
        assert_eq!(back, message);
        assert_eq!(attempt, 1);
    }

    #[test]
    fn an_event_envelope_is_sent_as_its_message_is_and_received_as_it() {
        let extra = [
            (
                HeaderName::from_static(crate::trace::TRACEPARENT),
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
            ),
            (HeaderName::from("x-vendor".to_owned()), "a=1".to_owned()),
        ];
        let event = EventEnvelope::sample(&extra);
        let message = event.to_message();
        let (direct, direct_size) = event_to_kafka(&event, None).unwrap();
        let (via_message, message_size) = to_kafka(&message, &[], None).unwrap();
        let pairs = |headers: &OwnedHeaders| -> Vec<(String, Vec<u8>)> {
            let mut pairs: Vec<_> = headers
                .iter()
                .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                .collect();
            pairs.sort();
            pairs
        };
        assert_eq!(pairs(&direct), pairs(&via_message));
        assert_eq!(direct_size, message_size);
        let (back, attempt) = from_kafka(
            "orders.placed",
            Some(b"customer-7"),
            Some(&direct),
            Some(b"{}"),
        );
        assert_eq!((back, attempt), (message.clone(), 1));

        let long_source = "s".repeat(100);
        let long = EventEnvelope {
            source: &long_source,
            ..event.clone()
        };
        let error = event_to_kafka(&long, Some(50)).unwrap_err().to_string();
        assert!(error.contains("`ce-source`"), "{error}");
        assert_eq!(
            check_event_size(&event, direct_size, 1 << 20),
            Ok(()),
            "a small event fits"
        );
        let fits = RECORD_OVERHEAD + "customer-7".len() + direct_size + 2 + DEAD_LETTER_HEADROOM;
        assert!(check_event_size(&event, direct_size, fits).is_ok());
        let error = check_event_size(&event, direct_size, fits - 1).unwrap_err();
        assert_eq!(
            error.part,
            MessagePart::Headers {
                largest: "traceparent".to_owned()
            }
        );
        assert_eq!(
            check_size(&message, message_size, fits - 1, true).unwrap_err(),
            error,
            "refused as its message would be"
        );
    }

    #[test]
    fn the_attempt_of_a_copy_is_read_and_left_out_of_the_message() {
        let message = Message::new("t", "x").with_header("a", "1");
        let (headers, _) = to_kafka(&message, &[(ATTEMPT, "3")], None).unwrap();
        let (back, attempt) = from_kafka("t", None, Some(&headers), Some(b"x"));
        assert_eq!((back, attempt), (message, 3));
    }

    #[test]
    fn a_repeated_header_keeps_its_last_value_and_bytes_not_utf8_are_replaced() {
        let mut headers = OwnedHeaders::new();
        for (key, value) in [
            ("x-b", &b"first"[..]),
            ("ce_id", b"42"),
            ("x-a", b"\xff!"),
            ("x-b", b"second"),
            (ATTEMPT, b"x"),
        ] {
            headers = headers.insert(Header {
                key,
                value: Some(value),
            });
        }
        let (message, attempt) = from_kafka("t", Some(b"k\xff"), Some(&headers), None);
        let expected = Message::new("t", "")
            .with_header("x-b", "second")
            .with_header("ce-id", "42")
            .with_header("x-a", "\u{fffd}!")
            .with_key("k\u{fffd}");
        assert_eq!(
            (message, attempt),
            (expected, 1),
            "an attempt not a number is 1"
        );
    }

    #[test]
    fn sizes_are_checked_against_each_limit() {
        let big = Message::new("t", "").with_header("ce-id", "x".repeat(100));
        let error = to_kafka(&big, &[], Some(50)).unwrap_err().to_string();
        assert!(error.contains("the header `ce-id` is 105 bytes"), "{error}");

        let message = Message::new("t", vec![0u8; 1000]);
        let (_, headers) = to_kafka(&message, &[], None).unwrap();
        let fits = RECORD_OVERHEAD + 1000;
        assert!(check_size(&message, headers, fits, false).is_ok());
        let error = check_size(&message, headers, fits - 1, false).unwrap_err();
        assert_eq!((error.part, error.size), (MessagePart::Message, fits));
        let error = check_size(&message, headers, fits, true).unwrap_err();
        assert!(error.limit_name.contains("dead letter"), "{error}");
        assert!(error.limit_name.contains("message.max.bytes"), "{error}");
    }
}
