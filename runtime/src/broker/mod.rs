//! The broker abstraction, cut by capability, and the backends.
//!
//! A backend implements the capabilities its broker offers (see
//! [`capability`]): [`Publish`], [`Subscribe`] with [`Retry`] on its
//! deliveries, [`RequestReply`]. The model follows what NATS JetStream and
//! RabbitMQ both offer, so each maps onto it natively:
//!
//! - [`Publish::publish`] returns once the broker has accepted the message
//!   (a JetStream publish ack, an AMQP publisher confirm).
//! - [`Subscribe::subscribe`] joins a **group** on some topics. Each group
//!   receives every message published after the group was first declared;
//!   the members of one group compete for them (a durable JetStream pull
//!   consumer; an AMQP queue per group). A group is durable: it keeps
//!   collecting messages while no member runs.
//! - A [`Delivery`] is settled exactly once: [`ack`](Delivery::ack),
//!   [`retry`](Retry::retry) after a delay (JetStream NAK with delay; an
//!   AMQP retry queue with a TTL), or [`dead_letter`](Delivery::dead_letter)
//!   with a reason (a dead-letter subject or exchange). A delivery dropped
//!   without being settled is released and delivered again, and so is one
//!   not settled within the subscription's `ack_wait`.
//! - [`RequestReply::request`] and [`RequestReply::respond`] carry request/reply calls
//!   (NATS request with an inbox; AMQP direct reply-to), with a timeout and
//!   a correlation id.
//!
//! Header names are lower case; the CloudEvents attributes travel as `ce-*`
//! headers (binary content mode), see [`crate::events::envelope`]. A
//! [`HeaderName`] accord knows (those attributes, the trace context, the
//! dead-letter headers) is shared by every message that carries it, so a
//! backend receiving an event copies none of them.
//!
//! Each backend measures a message against its broker's size limits before
//! it sends it, and refuses one over them with [`BrokerError::TooLarge`]
//! rather than let the broker close the connection; see [`limits`].

#[cfg(feature = "amqp")]
pub mod amqp;
/// How the RabbitMQ backend names what it declares; compiled without the
/// `amqp` feature too, so the published documents can name its exchanges
/// and queues.
#[path = "amqp/names.rs"]
#[cfg_attr(not(feature = "amqp"), allow(dead_code))]
pub mod amqp_names;
pub mod capability;
pub mod dead_letters;
mod error;
mod header_name;
mod headers;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod key_partition;
pub mod limits;
pub mod memory;
mod message;
#[cfg(feature = "nats")]
pub mod nats;
/// How the NATS backend names what it declares; compiled without the
/// `nats` feature too, so the published documents can name its streams.
#[path = "nats/names.rs"]
#[cfg_attr(not(feature = "nats"), allow(dead_code))]
pub(crate) mod nats_names;
#[cfg(all(test, any(feature = "nats", feature = "amqp")))]
mod own_process;
#[cfg(any(feature = "nats", feature = "amqp", feature = "kafka", test))]
mod reconnect;

pub use capability::{
    Broker, Capabilities, ConsumeEvents, DeadLetters, Delivery, PendingRequest, Publish,
    RequestReply, Responder, Retry, Subscribe, Subscription,
};
pub use dead_letters::{replay_dead_letters, DeadLetter, Selection};
pub use error::BrokerError;
pub use header_name::HeaderName;
pub use headers::{Headers, HeadersIter};
pub use limits::{
    MessagePart, TooLarge, DEAD_LETTER_HEADROOM, DEFAULT_MAX_HEADER_BYTES, MAX_REASON_BYTES,
};
pub use memory::MemoryBroker;
pub use message::{
    EventEnvelope, KeyOrder, Message, SubscribeOptions, DEAD_LETTER_ATTEMPTS, DEAD_LETTER_GROUP,
    DEAD_LETTER_REASON, DEAD_LETTER_TOPIC,
};
