//! The broker abstraction every backend implements, and the backends.
//!
//! The model follows what NATS JetStream and RabbitMQ both offer, so each
//! maps onto it natively:
//!
//! - [`Broker::publish`] returns once the broker has accepted the message
//!   (a JetStream publish ack, an AMQP publisher confirm).
//! - [`Broker::subscribe`] joins a **group** on some topics. Each group
//!   receives every message published after the group was first declared;
//!   the members of one group compete for them (a durable JetStream pull
//!   consumer; an AMQP queue per group). A group is durable: it keeps
//!   collecting messages while no member runs.
//! - A [`Delivery`] is settled exactly once: [`ack`](Delivery::ack),
//!   [`retry`](Delivery::retry) after a delay (JetStream NAK with delay; an
//!   AMQP retry queue with a TTL), or [`dead_letter`](Delivery::dead_letter)
//!   with a reason (a dead-letter subject or exchange). A delivery dropped
//!   without being settled is released and delivered again, and so is one
//!   not settled within the subscription's `ack_wait`.
//! - [`Broker::request`] and [`Broker::respond`] carry request/reply calls
//!   (NATS request with an inbox; AMQP direct reply-to), with a timeout and
//!   a correlation id.
//!
//! Header names are lower case; the CloudEvents attributes travel as `ce-*`
//! headers (binary content mode), see [`crate::events::envelope`].
//!
//! Each backend measures a message against its broker's size limits before
//! it sends it, and refuses one over them with [`BrokerError::TooLarge`]
//! rather than let the broker close the connection; see [`limits`].

#[cfg(feature = "amqp")]
pub mod amqp;
pub mod limits;
pub mod memory;
#[cfg(feature = "nats")]
pub mod nats;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

pub use limits::{
    MessagePart, TooLarge, DEAD_LETTER_HEADROOM, DEFAULT_MAX_HEADER_BYTES, MAX_REASON_BYTES,
};
pub use memory::MemoryBroker;

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
}

impl SubscribeOptions {
    /// Options for `group` on `topics`, 16 in flight, 30 s ack wait.
    pub fn new(
        group: impl Into<String>,
        topics: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        SubscribeOptions {
            group: group.into(),
            topics: topics.into_iter().map(Into::into).collect(),
            max_in_flight: 16,
            ack_wait: Duration::from_secs(30),
        }
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

/// What a backend guarantees beyond the common model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Messages with the same key are delivered to a group one at a time, in
    /// publish order, also across retries.
    pub per_key_order: bool,
    /// A publish repeating the event id (`ce-id`) of an earlier one, within
    /// the broker's duplicate window, is accepted but not delivered again
    /// (JetStream's `Nats-Msg-Id`). Without it, the repeat is delivered and
    /// the subscriber's dedupe store skips it.
    pub dedupes_publishes: bool,
}

/// A message broker.
pub trait Broker: Clone + Send + Sync + 'static {
    /// A group membership, yielding deliveries.
    type Subscription: Subscription;
    /// A request server's membership, yielding requests.
    type Responder: Responder;

    /// What this backend guarantees beyond the common model.
    fn capabilities(&self) -> Capabilities;

    /// Publishes `message`; returns once the broker has accepted it.
    fn publish(&self, message: Message) -> impl Future<Output = Result<(), BrokerError>> + Send;

    /// Joins a group, declaring it (durably) if it does not exist.
    fn subscribe(
        &self,
        options: SubscribeOptions,
    ) -> impl Future<Output = Result<Self::Subscription, BrokerError>> + Send;

    /// Consumes `group`'s dead letters: each carries the
    /// [`DEAD_LETTER_REASON`], [`DEAD_LETTER_ATTEMPTS`], [`DEAD_LETTER_TOPIC`]
    /// and [`DEAD_LETTER_GROUP`] headers.
    fn dead_letters(
        &self,
        group: &str,
    ) -> impl Future<Output = Result<Self::Subscription, BrokerError>> + Send;

    /// Sends a request on `message.topic` and waits up to `timeout` for the
    /// reply.
    fn request(
        &self,
        message: Message,
        timeout: Duration,
    ) -> impl Future<Output = Result<Message, BrokerError>> + Send;

    /// Serves requests sent on `topic`; the members of `group` share them.
    fn respond(
        &self,
        topic: &str,
        group: &str,
    ) -> impl Future<Output = Result<Self::Responder, BrokerError>> + Send;
}

/// A group membership.
pub trait Subscription: Send + 'static {
    /// A delivery of this backend.
    type Delivery: Delivery;

    /// The next delivery; `None` once the subscription is closed. Waits
    /// while `max_in_flight` deliveries are unsettled.
    fn next(&mut self) -> impl Future<Output = Option<Self::Delivery>> + Send;
}

/// One delivery of a message to a group member. Settle it exactly once;
/// dropping it unsettled releases it for redelivery.
pub trait Delivery: Send + 'static {
    /// The message.
    fn message(&self) -> &Message;

    /// Which delivery of this message to this group this is, from 1.
    fn attempt(&self) -> u32;

    /// The message was handled.
    fn ack(self) -> impl Future<Output = Result<(), BrokerError>> + Send;

    /// Deliver the message again after `delay`.
    fn retry(self, delay: Duration) -> impl Future<Output = Result<(), BrokerError>> + Send;

    /// Give up on the message: move it to the group's dead letters with
    /// `reason`, stored on one line and cut to [`MAX_REASON_BYTES`]. When
    /// the dead letter cannot be stored, the error says why and the message
    /// stays with the group, to be delivered again.
    fn dead_letter(self, reason: &str) -> impl Future<Output = Result<(), BrokerError>> + Send;

    /// [`dead_letter`](Delivery::dead_letter), except that when the dead
    /// letter cannot be stored the message is delivered again only after
    /// `retry_after`, as [`retry`](Delivery::retry) would, so that a dead
    /// letter the broker keeps refusing is tried again with backoff rather
    /// than in a tight loop. `Ok` means the dead letter was stored.
    ///
    /// The default calls `dead_letter`, which suits a backend whose dead
    /// letters cannot be refused.
    fn dead_letter_or_retry(
        self,
        reason: &str,
        retry_after: Duration,
    ) -> impl Future<Output = Result<(), BrokerError>> + Send
    where
        Self: Sized,
    {
        let _ = retry_after;
        self.dead_letter(reason)
    }
}

/// A request server's membership.
pub trait Responder: Send + 'static {
    /// A request of this backend.
    type Request: PendingRequest;

    /// The next request; `None` once closed.
    fn next(&mut self) -> impl Future<Output = Option<Self::Request>> + Send;
}

/// A request waiting for its reply.
pub trait PendingRequest: Send + 'static {
    /// The request.
    fn message(&self) -> &Message;

    /// Sends the reply to the requester.
    fn reply(self, reply: Message) -> impl Future<Output = Result<(), BrokerError>> + Send;

    /// Sends `reply`; when it is over a size limit of the broker, sends
    /// what `instead` makes of the [`TooLarge`] error (a short reply saying
    /// so) and returns that error, so the requester learns why rather than
    /// waiting out its timeout.
    ///
    /// The default sends `reply`, which suits a backend without size
    /// limits.
    fn reply_or<F>(
        self,
        reply: Message,
        instead: F,
    ) -> impl Future<Output = Result<(), BrokerError>> + Send
    where
        Self: Sized,
        F: FnOnce(&TooLarge) -> Message + Send,
    {
        drop(instead);
        self.reply(reply)
    }
}

/// A broker operation that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerError {
    /// The broker could not be reached or the connection broke.
    Connection(String),
    /// The broker did not accept a publish, or refused an operation.
    Rejected(String),
    /// The message, or a part of it, is over a size limit of the broker
    /// (or of accord, see [`limits`]); it was not sent, and the connection
    /// is still usable.
    TooLarge(Box<TooLarge>),
    /// No reply within the timeout.
    Timeout(Duration),
    /// No server answers requests on this topic.
    NoResponders(String),
    /// The broker, subscription or delivery is closed.
    Closed,
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerError::Connection(e) => write!(f, "broker connection failed: {e}"),
            BrokerError::Rejected(e) => write!(f, "the broker refused: {e}"),
            BrokerError::TooLarge(e) => write!(f, "the message is too large: {e}"),
            BrokerError::Timeout(d) => write!(f, "no reply within {d:?}"),
            BrokerError::NoResponders(topic) => {
                write!(f, "no server answers requests on `{topic}`")
            }
            BrokerError::Closed => f.write_str("the broker is closed"),
        }
    }
}

impl std::error::Error for BrokerError {}
