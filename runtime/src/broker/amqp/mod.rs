//! The RabbitMQ backend, over AMQP 0.9.1 ([lapin]).
//!
//! `docs/amqp.md` describes the topology from an operator's point of view;
//! in short, under a prefix (`accord` by default):
//!
//! - Events are published, persistent and with publisher confirms, to the
//!   topic exchange `accord.events` with the topic as the routing key.
//!   [`publish`](crate::broker::Publish::publish) returns once the broker confirmed the
//!   message; a negative confirm is [`BrokerError::Rejected`].
//! - Each group has **one durable queue**, `accord.group.<group>`, bound to
//!   the events exchange once per topic it consumes. One queue per group
//!   (rather than one per group and topic) is what a group is in the
//!   [`Subscribe`](crate::broker::Subscribe) model: one backlog its members compete for, whatever the
//!   topic, so the prefetch of one consumer is exactly the subscription's
//!   `max_in_flight`, and retries and dead letters have one home per group.
//!   Bindings only accumulate: a topic a group no longer handles stays bound
//!   until an operator unbinds it.
//! - Groups are declared (idempotently) by [`subscribe`](crate::broker::Subscribe::subscribe),
//!   [`dead_letters`](crate::broker::Subscribe::dead_letters) and
//!   [`AmqpBroker::declare_group`]. RabbitMQ keeps nothing for a group that
//!   does not exist yet, so a group receives the events published **after**
//!   its queue was first declared; a deployment that must not miss the first
//!   events declares its groups before publishers start (`declare_group`).
//!   The publisher side cannot do it: it does not know the groups. Events no
//!   group is bound for are not dropped silently: the events exchange's
//!   alternate exchange routes them to the `accord.unrouted` queue (bounded
//!   by [`AmqpOptions::unrouted_max_length`]), where an operator sees them.
//! - Deliveries are acked manually; the consumer's prefetch is
//!   `max_in_flight`. RabbitMQ has no per-delivery ack timeout, so `ack_wait`
//!   runs in the client: when it runs out, a copy of the message goes back
//!   to the group's queue as the next attempt, and the original stays
//!   unacked, holding its prefetch slot, until the stale delivery is settled
//!   or dropped; that late settlement then only acks the original. A
//!   delivery dropped unsettled (the release) is published again to the
//!   group's queue as the next attempt, and the original acked: a
//!   `basic.nack` with requeue would only set RabbitMQ's `redelivered` flag,
//!   which cannot count a second release. Should the copy fail to publish,
//!   the original is nacked back to the queue instead.
//! - A retry after a delay publishes a copy to a retry queue of the group,
//!   `accord.group.<group>.retry.<ms>ms`, whose messages all live `<ms>` and
//!   are then dead-lettered back to the group's queue. A queue-wide TTL
//!   expires messages in order, which a per-message TTL in one shared queue
//!   would not (RabbitMQ only expires the head), so each delay bucket has
//!   its own queue: a delay waits in the smallest bucket not shorter than it
//!   (buckets 1, 1.5, 2, 3, 4, 5 and 7 times a power of ten milliseconds).
//!   The copy is confirmed before the original is acked.
//! - The attempt count travels in the `accord-attempt` header of the copies
//!   this backend publishes (retries, releases, expired ack waits); a
//!   message RabbitMQ itself requeued (its consumer's connection was lost)
//!   counts one more (classic queues: the `redelivered` flag, which does not
//!   tell how often) or its `x-delivery-count` (quorum queues).
//! - A dead letter is a copy with the `accord-dead-letter-*` headers,
//!   published with a confirm to the topic exchange `accord.dead-letter`
//!   with the group as the routing key, bound to the durable queue
//!   `accord.group.<group>.dead-letter`; then the original is acked.
//! - Request/reply: requests go to the direct exchange `accord.requests`
//!   with the topic as routing key, the `mandatory` flag and RabbitMQ's
//!   direct reply-to (`amq.rabbitmq.reply-to`); each (group, topic) of
//!   request servers shares an auto-deleted queue `accord.rpc.<group>.<topic>`.
//!   A request no queue is bound for comes back as
//!   [`BrokerError::NoResponders`]; no reply in time is
//!   [`BrokerError::Timeout`] (the request expires from the queue then too).
//! - The backend keeps two connections, one publishing and one consuming,
//!   so that RabbitMQ's flow control of a fast publisher does not hold back
//!   the acks of the consumers. When one drops, publishes in flight fail with
//!   [`BrokerError::Connection`] (the caller may publish again; the event id
//!   lets subscribers drop the duplicate), the next publish reconnects, and
//!   subscriptions reconnect on their own with a capped exponential backoff,
//!   declaring their topology again. Deliveries taken before the drop can no
//!   longer be settled (their settlement fails with
//!   [`BrokerError::Connection`]); RabbitMQ delivers them again.
//!
//! Every publish (events, copies, requests, replies) is measured before it
//! is sent, so that a message RabbitMQ would answer by closing the
//! connection is refused with [`BrokerError::TooLarge`] instead, naming what
//! is too large, and the connection stays up for the next one: each header
//! of a publish, request or reply against [`AmqpOptions::max_header_bytes`];
//! header names and the content type against AMQP's 255 bytes; the
//! properties, headers included, against the frame size the connection
//! negotiated (an event less [`DEAD_LETTER_HEADROOM`](crate::broker::DEAD_LETTER_HEADROOM), so it can still be
//! dead-lettered); the payload against [`AmqpOptions::max_message_bytes`].
//!
//! Headers become AMQP application headers with string values, except that
//! `ce-<attr>` travels as `cloudEvents:<attr>` (the prefix of the
//! CloudEvents AMQP binding) and `content-type` as the AMQP `content_type`
//! property; `ce-id` is also the AMQP `message_id`. The key travels in the
//! `accord-key` header, and its slot in the routing key.
//!
//! A group that subscribes [`KeyOrder::ByKey`](crate::broker::KeyOrder::ByKey)
//! reads keyed events from single-active-consumer partition queues with a
//! prefetch of one (`docs/amqp.md`, "Per-key order"): a keyed event is
//! published with the routing key `<topic>._key.<slot>` (the slot: FNV-1a of
//! the key modulo 256), and partition `p` of [`AmqpOptions::key_partitions`]
//! takes the slots `s % n == p`.

mod codec;
mod connection;
mod dead_letters;
mod delivery;
mod frame;
use super::amqp_names as names;
mod options;
mod publish;
mod request;
mod subscription;
#[cfg(test)]
mod tests;
mod topology;

use std::collections::BTreeSet;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use lapin::types::{AMQPValue, LongString, ShortString};
use tokio::sync::watch;

use super::limits::cap_text;
use super::BrokerError;

pub use delivery::AmqpDelivery;
pub use lapin;
pub use names::{AmqpNames, DEFAULT_PREFIX, MAX_RETRY_BUCKET, MIN_RETRY_BUCKET};
pub use options::{
    AmqpOptions, QueueType, DEFAULT_CONFIRM_TIMEOUT, DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_OPERATION_TIMEOUT, DEFAULT_URL,
};
pub use request::{AmqpRequest, AmqpResponder};
pub use subscription::AmqpSubscription;

use connection::Link;
use publish::Publisher;

/// A RabbitMQ broker. Clones share the connections.
///
/// ```text
/// let broker = AmqpBroker::connect("amqp://guest:guest@127.0.0.1:5672/%2f").await?;
/// ```
#[derive(Clone)]
pub struct AmqpBroker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AmqpBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpBroker")
            .field("prefix", &self.inner.options.prefix)
            .field("queue_type", &self.inner.options.queue_type)
            .finish_non_exhaustive()
    }
}

struct Inner {
    url: String,
    options: AmqpOptions,
    names: AmqpNames,
    runtime: tokio::runtime::Handle,
    closed: watch::Sender<bool>,
    publish_link: Link,
    consume_link: Link,
    publisher: Mutex<Option<Arc<Publisher>>>,
    publisher_build: tokio::sync::Mutex<()>,
    requester: request::RequesterSlot,
    /// Retry queues known to exist.
    retry_queues: Mutex<HashSet<String>>,
    /// Groups this handle declared.
    groups: Mutex<BTreeSet<String>>,
    /// Connections opened so far.
    connections_opened: AtomicUsize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section completes its mutation before anything that
    // can panic, so a poisoned lock still guards consistent state.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether a mandatory publish reached a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Routed {
    /// At least one queue took it (or it was not mandatory).
    Yes,
    /// No queue was bound for it; the broker returned it.
    Returned,
}

/// The broker error for a lapin error: a refusal of the broker (a channel
/// error: missing or mismatched queue, access) or a broken connection.
pub(crate) fn lapin_error(context: &str, error: lapin::Error) -> BrokerError {
    if error.is_amqp_soft_error() {
        BrokerError::Rejected(format!("{context}: {error}"))
    } else {
        BrokerError::Connection(format!("{context}: {error}"))
    }
}

pub(super) fn short(text: &str) -> Result<ShortString, BrokerError> {
    ShortString::try_new(text).map_err(|_| {
        BrokerError::Rejected(format!(
            "the name `{}` is {} bytes, longer than the 255 AMQP allows",
            cap_text(text, 80),
            text.len()
        ))
    })
}

pub(super) fn long(text: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(text.as_bytes()))
}

impl AmqpBroker {
    /// The names of the exchanges and queues.
    pub fn names(&self) -> &AmqpNames {
        &self.inner.names
    }

    /// The options.
    pub fn options(&self) -> &AmqpOptions {
        &self.inner.options
    }

    /// How many connections this handle has opened: one to publish and one
    /// to consume once both are in use, and one more each time one of them
    /// dropped and was opened again. For monitoring, and for tests that
    /// show a connection survived.
    pub fn connections_opened(&self) -> usize {
        self.inner.connections_opened.load(Ordering::Relaxed)
    }

    /// Closes the connections: subscriptions and request servers end,
    /// further operations fail with [`BrokerError::Closed`].
    pub async fn close(&self) {
        self.inner.closed.send_replace(true);
        lock(&self.inner.publisher).take();
        self.inner.requester.clear();
        let limit = self.inner.options.operation_timeout;
        for link in [&self.inner.publish_link, &self.inner.consume_link] {
            let connection = lock(&link.current).take();
            if let Some(connection) = connection {
                // Unanswered within the limit, the close goes on in the
                // background.
                let _ = tokio::time::timeout(limit, connection.close(200, "OK".into())).await;
            }
        }
    }

    pub(super) fn check_open(&self) -> Result<(), BrokerError> {
        if *self.inner.closed.borrow() {
            Err(BrokerError::Closed)
        } else {
            Ok(())
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        *self.inner.closed.borrow()
    }

    pub(super) fn closed_watch(&self) -> watch::Receiver<bool> {
        self.inner.closed.subscribe()
    }

    /// Spawns `future` on the runtime the broker was connected on; the
    /// handle may be awaited or dropped (the task runs on).
    pub(super) fn spawn(
        &self,
        future: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        self.inner.runtime.spawn(future)
    }

    pub(super) fn record_group(&self, group: &str) {
        lock(&self.inner.groups).insert(group.to_owned());
    }
}
