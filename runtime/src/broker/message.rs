//! Messages as published and delivered, and how a group subscribes.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;

/// Message headers, by lower-case name.
pub type Headers = BTreeMap<String, String>;

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
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Sets the key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
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
    pub extra: &'a [(Cow<'static, str>, String)],
    /// The body: the event data as JSON.
    pub payload: Bytes,
}

impl<'a> EventEnvelope<'a> {
    /// The headers, by lower-case name: the CloudEvents attributes, then
    /// [`extra`](Self::extra). Each name is static but for those in
    /// `extra` that are not (see [`HeaderName`]).
    pub fn headers(&self) -> impl Iterator<Item = (HeaderName<'a>, &'a str)> + 'a {
        use crate::events::envelope::NAMES;
        // The attributes of `NAMES`, but its last name: the trace context
        // is in `extra`.
        let values = [
            "1.0",
            self.id,
            self.source,
            self.topic,
            self.time,
            "application/json",
        ];
        let attributes = NAMES
            .iter()
            .zip(values)
            .map(|(name, value)| (HeaderName::Static(name), value));
        let extra = self.extra.iter().map(|(name, value)| {
            let name = match name {
                Cow::Borrowed(name) => HeaderName::Static(name),
                Cow::Owned(name) => HeaderName::Borrowed(name.as_str()),
            };
            (name, value.as_str())
        });
        attributes.chain(extra)
    }

    /// The same event as a [`Message`].
    pub fn to_message(&self) -> Message {
        Message {
            topic: self.topic.to_owned(),
            key: self.key.map(str::to_owned),
            headers: self
                .headers()
                .map(|(name, value)| (name.as_str().to_owned(), value.to_owned()))
                .collect(),
            payload: self.payload.clone(),
        }
    }
}

#[cfg(all(test, any(feature = "nats", feature = "amqp", feature = "kafka")))]
impl<'a> EventEnvelope<'a> {
    /// An `orders.placed` event keyed `customer-7`, id `e-1`, with `extra`:
    /// what the backends' encoding tests publish.
    pub(crate) fn sample(extra: &'a [(Cow<'static, str>, String)]) -> Self {
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

/// The name of a header of an [`EventEnvelope`]: static, so a backend can
/// use it without copying or checking it again, or borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderName<'a> {
    /// A name fixed in the program (a valid header name, lower case).
    Static(&'static str),
    /// Any other name.
    Borrowed(&'a str),
}

impl<'a> HeaderName<'a> {
    /// The name.
    pub fn as_str(&self) -> &'a str {
        match *self {
            HeaderName::Static(name) => name,
            HeaderName::Borrowed(name) => name,
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
