//! The NATS JetStream backend (feature `nats`).
//!
//! What accord declares, all idempotently (created when missing, reused
//! when present), see `docs/nats.md` for the operator's view:
//!
//! - **A stream per topic**, named `<prefix>_<topic>` with the topic's dots
//!   as `_` ([`NatsBroker::topic_stream_name`]), capturing exactly that
//!   subject, declared on the first publish to or subscription on the
//!   topic. It keeps messages under limits retention, so a message
//!   published before any group subscribed waits for the first group.
//!   A stream an operator already declared for the subject is used instead.
//! - **A durable pull consumer per group and topic**, named after the
//!   group ([`NatsBroker::consumer_name`]), reading the whole stream (the
//!   topic and its key partitions): explicit acks, `ack_wait` from
//!   [`SubscribeOptions`](crate::broker::SubscribeOptions), unlimited deliveries (the subscriber decides
//!   when to give up), starting at the beginning of the stream for the
//!   first group on the topic and at its declaration for later groups.
//!   Members of a group pull from the same consumers and so compete for
//!   messages.
//! - **One dead-letter stream**, `<prefix>-DEAD-LETTERS`, on
//!   `<dead-letter subject>.>`; a group's dead letters are published on
//!   `<dead-letter subject>.<group>` and read through a durable consumer
//!   named after the group.
//!
//! Settling maps onto JetStream acks: [`ack`](crate::broker::Delivery::ack) is `+ACK`,
//! [`retry`](crate::broker::Retry::retry) a `-NAK` with the delay, a delivery dropped
//! unsettled a `-NAK` without delay, [`dead_letter`](crate::broker::Delivery::dead_letter)
//! a publish to the dead letters (awaiting its publish ack) followed by
//! `+TERM`. [`attempt`](crate::broker::Delivery::attempt) is JetStream's delivery count.
//!
//! A publish waits for JetStream's publish ack. It sets `Nats-Msg-Id` to
//! the event id (`ce-id`), so a publish repeated within the stream's
//! duplicate window, such as a retry after a lost ack, is stored once.
//! Request/reply uses core NATS: requests go to an inbox, responders of one
//! group form a NATS queue group.
//!
//! Before anything is sent, its size is checked against the limits the
//! server would enforce, so that an oversized message is a
//! [`BrokerError::TooLarge`](crate::broker::BrokerError::TooLarge) naming the part and the limit (see
//! [`crate::broker::limits`]): each header of a publish, request or reply
//! against [`NatsOptions::max_header_bytes`]; an event's header block
//! against JetStream's 64 KiB for stored headers, and the whole message
//! against the server's `max_payload` (from its `INFO`), each less
//! [`DEAD_LETTER_HEADROOM`](crate::broker::DEAD_LETTER_HEADROOM) so the event can still be dead-lettered; a
//! dead letter, request or reply against the limits themselves; a topic
//! against 1 KiB, as the server closes the connection of a client whose
//! protocol line is over its `max_control_line` (4 KiB by default).
//!
//! The key travels in the [`KEY_HEADER`] header, and a keyed event is
//! stored on its key partition's subject, `<topic>._key.<p>`
//! ([`NatsOptions::key_partitions`]). A group that subscribes
//! [`KeyOrder::ByKey`](crate::broker::KeyOrder::ByKey) reads each partition
//! through a consumer of its own with a max ack pending of one, so
//! JetStream lets out one event of a partition at a time to the whole group
//! (`docs/nats.md`, "Per-key order").

mod connection;
mod dead_letters;
mod group;
mod headers;
use super::nats_names as names;
mod options;
mod publish;
mod pull;
mod request;
mod subscription;
#[cfg(test)]
mod tests;
mod topology;
mod unsettled;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_nats::Client;
use tokio::sync::watch;

pub use async_nats;
pub use headers::KEY as KEY_HEADER;
pub use names::{DEFAULT_DEAD_LETTER_SUBJECT, DEFAULT_STREAM_PREFIX};
pub use options::{
    NatsOptions, DEFAULT_DUPLICATE_WINDOW, DEFAULT_KEY_PARTITIONS, MAX_KEY_PARTITIONS,
};
pub use request::{NatsRequest, NatsResponder};
pub use subscription::{NatsDelivery, NatsSubscription};

use self::topology::{StreamRef, StreamSettings};

/// A broker on NATS JetStream. Clones share one connection.
///
/// ```text
/// let broker = NatsBroker::connect("nats://127.0.0.1:4222").await?;
/// let handle = Subscriber::new(broker.clone(), "inventory")
///     .start(MyInventory.into_event_handlers())
///     .await?;
/// ```
#[derive(Clone)]
pub struct NatsBroker {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    js: async_nats::jetstream::Context,
    options: NatsOptions,
    prefix: String,
    settings: StreamSettings,
    /// The stream of each topic used so far.
    streams: Mutex<HashMap<String, StreamRef>>,
    dead_letters: StreamRef,
    /// Counts connections; pullers ask again after a reconnect.
    connections: Arc<watch::Sender<u64>>,
}

impl fmt::Debug for NatsBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsBroker")
            .field("options", &self.inner.options)
            .field("dead_letters", &self.inner.dead_letters.name)
            .finish_non_exhaustive()
    }
}

impl NatsBroker {
    /// The NATS connection.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The JetStream context.
    pub fn jetstream(&self) -> &async_nats::jetstream::Context {
        &self.inner.js
    }

    /// The options this broker was made with.
    pub fn options(&self) -> &NatsOptions {
        &self.inner.options
    }

    /// The name of the stream accord declares for `topic`.
    pub fn topic_stream_name(&self, topic: &str) -> String {
        names::topic_stream_name(&self.inner.prefix, topic)
    }

    /// The name of the dead-letter stream in use.
    pub fn dead_letter_stream_name(&self) -> &str {
        &self.inner.dead_letters.name
    }

    /// The subject `group`'s dead letters are published on.
    pub fn dead_letter_subject(&self, group: &str) -> String {
        names::dead_letter_subject(&self.inner.options.dead_letter_subject, group)
    }

    /// The name of `group`'s durable consumer on a stream accord declared.
    pub fn consumer_name(group: &str) -> String {
        names::group_token(group)
    }
}
