//! Messages as published and delivered, and how a group subscribes.

use std::time::Duration;

use bytes::Bytes;

use super::{HeaderName, Headers};

/// Header: the message key, on the backends that carry it as a header
/// (NATS, RabbitMQ); it is [`Message::key`], not one of the headers.
pub(crate) const KEY_HEADER: &str = "accord-key";

/// Header: why a message was dead-lettered.
pub const DEAD_LETTER_REASON: &str = "accord-dead-letter-reason";
/// Header: how many delivery attempts a dead-lettered message had.
pub const DEAD_LETTER_ATTEMPTS: &str = "accord-dead-letter-attempts";
/// Header: the topic a dead-lettered message was published on.
pub const DEAD_LETTER_TOPIC: &str = "accord-dead-letter-topic";
/// Header: the group that gave up on a dead-lettered message.
pub const DEAD_LETTER_GROUP: &str = "accord-dead-letter-group";

/// A message as published and delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The topic (NATS subject; AMQP routing key).
    pub topic: String,
    /// Orders and partitions deliveries, where the backend supports it.
    pub key: Option<String>,
    /// Headers, including the CloudEvents attributes.
    pub headers: Headers,
    /// The body.
    pub payload: Bytes,
}

impl Message {
    /// A message with no key and no headers.
    pub fn new(topic: impl Into<String>, payload: impl Into<Bytes>) -> Self {
        Message {
            topic: topic.into(),
            key: None,
            headers: Headers::new(),
            payload: payload.into(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<HeaderName>, value: impl AsRef<str>) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Sets the key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The message id: the CloudEvents `ce-id` header.
    pub fn id(&self) -> Option<&str> {
        self.header(crate::events::envelope::ID)
    }
}

/// An event as a publisher hands it to a broker: the CloudEvents
/// attributes (binary content mode) as borrowed fields, which a backend
/// writes straight into its own header type instead of going through
/// [`Message`]'s owned map. [`Message`] is what a backend without its own
/// encoding receives ([`EventEnvelope::to_message`]), and what every
/// subscriber receives.
#[derive(Debug, Clone)]
pub struct EventEnvelope<'a> {
    /// The topic; also the event type (`ce-type`).
    pub topic: &'a str,
    /// Orders and partitions deliveries, where the backend supports it.
    pub key: Option<&'a str>,
    /// `ce-id`.
    pub id: &'a str,
    /// `ce-source`.
    pub source: &'a str,
    /// `ce-time` (RFC 3339).
    pub time: &'a str,
    /// Further headers, by lower-case name: the trace context.
    pub extra: &'a [(HeaderName, String)],
    /// The body: the event data as JSON.
    pub payload: Bytes,
}

/// The names of [`EventEnvelope::headers`]' CloudEvents attributes: those
/// of [`NAMES`](crate::events::envelope::NAMES) but its last, the trace
/// context, which is in [`EventEnvelope::extra`].
static ATTRIBUTE_NAMES: [HeaderName; 6] = {
    use crate::events::envelope::NAMES;
    [
        HeaderName::from_static(NAMES[0]),
        HeaderName::from_static(NAMES[1]),
        HeaderName::from_static(NAMES[2]),
        HeaderName::from_static(NAMES[3]),
        HeaderName::from_static(NAMES[4]),
        HeaderName::from_static(NAMES[5]),
    ]
};

/// The indexes of [`ATTRIBUTE_NAMES`] in the order of the names.
const ATTRIBUTES_BY_NAME: [usize; 6] = [1, 2, 0, 4, 3, 5];

impl<'a> EventEnvelope<'a> {
    /// The headers, by lower-case name: the CloudEvents attributes, then
    /// [`extra`](Self::extra). The attributes' names are static
    /// ([`HeaderName::as_static`]), and so are those of `extra` that
    /// accord knows.
    pub fn headers(&self) -> impl Iterator<Item = (&'a HeaderName, &'a str)> + 'a {
        let attributes = ATTRIBUTE_NAMES.iter().zip(self.attribute_values());
        let extra = self
            .extra
            .iter()
            .map(|(name, value)| (name, value.as_str()));
        attributes.chain(extra)
    }

    /// The values of [`ATTRIBUTE_NAMES`], in their order.
    fn attribute_values(&self) -> [&'a str; 6] {
        [
            "1.0",
            self.id,
            self.source,
            self.topic,
            self.time,
            "application/json",
        ]
    }

    /// The same event as a [`Message`]; its header names are shared as
    /// they are here.
    pub fn to_message(&self) -> Message {
        // Two allocations, sized once: the names and the values. The
        // attributes go in in the order of their names, as `Headers` keeps
        // them, so that only `extra` is looked at for its place.
        let values = self.attribute_values();
        let count = ATTRIBUTE_NAMES.len() + self.extra.len();
        let bytes = values.iter().map(|value| value.len()).sum::<usize>()
            + self
                .extra
                .iter()
                .map(|(_, value)| value.len())
                .sum::<usize>();
        let mut headers = Headers::with_capacity(count, bytes);
        headers.extend(
            ATTRIBUTES_BY_NAME
                .iter()
                .map(|&at| (ATTRIBUTE_NAMES[at].clone(), values[at])),
        );
        headers.extend(
            self.extra
                .iter()
                .map(|(name, value)| (name.clone(), value.as_str())),
        );
        Message {
            topic: self.topic.to_owned(),
            key: self.key.map(str::to_owned),
            headers,
            payload: self.payload.clone(),
        }
    }
}

#[cfg(all(test, any(feature = "nats", feature = "amqp", feature = "kafka")))]
impl<'a> EventEnvelope<'a> {
    /// An `orders.placed` event keyed `customer-7`, id `e-1`, with `extra`:
    /// what the backends' encoding tests publish.
    pub(crate) fn sample(extra: &'a [(HeaderName, String)]) -> Self {
        EventEnvelope {
            topic: "orders.placed",
            key: Some("customer-7"),
            id: "e-1",
            source: "/orders",
            time: "2026-12-06T02:00:00.000Z",
            extra,
            payload: Bytes::from_static(b"{}"),
        }
    }
}

/// How a group subscribes.
#[derive(Debug, Clone)]
pub struct SubscribeOptions {
    /// The group; each group receives every message once.
    pub group: String,
    /// The topics the group consumes.
    pub topics: Vec<String>,
    /// The most deliveries this subscription holds unsettled at once
    /// (JetStream max ack pending per pull; AMQP prefetch).
    pub max_in_flight: usize,
    /// How long a delivery may stay unsettled before it is delivered again.
    pub ack_wait: Duration,
    /// Whether the group's messages with the same key are handled one at a
    /// time in publish order (default [`KeyOrder::Unordered`]).
    pub key_order: KeyOrder,
}

/// Whether a group handles messages with the same key one at a time, in
/// publish order.
///
/// Ordered by key, the messages of one key go to one member at a time and
/// the next one is delivered only once the previous one is settled (acked
/// or dead-lettered; a retry holds the key until the retried message is
/// settled); messages with different keys proceed in parallel, up to the
/// backend's partition count. The price: one slow or failing message holds
/// back every later message of its key (and of the keys that share its
/// partition), and a group's parallelism is capped by its partitions.
/// Unordered, the default, the members take messages as fast as they can
/// settle them, with no order between them; most handlers (idempotent
/// updates, notifications) need nothing more, so they are not made to pay
/// for an order they do not use.
///
/// A backend declares whether it honours the order in
/// [`Capabilities::per_key_order`](super::Capabilities::per_key_order); one
/// that does not refuses an ordered subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyOrder {
    /// Messages are handled as fast as the members can take them.
    #[default]
    Unordered,
    /// Messages with the same key are handled one at a time, in publish
    /// order; messages without a key are not ordered.
    ByKey,
}

impl SubscribeOptions {
    /// Options for `group` on `topics`, 16 in flight, 30 s ack wait,
    /// unordered.
    pub fn new(
        group: impl Into<String>,
        topics: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        SubscribeOptions {
            group: group.into(),
            topics: topics.into_iter().map(Into::into).collect(),
            max_in_flight: 16,
            ack_wait: Duration::from_secs(30),
            key_order: KeyOrder::Unordered,
        }
    }

    /// Sets whether messages with the same key are handled one at a time in
    /// publish order (see [`KeyOrder`]).
    pub fn key_order(mut self, order: KeyOrder) -> Self {
        self.key_order = order;
        self
    }

    /// Sets the in-flight limit (at least 1).
    pub fn max_in_flight(mut self, limit: usize) -> Self {
        self.max_in_flight = limit.max(1);
        self
    }

    /// Sets the ack wait.
    pub fn ack_wait(mut self, wait: Duration) -> Self {
        self.ack_wait = wait;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attributes_by_name_are_in_the_order_of_their_names() {
        let names: Vec<&str> = ATTRIBUTES_BY_NAME
            .iter()
            .map(|&at| ATTRIBUTE_NAMES[at].as_str())
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), ATTRIBUTE_NAMES.len());
    }

    #[test]
    fn an_envelope_as_a_message_has_every_header_once() {
        let tracestate = [
            (HeaderName::from_static("tracestate"), "a=1".to_owned()),
            (HeaderName::from_static("traceparent"), "00-t".to_owned()),
        ];
        let mut envelope = EventEnvelope {
            topic: "orders.placed",
            key: Some("customer-7"),
            id: "e-1",
            source: "/orders",
            time: "2026-12-06T02:00:00.000Z",
            extra: &tracestate,
            payload: Bytes::from_static(b"{}"),
        };
        let message = envelope.to_message();
        let expected: Vec<(&str, &str)> = {
            let mut all: Vec<(&str, &str)> =
                envelope.headers().map(|(n, v)| (n.as_str(), v)).collect();
            all.sort_unstable();
            all
        };
        let got: Vec<(&str, &str)> = message
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(message.id(), Some("e-1"));
        assert_eq!(message.header("ce-type"), Some("orders.placed"));
        assert_eq!(message.key.as_deref(), Some("customer-7"));
        envelope.extra = &[];
        assert_eq!(envelope.to_message().headers.len(), 6);
    }
}
