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

use bytes::Bytes;
use rdkafka::message::{Header, Headers, OwnedHeaders};

use crate::broker::limits::{self, MessagePart, TooLarge, DEAD_LETTER_HEADROOM};
use crate::broker::{BrokerError, Headers as MessageHeaders, Message};

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

/// The record header name of an accord header.
fn to_record_name(name: &str) -> std::borrow::Cow<'_, str> {
    match name.strip_prefix(ACCORD_CE) {
        Some(attribute) => format!("{KAFKA_CE}{attribute}").into(),
        None => name.into(),
    }
}

/// The accord header name of a record header.
fn from_record_name(name: &str) -> String {
    match name.strip_prefix(KAFKA_CE) {
        Some(attribute) => format!("{ACCORD_CE}{attribute}"),
        None => name.to_owned(),
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
    let mut headers = OwnedHeaders::new_with_capacity(message.headers.len() + extra.len());
    let mut size = 0;
    for (name, value) in message
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain(extra.iter().copied())
    {
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
    let reserve = if event { DEAD_LETTER_HEADROOM } else { 0 };
    let key = message.key.as_ref().map_or(0, String::len);
    let size = RECORD_OVERHEAD + key + headers + message.payload.len();
    if size + reserve > max {
        let limit_name = if event {
            format!(
                "KafkaOptions::max_message_bytes ({max} bytes, the broker's message.max.bytes), \
                 less {reserve} bytes kept for the headers of a dead letter"
            )
        } else {
            format!("KafkaOptions::max_message_bytes ({max} bytes, the broker's message.max.bytes)")
        };
        let part = if headers > message.payload.len() {
            MessagePart::Headers {
                largest: limits::largest_header(
                    message
                        .headers
                        .iter()
                        .map(|(n, v)| (n.as_str(), n.len() + v.len())),
                ),
            }
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
pub(crate) fn from_kafka<H: Headers>(
    topic: &str,
    key: Option<&[u8]>,
    headers: Option<&H>,
    payload: Option<&[u8]>,
) -> (Message, u32) {
    let mut out = MessageHeaders::new();
    let mut attempt = 1;
    if let Some(headers) = headers {
        for header in headers.iter() {
            let value = String::from_utf8_lossy(header.value.unwrap_or_default());
            if header.key == ATTEMPT {
                attempt = value.parse().unwrap_or(1).max(1);
            } else {
                out.insert(from_record_name(header.key), value.into_owned());
            }
        }
    }
    let message = Message {
        topic: topic.to_owned(),
        key: key.map(|k| String::from_utf8_lossy(k).into_owned()),
        headers: out,
        payload: Bytes::copy_from_slice(payload.unwrap_or_default()),
    };
    (message, attempt)
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
    fn the_attempt_of_a_copy_is_read_and_left_out_of_the_message() {
        let message = Message::new("t", "x").with_header("a", "1");
        let (headers, _) = to_kafka(&message, &[(ATTEMPT, "3")], None).unwrap();
        let (back, attempt) = from_kafka("t", None, Some(&headers), Some(b"x"));
        assert_eq!((back, attempt), (message, 3));
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
