//! Messages to AMQP properties and back.
//!
//! - `ce-<attr>` headers travel as `cloudEvents:<attr>` application headers
//!   (the prefix of the CloudEvents AMQP binding); `cloudEvents_<attr>`, used
//!   by some AMQP 0.9.1 clients, is read as well.
//! - `content-type` travels as the AMQP `content_type` property, the
//!   CloudEvents `datacontenttype` in binary mode.
//! - `ce-id` is also set as the AMQP `message_id`, so operators and broker
//!   plugins can see it.
//! - Other headers travel as application headers of the same name, with
//!   string values.
//! - The message key travels as the `accord-key` header; the delivery
//!   attempt as `accord-attempt` and, on messages routed by queue name
//!   rather than by topic (retries, dead letters, replies), the topic as
//!   `accord-topic`. These and the headers RabbitMQ adds when it
//!   dead-letters a message (`x-death`, ...) are not shown as headers.
//!
//! Every publish is measured against the connection's frame first
//! ([`super::frame`]).

use std::borrow::Cow;

use bytes::Bytes;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::BasicProperties;

use super::super::limits::{self, MessagePart, TooLarge};
use super::super::message::KEY_HEADER;
use super::super::{BrokerError, EventEnvelope, HeaderName, Headers, Message};
use crate::events::envelope;

/// Header: the message key.
pub(crate) const KEY: &str = KEY_HEADER;
/// Header: the attempt the next delivery of this copy is (absent: 1).
pub(crate) const ATTEMPT: &str = "accord-attempt";
/// Header: the topic, on messages not routed by it.
pub(crate) const TOPIC: &str = "accord-topic";

const CLOUD_EVENTS_PREFIX: &str = "cloudEvents:";
const CLOUD_EVENTS_ALT_PREFIX: &str = "cloudEvents_";
const CE_PREFIX: &str = "ce-";
const CONTENT_TYPE: &str = "content-type";

/// Delivery mode 2: the broker writes the message to disk.
pub(crate) const PERSISTENT: u8 = 2;
/// Delivery mode 1: kept in memory only.
pub(crate) const TRANSIENT: u8 = 1;

/// Headers RabbitMQ adds that are not part of the message.
fn is_broker_header(name: &str) -> bool {
    name == "x-death"
        || name == "x-delivery-count"
        || name.starts_with("x-first-death-")
        || name.starts_with("x-last-death-")
}

fn is_internal_header(name: &str) -> bool {
    name == KEY || name == ATTEMPT || name == TOPIC
}

/// The longest AMQP short string: header names, the content type, ids.
const MAX_SHORT_STRING: usize = 255;

/// `text` as an AMQP short string; the header `header` of the message
/// otherwise is too large.
fn short(text: impl AsRef<str> + Into<String>, header: &str) -> Result<ShortString, TooLarge> {
    let size = text.as_ref().len();
    ShortString::try_new(text).map_err(|_| TooLarge {
        part: MessagePart::Header(header.to_owned()),
        size,
        limit: MAX_SHORT_STRING,
        limit_name: "AMQP for a short string (a header name, the content type)".to_owned(),
    })
}

/// The AMQP properties of `message` as published: persistent or not, with
/// its headers. A header (name and value) over `header_limit` bytes is
/// refused.
pub(crate) fn encode(
    message: &Message,
    delivery_mode: u8,
    header_limit: usize,
) -> Result<BasicProperties, BrokerError> {
    let key = message.key.as_deref().map(|key| (KEY, key));
    let headers = message
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v))
        .chain(key);
    encode_headers(headers, message.id(), delivery_mode, header_limit)
}

/// The AMQP properties of `event` as published: those of
/// [`EventEnvelope::to_message`] given to [`encode`], written without the
/// intermediate map.
pub(crate) fn encode_event(
    event: &EventEnvelope<'_>,
    delivery_mode: u8,
    header_limit: usize,
) -> Result<BasicProperties, BrokerError> {
    let key = event.key.map(|key| (KEY, key));
    let headers = event
        .headers()
        .map(|(name, value)| (name.as_str(), value))
        .chain(key);
    encode_headers(headers, Some(event.id), delivery_mode, header_limit)
}

fn encode_headers<'a>(
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    id: Option<&str>,
    delivery_mode: u8,
    header_limit: usize,
) -> Result<BasicProperties, BrokerError> {
    let mut table = FieldTable::default();
    let mut properties = BasicProperties::default().with_delivery_mode(delivery_mode);
    for (name, value) in headers {
        limits::check_header(name, value, header_limit, || {
            format!("accord for one header (AmqpOptions::max_header_bytes is {header_limit})")
        })?;
        if name == CONTENT_TYPE {
            properties = properties.with_content_type(short(value, name)?);
            continue;
        }
        table.insert(short(wire_name(name), name)?, text_value(value));
    }
    if let Some(id) = id {
        if let Ok(id) = ShortString::try_new(id) {
            properties = properties.with_message_id(id);
        }
    }
    Ok(properties.with_headers(table))
}

/// The name header `name` of a [`Message`] travels by in the AMQP table,
/// written in one allocation.
fn wire_name(name: &str) -> String {
    match name.strip_prefix(CE_PREFIX) {
        Some(attribute) => {
            let mut wire = String::with_capacity(CLOUD_EVENTS_PREFIX.len() + attribute.len());
            wire.push_str(CLOUD_EVENTS_PREFIX);
            wire.push_str(attribute);
            wire
        }
        None => name.to_owned(),
    }
}

/// The name a header of the AMQP table is known by in a [`Message`].
pub(super) fn decoded_name(wire_name: &str) -> String {
    match wire_name.strip_prefix(CLOUD_EVENTS_PREFIX) {
        Some(attribute) => format!("{CE_PREFIX}{attribute}"),
        None => wire_name.to_owned(),
    }
}

/// The text of a header value as sent by any client.
pub(crate) fn value_text(value: &AMQPValue) -> Option<String> {
    value_str(value).map(Cow::into_owned)
}

/// A header value as text, borrowed where it is text already.
fn value_str(value: &AMQPValue) -> Option<Cow<'_, str>> {
    Some(match value {
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()),
        AMQPValue::ShortString(s) => Cow::Borrowed(s.as_str()),
        AMQPValue::Boolean(b) => Cow::Owned(b.to_string()),
        AMQPValue::ShortShortInt(n) => Cow::Owned(n.to_string()),
        AMQPValue::ShortShortUInt(n) => Cow::Owned(n.to_string()),
        AMQPValue::ShortInt(n) => Cow::Owned(n.to_string()),
        AMQPValue::ShortUInt(n) => Cow::Owned(n.to_string()),
        AMQPValue::LongInt(n) => Cow::Owned(n.to_string()),
        AMQPValue::LongUInt(n) => Cow::Owned(n.to_string()),
        AMQPValue::LongLongInt(n) => Cow::Owned(n.to_string()),
        AMQPValue::Float(n) => Cow::Owned(n.to_string()),
        AMQPValue::Double(n) => Cow::Owned(n.to_string()),
        AMQPValue::Timestamp(n) => Cow::Owned(n.to_string()),
        AMQPValue::ByteArray(b) => String::from_utf8_lossy(b.as_slice()),
        AMQPValue::DecimalValue(_)
        | AMQPValue::FieldArray(_)
        | AMQPValue::FieldTable(_)
        | AMQPValue::Void => return None,
    })
}

/// A string header value.
pub(crate) fn text_value(text: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(text.as_bytes()))
}

fn header<'a>(properties: &'a BasicProperties, name: &str) -> Option<&'a AMQPValue> {
    properties.headers().as_ref()?.inner().get(name)
}

fn header_u32(properties: &BasicProperties, name: &str) -> Option<u32> {
    value_text(header(properties, name)?)?.trim().parse().ok()
}

/// The message a delivery carries, published on `routing_key`.
pub(crate) fn decode(routing_key: &str, properties: &BasicProperties, payload: Bytes) -> Message {
    let mut pairs = Vec::new();
    let mut key = None;
    let mut topic = None;
    if let Some(table) = properties.headers() {
        pairs.reserve(table.inner().len());
        for (name, value) in table {
            let name = name.as_str();
            if name == KEY {
                key = value_text(value);
                continue;
            }
            if name == TOPIC {
                topic = value_text(value);
                continue;
            }
            if is_internal_header(name) || is_broker_header(name) {
                continue;
            }
            let Some(value) = value_str(value) else {
                continue;
            };
            let attribute = name
                .strip_prefix(CLOUD_EVENTS_PREFIX)
                .or_else(|| name.strip_prefix(CLOUD_EVENTS_ALT_PREFIX));
            let name = match attribute {
                Some(attribute) => attribute_name(attribute),
                None => lower_case_name(name),
            };
            pairs.push((name, value));
        }
    }
    let mut headers = Headers::from(pairs);
    if let Some(content_type) = properties.content_type() {
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(HeaderName::from_static(CONTENT_TYPE), content_type.as_str());
        }
    }
    Message {
        topic: topic.unwrap_or_else(|| super::names::topic_of_routing_key(routing_key).to_owned()),
        key,
        headers,
        payload,
    }
}

/// The accord name of CloudEvents attribute `attribute` (`ce-<attribute>`,
/// lower case): shared for the attributes accord writes, one copy
/// otherwise.
fn attribute_name(attribute: &str) -> HeaderName {
    let known = [
        envelope::SPEC_VERSION,
        envelope::ID,
        envelope::SOURCE,
        envelope::TYPE,
        envelope::TIME,
        envelope::SUBJECT,
    ]
    .into_iter()
    .find(|name| name[CE_PREFIX.len()..] == *attribute);
    match known {
        Some(name) => HeaderName::from_static(name),
        None => {
            let mut name = [CE_PREFIX, attribute].concat();
            name.make_ascii_lowercase();
            HeaderName::from(name)
        }
    }
}

/// `name` in lower case: shared if accord knows it, one copy otherwise.
fn lower_case_name(name: &str) -> HeaderName {
    if !name.bytes().any(|b| b.is_ascii_uppercase()) {
        return HeaderName::new(name);
    }
    HeaderName::from(name.to_ascii_lowercase())
}

/// Which attempt a delivery is: the attempt recorded on this copy, plus
/// the deliveries of this copy the broker counted (`x-delivery-count` on
/// quorum queues) or, on classic queues, one when the broker marks it
/// redelivered.
pub(crate) fn attempt(properties: &BasicProperties, redelivered: bool) -> u32 {
    let recorded = header_u32(properties, ATTEMPT).unwrap_or(1).max(1);
    let returned = header_u32(properties, "x-delivery-count").unwrap_or(u32::from(redelivered));
    recorded.saturating_add(returned)
}

/// What a republished copy of a delivery says about itself.
pub(crate) enum Copy<'a> {
    /// The same message again; its next delivery is attempt `next_attempt`.
    Again { next_attempt: u32 },
    /// A dead letter, with these headers added.
    DeadLetter { headers: &'a [(&'a str, String)] },
}

/// The properties of a copy of a delivered message published to a queue
/// by name: the original properties with the topic recorded and RabbitMQ's
/// dead-lettering headers removed.
pub(crate) fn copy(original: &BasicProperties, topic: &str, copy: Copy<'_>) -> BasicProperties {
    let mut table = FieldTable::default();
    if let Some(headers) = original.headers() {
        for (name, value) in headers {
            if !is_broker_header(name.as_str()) && name.as_str() != ATTEMPT {
                table.insert(name.clone(), value.clone());
            }
        }
    }
    table.insert(TOPIC.into(), text_value(topic));
    match copy {
        Copy::Again { next_attempt } => {
            table.insert(ATTEMPT.into(), AMQPValue::LongUInt(next_attempt));
        }
        Copy::DeadLetter { headers } => {
            for (name, value) in headers {
                table.insert((*name).into(), text_value(value));
            }
        }
    }
    // Everything but the expiry (a copy waits in queues with their own TTL,
    // which a per-message expiry must not cut short) and the user id (which
    // the broker checks against the publishing connection's user).
    let mut properties = BasicProperties::default()
        .with_headers(table)
        .with_delivery_mode(PERSISTENT);
    if let Some(v) = original.content_type() {
        properties = properties.with_content_type(v.clone());
    }
    if let Some(v) = original.content_encoding() {
        properties = properties.with_content_encoding(v.clone());
    }
    if let Some(v) = original.priority() {
        properties = properties.with_priority(*v);
    }
    if let Some(v) = original.correlation_id() {
        properties = properties.with_correlation_id(v.clone());
    }
    if let Some(v) = original.reply_to() {
        properties = properties.with_reply_to(v.clone());
    }
    if let Some(v) = original.message_id() {
        properties = properties.with_message_id(v.clone());
    }
    if let Some(v) = original.timestamp() {
        properties = properties.with_timestamp(*v);
    }
    if let Some(v) = original.kind() {
        properties = properties.with_type(v.clone());
    }
    if let Some(v) = original.app_id() {
        properties = properties.with_app_id(v.clone());
    }
    properties
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Message {
        Message::new("orders.placed", "{}")
            .with_header("ce-id", "e-1")
            .with_header("ce-specversion", "1.0")
            .with_header("content-type", "application/json")
            .with_header("traceparent", "00-abc-def-01")
            .with_key("customer-7")
    }

    #[test]
    fn cloud_events_attributes_use_the_amqp_binding_prefix() {
        let properties = encode(&event(), PERSISTENT, 1024).unwrap();
        let table = properties.headers().clone().unwrap();
        assert!(table.contains_key("cloudEvents:id"));
        assert!(table.contains_key("cloudEvents:specversion"));
        assert!(table.contains_key("traceparent"));
        assert!(table.contains_key(KEY));
        assert!(!table.contains_key("content-type"));
        assert_eq!(
            properties.content_type().as_ref().map(ShortString::as_str),
            Some("application/json")
        );
        assert_eq!(
            properties.message_id().as_ref().map(ShortString::as_str),
            Some("e-1")
        );
        assert_eq!(*properties.delivery_mode(), Some(PERSISTENT));
    }

    #[test]
    fn an_event_envelope_encodes_as_its_message_does() {
        let extra = [(
            HeaderName::from_static("traceparent"),
            "00-abc-def-01".to_owned(),
        )];
        let event = EventEnvelope::sample(&extra);
        let direct = encode_event(&event, PERSISTENT, 1024).unwrap();
        let via_message = encode(&event.to_message(), PERSISTENT, 1024).unwrap();
        assert_eq!(direct, via_message);
        let back = decode("orders.placed", &direct, event.payload.clone());
        assert_eq!(back, event.to_message());
        assert!(
            back.headers.keys().all(|name| name.as_static().is_some()),
            "received, the envelope's names are shared: {:?}",
            back.headers.keys().collect::<Vec<_>>()
        );

        let long_source = "s".repeat(100);
        let long = EventEnvelope {
            source: &long_source,
            ..event.clone()
        };
        let error = encode_event(&long, PERSISTENT, 50).unwrap_err();
        assert!(error.to_string().contains("`ce-source`"), "{error}");
    }

    #[test]
    fn a_message_round_trips() {
        let message = event();
        let properties = encode(&message, PERSISTENT, 1024).unwrap();
        let back = decode("orders.placed", &properties, message.payload.clone());
        assert_eq!(back, message);
        assert_eq!(attempt(&properties, false), 1);
        assert_eq!(attempt(&properties, true), 2);
    }

    #[test]
    fn a_copy_keeps_the_message_and_counts_the_attempt() {
        let message = event();
        let mut original = encode(&message, PERSISTENT, 1024).unwrap();
        let mut table = original.headers().clone().unwrap();
        table.insert("x-death".into(), AMQPValue::Void);
        table.insert("x-first-death-queue".into(), text_value("q"));
        original = original.with_headers(table);
        let again = copy(&original, "orders.placed", Copy::Again { next_attempt: 3 });
        assert_eq!(attempt(&again, false), 3);
        let back = decode("accord.group.g", &again, message.payload.clone());
        assert_eq!(back, message, "the topic comes from the header");
        let table = again.headers().clone().unwrap();
        assert!(!table.contains_key("x-death"));
        assert!(!table.contains_key("x-first-death-queue"));

        let dead = copy(
            &again,
            "orders.placed",
            Copy::DeadLetter {
                headers: &[("accord-dead-letter-reason", "boom".to_owned())],
            },
        );
        assert_eq!(attempt(&dead, false), 1, "a dead letter starts afresh");
        let back = decode("g", &dead, message.payload.clone());
        assert_eq!(back.topic, "orders.placed");
        assert_eq!(back.header("accord-dead-letter-reason"), Some("boom"));
        assert_eq!(back.header("ce-id"), Some("e-1"));
    }

    #[test]
    fn what_amqp_cannot_carry_is_refused_naming_the_header() {
        let big_id = Message::new("t", "").with_header("ce-id", "x".repeat(200 * 1024));
        let error = encode(&big_id, PERSISTENT, 16 * 1024).unwrap_err();
        let BrokerError::TooLarge(too_large) = &error else {
            panic!("{error:?}");
        };
        assert_eq!(too_large.part, MessagePart::Header("ce-id".into()));
        assert_eq!(too_large.size, 200 * 1024 + 5);
        assert_eq!(too_large.limit, 16 * 1024);

        let long_name = Message::new("t", "").with_header("n".repeat(300), "v");
        let error = encode(&long_name, PERSISTENT, 16 * 1024).unwrap_err();
        assert!(error.to_string().contains("over the 255 bytes"), "{error}");
        let long_type = Message::new("t", "").with_header(CONTENT_TYPE, "t".repeat(300));
        let error = encode(&long_type, PERSISTENT, 16 * 1024).unwrap_err();
        assert!(error.to_string().contains("`content-type`"), "{error}");
    }

    #[test]
    fn foreign_headers_are_read_as_text_in_lower_case() {
        let mut table = FieldTable::default();
        table.insert("cloudEvents_id".into(), text_value("x"));
        table.insert("Retries".into(), AMQPValue::LongInt(4));
        table.insert("x-delivery-count".into(), AMQPValue::LongLongInt(2));
        let properties = BasicProperties::default().with_headers(table);
        let message = decode("t", &properties, Bytes::new());
        assert_eq!(message.header("ce-id"), Some("x"));
        assert_eq!(message.header("retries"), Some("4"));
        assert_eq!(message.header("x-delivery-count"), None);
        assert_eq!(
            attempt(&properties, true),
            3,
            "the quorum queue's count wins"
        );
    }
}
