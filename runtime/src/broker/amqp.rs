//! The RabbitMQ backend, over AMQP 0.9.1 ([lapin]).
//!
//! `docs/amqp.md` describes the topology from an operator's point of view;
//! in short, under a prefix (`accord` by default):
//!
//! - Events are published, persistent and with publisher confirms, to the
//!   topic exchange `accord.events` with the topic as the routing key.
//!   [`publish`](Broker::publish) returns once the broker confirmed the
//!   message; a negative confirm is [`BrokerError::Rejected`].
//! - Each group has **one durable queue**, `accord.group.<group>`, bound to
//!   the events exchange once per topic it consumes. One queue per group
//!   (rather than one per group and topic) is what a group is in the
//!   [`Broker`] model: one backlog its members compete for, whatever the
//!   topic, so the prefetch of one consumer is exactly the subscription's
//!   `max_in_flight`, and retries and dead letters have one home per group.
//!   Bindings only accumulate: a topic a group no longer handles stays bound
//!   until an operator unbinds it.
//! - Groups are declared (idempotently) by [`subscribe`](Broker::subscribe),
//!   [`dead_letters`](Broker::dead_letters) and
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
//! negotiated (an event less [`DEAD_LETTER_HEADROOM`], so it can still be
//! dead-lettered); the payload against [`AmqpOptions::max_message_bytes`].
//!
//! Headers become AMQP application headers with string values, except that
//! `ce-<attr>` travels as `cloudEvents:<attr>` (the prefix of the
//! CloudEvents AMQP binding) and `content-type` as the AMQP `content_type`
//! property; `ce-id` is also the AMQP `message_id`. The key travels in the
//! `accord-key` header.

mod codec;
mod names;
mod request;
mod subscription;

use std::collections::BTreeSet;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions,
    QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use tokio::sync::watch;
use tokio::time::Instant;

use super::limits::{
    cap_text, MessagePart, TooLarge, DEAD_LETTER_HEADROOM, DEFAULT_MAX_HEADER_BYTES,
};
use super::{
    BrokerError, Capabilities, Message, Publish, RequestReply, Subscribe, SubscribeOptions,
};

pub use lapin;
pub use names::{AmqpNames, MAX_RETRY_BUCKET, MIN_RETRY_BUCKET};
pub use request::{AmqpRequest, AmqpResponder};
pub use subscription::{AmqpDelivery, AmqpSubscription};

use subscription::Role;

/// The URL of a RabbitMQ on this machine with the default user and vhost.
pub const DEFAULT_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// The largest payload a publish may carry unless set otherwise
/// ([`AmqpOptions::max_message_bytes`]): 128 MiB, RabbitMQ's default
/// `max_message_size` up to 3.13. RabbitMQ 4 lowers its default to 16 MiB;
/// set this to the broker's `max_message_size`, so that a larger event is
/// refused here, naming the limit, rather than by the broker, which closes
/// the publishing channel.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 128 << 20;

/// The kind of the durable queues the backend declares (groups, their
/// retries and dead letters, unrouted events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueType {
    /// Classic queues: a single node's queues, the fastest.
    #[default]
    Classic,
    /// Quorum queues: replicated over the cluster's nodes (Raft), the choice
    /// for a cluster that must survive losing a node. Their dead-lettering
    /// (the return from retry queues) is declared at-least-once.
    Quorum,
}

/// How an [`AmqpBroker`] names and declares things.
#[derive(Debug, Clone)]
pub struct AmqpOptions {
    /// The prefix of every exchange and queue name (`accord`).
    pub prefix: String,
    /// The kind of durable queues.
    pub queue_type: QueueType,
    /// How many confirm-mode channels publishing is spread over (4).
    pub publish_channels: usize,
    /// The most events the unrouted queue keeps; beyond that the oldest are
    /// dropped (100,000; 0 for no limit).
    pub unrouted_max_length: u32,
    /// How long opening a connection may take (10 s).
    pub connect_timeout: Duration,
    /// The longest wait between two reconnection attempts (2 s).
    pub max_reconnect_delay: Duration,
    /// The connection name shown by RabbitMQ (`accord`), followed by the
    /// connection's role.
    pub connection_name: String,
    /// The largest header, name and value in bytes, a publish, request or
    /// reply may carry ([`DEFAULT_MAX_HEADER_BYTES`], 16 KiB).
    pub max_header_bytes: usize,
    /// The largest payload a publish, request or reply may carry
    /// ([`DEFAULT_MAX_MESSAGE_BYTES`], 128 MiB).
    pub max_message_bytes: usize,
}

impl Default for AmqpOptions {
    fn default() -> Self {
        AmqpOptions {
            prefix: "accord".to_owned(),
            queue_type: QueueType::Classic,
            publish_channels: 4,
            unrouted_max_length: 100_000,
            connect_timeout: Duration::from_secs(10),
            max_reconnect_delay: Duration::from_secs(2),
            connection_name: "accord".to_owned(),
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

impl AmqpOptions {
    /// Sets the name prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the kind of durable queues.
    pub fn queue_type(mut self, queue_type: QueueType) -> Self {
        self.queue_type = queue_type;
        self
    }

    /// Sets how many channels publishing uses (at least 1).
    pub fn publish_channels(mut self, channels: usize) -> Self {
        self.publish_channels = channels.max(1);
        self
    }

    /// Sets the connection name.
    pub fn connection_name(mut self, name: impl Into<String>) -> Self {
        self.connection_name = name.into();
        self
    }

    /// Sets the longest wait between reconnection attempts.
    pub fn max_reconnect_delay(mut self, delay: Duration) -> Self {
        self.max_reconnect_delay = delay;
        self
    }

    /// Sets the largest header (name and value, in bytes) a publish,
    /// request or reply may carry. Whatever it is, the headers together
    /// must fit in the connection's frame size.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Sets the largest payload a publish, request or reply may carry: the
    /// broker's `max_message_size`.
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }
}

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

/// A connection that is opened again after it dropped.
struct Link {
    role: &'static str,
    current: Mutex<Option<Arc<Connection>>>,
    reconnect: tokio::sync::Mutex<Reconnect>,
}

#[derive(Default)]
struct Reconnect {
    failures: u32,
    not_before: Option<Instant>,
    last_error: Option<BrokerError>,
}

impl Link {
    fn new(role: &'static str) -> Self {
        Link {
            role,
            current: Mutex::new(None),
            reconnect: tokio::sync::Mutex::new(Reconnect::default()),
        }
    }

    fn live(&self) -> Option<Arc<Connection>> {
        lock(&self.current)
            .as_ref()
            .filter(|c| c.status().connected())
            .cloned()
    }
}

/// The confirm-mode channels publishes go through.
struct Publisher {
    connection: Arc<Connection>,
    channels: Vec<Channel>,
    next: AtomicUsize,
}

impl Publisher {
    fn usable(&self) -> bool {
        self.connection.status().connected() && self.channels.iter().all(|c| c.status().connected())
    }

    fn channel(&self) -> &Channel {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        &self.channels[i % self.channels.len()]
    }

    fn frame_max(&self) -> u32 {
        self.connection.configuration().frame_max()
    }
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

fn short(text: &str) -> Result<ShortString, BrokerError> {
    ShortString::try_new(text).map_err(|_| {
        BrokerError::Rejected(format!(
            "the name `{}` is {} bytes, longer than the 255 AMQP allows",
            cap_text(text, 80),
            text.len()
        ))
    })
}

fn long(text: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(text.as_bytes()))
}

/// The delay before reconnection attempt `failures + 1`: exponential from
/// 100 ms, capped, with jitter so clients do not reconnect in step.
pub(crate) fn backoff(failures: u32, max: Duration) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    let full = Duration::from_millis(100)
        .saturating_mul(1 << exponent)
        .min(max);
    full.mul_f64(0.5 + fastrand::f64() * 0.5)
}

impl AmqpBroker {
    /// Connects to the RabbitMQ at `url` (for example
    /// `amqp://guest:guest@127.0.0.1:5672/%2f`) and declares the exchanges.
    /// Call it on a Tokio runtime: the connections run on it.
    pub async fn connect(url: &str) -> Result<AmqpBroker, BrokerError> {
        AmqpBroker::connect_with(url, AmqpOptions::default()).await
    }

    /// Connects with `options`.
    pub async fn connect_with(url: &str, options: AmqpOptions) -> Result<AmqpBroker, BrokerError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            BrokerError::Connection("AmqpBroker::connect must be called on a Tokio runtime".into())
        })?;
        let names = AmqpNames::new(options.prefix.clone());
        let broker = AmqpBroker {
            inner: Arc::new(Inner {
                url: url.to_owned(),
                options,
                names,
                runtime,
                closed: watch::Sender::new(false),
                publish_link: Link::new("publish"),
                consume_link: Link::new("consume"),
                publisher: Mutex::new(None),
                publisher_build: tokio::sync::Mutex::new(()),
                requester: request::RequesterSlot::default(),
                retry_queues: Mutex::new(HashSet::new()),
                groups: Mutex::new(BTreeSet::new()),
                connections_opened: AtomicUsize::new(0),
            }),
        };
        broker.publisher().await?;
        Ok(broker)
    }

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

    /// Declares `group` on `topics` (its queue, bindings and dead-letter
    /// queue) without consuming, so that it collects the events published
    /// from now on. Subscribing declares it too.
    pub async fn declare_group(&self, group: &str, topics: &[&str]) -> Result<(), BrokerError> {
        self.check_open()?;
        self.record_group(group);
        let connection = self.connection(&self.inner.publish_link).await?;
        let role = Role::Group {
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        };
        self.declare_role(&connection, group, &role).await
    }

    /// Deletes `group`'s queue, retry queues and dead letters, with the
    /// messages in them. Stop the group's members first: a running member
    /// declares its group again.
    pub async fn delete_group(&self, group: &str) -> Result<(), BrokerError> {
        let names = &self.inner.names;
        let mut queues = Vec::new();
        for group in [group.to_owned(), AmqpNames::dead_letter_group(group)] {
            queues.push(names.group_queue(&group));
            queues.extend(AmqpNames::retry_buckets().map(|b| names.retry_queue(&group, b)));
        }
        let connection = self.connection(&self.inner.publish_link).await?;
        let channel = open_channel(&connection).await?;
        let channel = &channel;
        let deletes = queues.iter().map(|queue| async move {
            channel
                .queue_delete(short(queue)?, QueueDeleteOptions::default())
                .await
                .map_err(|e| lapin_error(&format!("deleting the queue `{queue}`"), e))
        });
        let results = futures_util::future::join_all(deletes).await;
        let _ = channel.close(200, "OK".into()).await;
        {
            let mut known = lock(&self.inner.retry_queues);
            for queue in &queues {
                known.remove(queue);
            }
        }
        lock(&self.inner.groups).remove(group);
        results.into_iter().collect::<Result<Vec<_>, _>>().map(drop)
    }

    /// The groups this handle declared (by subscribing, asking for dead
    /// letters or [`declare_group`](Self::declare_group)).
    pub fn declared_groups(&self) -> Vec<String> {
        lock(&self.inner.groups).iter().cloned().collect()
    }

    /// Deletes what this handle declared: its groups' queues (see
    /// [`delete_group`](Self::delete_group)), the unrouted queue and the
    /// exchanges under this prefix. For tests and teardown of a prefix no one
    /// else uses.
    pub async fn delete_topology(&self) -> Result<(), BrokerError> {
        for group in self.declared_groups() {
            self.delete_group(&group).await?;
        }
        let names = &self.inner.names;
        let connection = self.connection(&self.inner.publish_link).await?;
        let channel = open_channel(&connection).await?;
        channel
            .queue_delete(
                short(&names.unrouted_queue())?,
                QueueDeleteOptions::default(),
            )
            .await
            .map_err(|e| lapin_error("deleting the unrouted queue", e))?;
        for exchange in [
            names.events_exchange(),
            names.unrouted_exchange(),
            names.requests_exchange(),
            names.dead_letter_exchange(),
        ] {
            channel
                .exchange_delete(short(&exchange)?, ExchangeDeleteOptions::default())
                .await
                .map_err(|e| lapin_error(&format!("deleting the exchange `{exchange}`"), e))?;
        }
        let _ = channel.close(200, "OK".into()).await;
        Ok(())
    }

    /// Closes the connections: subscriptions and request servers end,
    /// further operations fail with [`BrokerError::Closed`].
    pub async fn close(&self) {
        self.inner.closed.send_replace(true);
        lock(&self.inner.publisher).take();
        self.inner.requester.clear();
        for link in [&self.inner.publish_link, &self.inner.consume_link] {
            let connection = lock(&link.current).take();
            if let Some(connection) = connection {
                let _ = connection.close(200, "OK".into()).await;
            }
        }
    }

    fn check_open(&self) -> Result<(), BrokerError> {
        if *self.inner.closed.borrow() {
            Err(BrokerError::Closed)
        } else {
            Ok(())
        }
    }

    fn is_closed(&self) -> bool {
        *self.inner.closed.borrow()
    }

    fn closed_watch(&self) -> watch::Receiver<bool> {
        self.inner.closed.subscribe()
    }

    fn spawn(&self, future: impl std::future::Future<Output = ()> + Send + 'static) {
        self.inner.runtime.spawn(future);
    }

    fn record_group(&self, group: &str) {
        lock(&self.inner.groups).insert(group.to_owned());
    }

    /// The link's connection, opened again if it dropped. While the broker
    /// cannot be reached, attempts are spaced by a growing delay, and calls
    /// in between fail at once with the last error.
    async fn connection(&self, link: &Link) -> Result<Arc<Connection>, BrokerError> {
        self.check_open()?;
        if let Some(connection) = link.live() {
            return Ok(connection);
        }
        let mut reconnect = link.reconnect.lock().await;
        if let Some(connection) = link.live() {
            return Ok(connection);
        }
        if let Some(not_before) = reconnect.not_before {
            if Instant::now() < not_before {
                return Err(reconnect.last_error.clone().unwrap_or_else(|| {
                    BrokerError::Connection("the broker cannot be reached".into())
                }));
            }
        }
        match self.open_connection(link.role).await {
            Ok(connection) => {
                if reconnect.failures > 0 {
                    tracing::info!(
                        role = link.role,
                        attempts = reconnect.failures + 1,
                        "connected to RabbitMQ again"
                    );
                }
                *reconnect = Reconnect::default();
                self.inner
                    .connections_opened
                    .fetch_add(1, Ordering::Relaxed);
                let connection = Arc::new(connection);
                *lock(&link.current) = Some(connection.clone());
                Ok(connection)
            }
            Err(error) => {
                reconnect.failures += 1;
                reconnect.not_before = Some(
                    Instant::now()
                        + backoff(reconnect.failures, self.inner.options.max_reconnect_delay),
                );
                reconnect.last_error = Some(error.clone());
                Err(error)
            }
        }
    }

    async fn open_connection(&self, role: &str) -> Result<Connection, BrokerError> {
        let options = &self.inner.options;
        let properties = ConnectionProperties::default().with_connection_name(LongString::from(
            format!("{} ({role})", options.connection_name),
        ));
        let connection = tokio::time::timeout(
            options.connect_timeout,
            Connection::connect(&self.inner.url, properties),
        )
        .await
        .map_err(|_| {
            BrokerError::Connection(format!(
                "connecting to RabbitMQ took longer than {:?}",
                options.connect_timeout
            ))
        })?
        .map_err(|e| BrokerError::Connection(format!("cannot connect to RabbitMQ: {e}")))?;
        if self.is_closed() {
            let _ = connection.close(200, "OK".into()).await;
            return Err(BrokerError::Closed);
        }
        self.declare_exchanges(&connection).await?;
        Ok(connection)
    }

    /// The arguments of a durable queue of the configured type.
    fn durable_arguments(&self) -> FieldTable {
        let mut arguments = FieldTable::default();
        if self.inner.options.queue_type == QueueType::Quorum {
            arguments.insert("x-queue-type".into(), long("quorum"));
        }
        arguments
    }

    async fn declare_exchanges(&self, connection: &Connection) -> Result<(), BrokerError> {
        let names = &self.inner.names;
        let channel = open_channel(connection).await?;
        let unrouted = names.unrouted_exchange();
        declare_exchange(
            &channel,
            &unrouted,
            ExchangeKind::Fanout,
            FieldTable::default(),
        )
        .await?;
        let mut arguments = self.durable_arguments();
        if self.inner.options.unrouted_max_length > 0 {
            arguments.insert(
                "x-max-length".into(),
                AMQPValue::LongLongInt(self.inner.options.unrouted_max_length.into()),
            );
        }
        declare_queue(&channel, &names.unrouted_queue(), arguments).await?;
        bind(&channel, &names.unrouted_queue(), &unrouted, "").await?;
        let mut arguments = FieldTable::default();
        arguments.insert("alternate-exchange".into(), long(&unrouted));
        declare_exchange(
            &channel,
            &names.events_exchange(),
            ExchangeKind::Topic,
            arguments,
        )
        .await?;
        declare_exchange(
            &channel,
            &names.requests_exchange(),
            ExchangeKind::Direct,
            FieldTable::default(),
        )
        .await?;
        declare_exchange(
            &channel,
            &names.dead_letter_exchange(),
            ExchangeKind::Topic,
            FieldTable::default(),
        )
        .await?;
        let _ = channel.close(200, "OK".into()).await;
        Ok(())
    }

    /// Declares the queues and bindings a subscription of `group` in `role`
    /// consumes from.
    async fn declare_role(
        &self,
        connection: &Connection,
        group: &str,
        role: &Role,
    ) -> Result<(), BrokerError> {
        let names = &self.inner.names;
        let channel = open_channel(connection).await?;
        let dead_letters_of = match role {
            Role::Group { topics } => {
                let queue = names.group_queue(group);
                declare_queue(&channel, &queue, self.durable_arguments()).await?;
                for topic in topics {
                    bind(&channel, &queue, &names.events_exchange(), topic).await?;
                }
                group
            }
            Role::DeadLetters { of } => of.as_str(),
        };
        let dead_letters = names.dead_letter_queue(dead_letters_of);
        declare_queue(&channel, &dead_letters, self.durable_arguments()).await?;
        bind(
            &channel,
            &dead_letters,
            &names.dead_letter_exchange(),
            dead_letters_of,
        )
        .await?;
        let _ = channel.close(200, "OK".into()).await;
        Ok(())
    }

    /// Declares the retry queue of `group` for `bucket`: its messages live
    /// `bucket`, then return to the group's queue.
    async fn declare_retry_queue(&self, group: &str, bucket: Duration) -> Result<(), BrokerError> {
        let names = &self.inner.names;
        let connection = self.connection(&self.inner.publish_link).await?;
        let channel = open_channel(&connection).await?;
        let mut arguments = self.durable_arguments();
        let ttl = i64::try_from(bucket.as_millis()).unwrap_or(i64::MAX);
        arguments.insert("x-message-ttl".into(), AMQPValue::LongLongInt(ttl));
        arguments.insert("x-dead-letter-exchange".into(), long(""));
        arguments.insert(
            "x-dead-letter-routing-key".into(),
            long(&names.group_queue(group)),
        );
        if self.inner.options.queue_type == QueueType::Quorum {
            arguments.insert("x-dead-letter-strategy".into(), long("at-least-once"));
            arguments.insert("x-overflow".into(), long("reject-publish"));
        }
        declare_queue(&channel, &names.retry_queue(group, bucket), arguments).await?;
        let _ = channel.close(200, "OK".into()).await;
        Ok(())
    }

    /// The publishing channels, opened again (with the exchanges declared
    /// again) when the connection or a channel dropped.
    async fn publisher(&self) -> Result<Arc<Publisher>, BrokerError> {
        if let Some(publisher) = lock(&self.inner.publisher).as_ref() {
            if publisher.usable() {
                return Ok(publisher.clone());
            }
        }
        let _build = self.inner.publisher_build.lock().await;
        let previous = lock(&self.inner.publisher).clone();
        if let Some(publisher) = &previous {
            if publisher.usable() {
                return Ok(publisher.clone());
            }
        }
        let connection = self.connection(&self.inner.publish_link).await?;
        if previous.is_some_and(|p| Arc::ptr_eq(&p.connection, &connection)) {
            // A channel of a live connection closed: most likely the broker
            // refused a publish to an exchange someone deleted.
            self.declare_exchanges(&connection).await?;
        }
        let mut channels = Vec::with_capacity(self.inner.options.publish_channels);
        for _ in 0..self.inner.options.publish_channels.max(1) {
            let channel = open_channel(&connection).await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await
                .map_err(|e| lapin_error("enabling publisher confirms", e))?;
            channels.push(channel);
        }
        let publisher = Arc::new(Publisher {
            connection,
            channels,
            next: AtomicUsize::new(0),
        });
        *lock(&self.inner.publisher) = Some(publisher.clone());
        Ok(publisher)
    }

    /// Publishes and waits for the broker's confirm.
    pub(crate) async fn publish_raw(
        &self,
        exchange: &str,
        routing_key: &str,
        mandatory: bool,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<Routed, BrokerError> {
        self.publish_within(exchange, routing_key, mandatory, payload, properties, 0)
            .await
    }

    /// Refuses a payload over [`AmqpOptions::max_message_bytes`].
    pub(crate) fn check_payload(&self, payload: &[u8]) -> Result<(), TooLarge> {
        let limit = self.inner.options.max_message_bytes;
        if payload.len() > limit {
            return Err(TooLarge {
                part: MessagePart::Message,
                size: payload.len(),
                limit,
                limit_name: "the broker's max_message_size, as AmqpOptions::max_message_bytes \
                             says it is"
                    .to_owned(),
            });
        }
        Ok(())
    }

    /// [`publish_raw`](Self::publish_raw), with the properties measured to
    /// fit the connection's frame size with `reserve` bytes to spare.
    async fn publish_within(
        &self,
        exchange: &str,
        routing_key: &str,
        mandatory: bool,
        payload: &[u8],
        properties: BasicProperties,
        reserve: usize,
    ) -> Result<Routed, BrokerError> {
        self.check_open()?;
        let routing_key = ShortString::try_new(routing_key).map_err(|_| TooLarge {
            part: MessagePart::Topic,
            size: routing_key.len(),
            limit: 255,
            limit_name: "AMQP for a routing key".to_owned(),
        })?;
        self.check_payload(payload)?;
        let publisher = self.publisher().await?;
        codec::check_frame(&properties, publisher.frame_max(), reserve)?;
        let confirm = publisher
            .channel()
            .basic_publish(
                short(exchange)?,
                routing_key,
                BasicPublishOptions {
                    mandatory,
                    immediate: false,
                },
                payload,
                properties,
            )
            .await
            .map_err(|e| lapin_error("publishing", e))?;
        match confirm
            .await
            .map_err(|e| lapin_error("waiting for the publish confirm", e))?
        {
            Confirmation::Ack(None) | Confirmation::NotRequested => Ok(Routed::Yes),
            Confirmation::Ack(Some(_)) => Ok(Routed::Returned),
            Confirmation::Nack(_) => Err(BrokerError::Rejected(
                "the broker did not accept the message (negative publisher confirm)".into(),
            )),
        }
    }

    /// Publishes a copy to `group`'s retry queue for `delay`, declaring it
    /// when needed.
    async fn publish_retry(
        &self,
        group: &str,
        delay: Duration,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<Routed, BrokerError> {
        let bucket = AmqpNames::retry_bucket(delay);
        let queue = self.inner.names.retry_queue(group, bucket);
        let known = lock(&self.inner.retry_queues).contains(&queue);
        if !known {
            self.declare_retry_queue(group, bucket).await?;
            lock(&self.inner.retry_queues).insert(queue.clone());
        }
        let routed = self
            .publish_raw("", &queue, true, payload, properties.clone())
            .await?;
        if routed == Routed::Yes {
            return Ok(routed);
        }
        // The queue is gone (deleted, or a broker that lost its data).
        lock(&self.inner.retry_queues).remove(&queue);
        self.declare_retry_queue(group, bucket).await?;
        lock(&self.inner.retry_queues).insert(queue.clone());
        self.publish_raw("", &queue, true, payload, properties)
            .await
    }

    /// Publishes a dead letter of `group`, declaring its queue when it is
    /// missing.
    async fn publish_dead_letter(
        &self,
        group: &str,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<(), BrokerError> {
        let exchange = self.inner.names.dead_letter_exchange();
        let routed = self
            .publish_raw(&exchange, group, true, payload, properties.clone())
            .await?;
        if routed == Routed::Yes {
            return Ok(());
        }
        let connection = self.connection(&self.inner.publish_link).await?;
        let role = Role::DeadLetters {
            of: group.to_owned(),
        };
        self.declare_role(&connection, &AmqpNames::dead_letter_group(group), &role)
            .await?;
        match self
            .publish_raw(&exchange, group, true, payload, properties)
            .await?
        {
            Routed::Yes => Ok(()),
            Routed::Returned => Err(BrokerError::Rejected(format!(
                "no queue takes the dead letters of `{group}`"
            ))),
        }
    }
}

async fn open_channel(connection: &Connection) -> Result<Channel, BrokerError> {
    connection
        .create_channel()
        .await
        .map_err(|e| lapin_error("opening a channel", e))
}

async fn declare_exchange(
    channel: &Channel,
    name: &str,
    kind: ExchangeKind,
    arguments: FieldTable,
) -> Result<(), BrokerError> {
    channel
        .exchange_declare(
            short(name)?,
            kind,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            arguments,
        )
        .await
        .map_err(|e| declare_error("exchange", name, e))
}

async fn declare_queue(
    channel: &Channel,
    name: &str,
    arguments: FieldTable,
) -> Result<(), BrokerError> {
    channel
        .queue_declare(short(name)?, QueueDeclareOptions::durable(), arguments)
        .await
        .map(drop)
        .map_err(|e| declare_error("queue", name, e))
}

async fn bind(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    routing_key: &str,
) -> Result<(), BrokerError> {
    channel
        .queue_bind(
            short(queue)?,
            short(exchange)?,
            short(routing_key)?,
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| lapin_error(&format!("binding `{queue}` to `{exchange}`"), e))
}

fn declare_error(what: &str, name: &str, error: lapin::Error) -> BrokerError {
    let text = error.to_string();
    if text.contains("PRECONDITION_FAILED") || text.contains("inequivalent") {
        BrokerError::Rejected(format!(
            "the {what} `{name}` exists with other settings ({text}); delete it, or use the \
             settings (queue type, prefix) it was declared with"
        ))
    } else {
        lapin_error(&format!("declaring the {what} `{name}`"), error)
    }
}

impl Publish for AmqpBroker {
    async fn publish(&self, message: Message) -> Result<(), BrokerError> {
        let properties = codec::encode(
            &message,
            codec::PERSISTENT,
            self.inner.options.max_header_bytes,
        )?;
        let exchange = self.inner.names.events_exchange();
        self.publish_within(
            &exchange,
            &message.topic,
            false,
            &message.payload,
            properties,
            DEAD_LETTER_HEADROOM,
        )
        .await
        .map(drop)
    }
}

impl Subscribe for AmqpBroker {
    type Subscription = AmqpSubscription;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            per_key_order: false,
            dedupes_publishes: false,
        }
    }

    async fn subscribe(&self, options: SubscribeOptions) -> Result<AmqpSubscription, BrokerError> {
        self.check_open()?;
        self.record_group(&options.group);
        let role = Role::Group {
            topics: options.topics.clone(),
        };
        subscription::open(self.clone(), options.group.clone(), role, &options).await
    }

    async fn dead_letters(&self, group: &str) -> Result<AmqpSubscription, BrokerError> {
        self.check_open()?;
        self.record_group(group);
        let name = AmqpNames::dead_letter_group(group);
        let options = SubscribeOptions::new(name.clone(), Vec::<String>::new());
        let role = Role::DeadLetters {
            of: group.to_owned(),
        };
        subscription::open(self.clone(), name, role, &options).await
    }
}

impl RequestReply for AmqpBroker {
    type Responder = AmqpResponder;

    async fn request(&self, message: Message, timeout: Duration) -> Result<Message, BrokerError> {
        self.check_open()?;
        request::send(self, message, timeout).await
    }

    async fn respond(&self, topic: &str, group: &str) -> Result<AmqpResponder, BrokerError> {
        self.check_open()?;
        request::open_responder(self.clone(), topic, group).await
    }
}

#[cfg(test)]
mod tests {
    //! Behaviour particular to RabbitMQ, against the broker at
    //! `ACCORD_AMQP_URL` (default [`DEFAULT_URL`]). Without a reachable
    //! broker these tests print why and pass, unless `CI` is set. The
    //! behaviour every backend shares is checked by the conformance suite.

    use super::*;
    use crate::broker::{Delivery, Retry, Subscription};
    use lapin::options::BasicGetOptions;

    /// Runs `test` on a broker under a prefix of its own and deletes what
    /// it declared afterwards, also when it fails. Without a reachable
    /// RabbitMQ it prints why and returns, unless `CI` is set.
    async fn with_broker<F, Fut>(name: &str, test: F)
    where
        F: FnOnce(AmqpBroker) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        use futures_util::FutureExt;
        let url = std::env::var("ACCORD_AMQP_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
        let prefix = format!(
            "accord-test-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let broker =
            match AmqpBroker::connect_with(&url, AmqpOptions::default().prefix(prefix)).await {
                Ok(broker) => broker,
                Err(error) if std::env::var_os("CI").is_some() => {
                    panic!("RabbitMQ at {url} cannot be reached: {error}")
                }
                Err(error) => {
                    println!("{name}: skipped, RabbitMQ at {url} cannot be reached ({error})");
                    return;
                }
            };
        let outcome = std::panic::AssertUnwindSafe(test(broker.clone()))
            .catch_unwind()
            .await;
        let deleted = broker.delete_topology().await;
        broker.close().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
        deleted.expect("deleting the test's topology");
    }

    async fn next<S: Subscription>(sub: &mut S) -> S::Delivery {
        tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("a delivery within 10 s")
            .expect("the subscription is open")
    }

    #[tokio::test]
    async fn events_no_group_takes_are_kept_in_the_unrouted_queue() {
        with_broker("unrouted", |broker| async move {
            broker
                .publish(Message::new("nobody.listens", "lonely").with_header("ce-id", "u-1"))
                .await
                .unwrap();
            let connection = broker.connection(&broker.inner.publish_link).await.unwrap();
            let channel = connection.create_channel().await.unwrap();
            let got = channel
                .basic_get(
                    broker.names().unrouted_queue().into(),
                    BasicGetOptions { no_ack: true },
                )
                .await
                .unwrap()
                .expect("the unrouted event is in the unrouted queue");
            assert_eq!(got.delivery.data, b"lonely");
            assert_eq!(got.delivery.routing_key.as_str(), "nobody.listens");
        })
        .await;
    }

    #[tokio::test]
    async fn a_declared_group_collects_events_before_anyone_subscribes() {
        with_broker("declared", |broker| async move {
            broker.declare_group("early", &["t.early"]).await.unwrap();
            broker
                .publish(Message::new("t.early", "first"))
                .await
                .unwrap();
            let mut sub = broker
                .subscribe(SubscribeOptions::new("early", ["t.early"]))
                .await
                .unwrap();
            let delivery = next(&mut sub).await;
            assert_eq!(&delivery.message().payload[..], b"first");
            assert_eq!(delivery.attempt(), 1);
            delivery.ack().await.unwrap();
            drop(sub);
        })
        .await;
    }

    #[tokio::test]
    async fn a_late_settlement_after_the_ack_wait_leaves_the_channel_usable() {
        with_broker("late-ack", |broker| async move {
            let options = SubscribeOptions::new("late", ["t.late"])
                .max_in_flight(2)
                .ack_wait(Duration::from_millis(300));
            let mut sub = broker.subscribe(options).await.unwrap();
            broker
                .publish(Message::new("t.late", "slow"))
                .await
                .unwrap();
            let stale = next(&mut sub).await;
            let again = next(&mut sub).await;
            assert_eq!(again.attempt(), 2, "delivered again after the ack wait");
            stale.ack().await.unwrap();
            again.ack().await.unwrap();
            stale_retry_and_dead_letter_are_ignored(&broker, &mut sub).await;
            broker
                .publish(Message::new("t.late", "next"))
                .await
                .unwrap();
            let next_one = next(&mut sub).await;
            assert_eq!(&next_one.message().payload[..], b"next");
            assert_eq!(next_one.attempt(), 1);
            next_one.ack().await.unwrap();
            drop(sub);
        })
        .await;
    }

    async fn stale_retry_and_dead_letter_are_ignored(
        broker: &AmqpBroker,
        sub: &mut AmqpSubscription,
    ) {
        broker
            .publish(Message::new("t.late", "twice"))
            .await
            .unwrap();
        let first = next(sub).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        first.dead_letter("too late").await.unwrap();
        let second = next(sub).await;
        assert_eq!(&second.message().payload[..], b"twice");
        assert_eq!(second.attempt(), 2);
        second.ack().await.unwrap();
        let mut dead = broker.dead_letters("late").await.unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), dead.next())
                .await
                .is_err(),
            "a dead_letter after the ack wait is ignored"
        );
    }

    #[tokio::test]
    async fn a_dropped_member_hands_back_what_it_had_not_taken_as_the_same_attempt() {
        with_broker("hand-back", |broker| async move {
            let options = SubscribeOptions::new("back", ["t.back"]).max_in_flight(5);
            let mut first = broker.subscribe(options.clone()).await.unwrap();
            for i in 0..5 {
                broker
                    .publish(Message::new("t.back", format!("m{i}")))
                    .await
                    .unwrap();
            }
            // The broker sends all five ahead; the member takes one.
            let taken = next(&mut first).await;
            let taken_body = String::from_utf8_lossy(&taken.message().payload).into_owned();
            drop(first);
            taken.ack().await.unwrap();
            let mut second = broker.subscribe(options).await.unwrap();
            let mut rest = Vec::new();
            for _ in 0..4 {
                let delivery = next(&mut second).await;
                assert_eq!(delivery.attempt(), 1, "never handed out, so not an attempt");
                rest.push(String::from_utf8_lossy(&delivery.message().payload).into_owned());
                delivery.ack().await.unwrap();
            }
            rest.push(taken_body);
            rest.sort();
            assert_eq!(rest, ["m0", "m1", "m2", "m3", "m4"]);
            assert!(
                tokio::time::timeout(Duration::from_millis(300), second.next())
                    .await
                    .is_err(),
                "nothing comes twice"
            );
        })
        .await;
    }

    #[tokio::test]
    async fn retries_wait_in_a_bucket_queue_and_come_back_to_their_group_only() {
        with_broker("retry", |broker| async move {
            let mut a = broker
                .subscribe(SubscribeOptions::new("a", ["t.retry"]))
                .await
                .unwrap();
            let mut b = broker
                .subscribe(SubscribeOptions::new("b", ["t.retry"]))
                .await
                .unwrap();
            broker.publish(Message::new("t.retry", "r")).await.unwrap();
            let first = next(&mut a).await;
            first.retry(Duration::from_millis(120)).await.unwrap();
            let again = next(&mut a).await;
            assert_eq!(again.attempt(), 2);
            assert_eq!(again.message().topic, "t.retry");
            again.ack().await.unwrap();
            let other = next(&mut b).await;
            assert_eq!(other.attempt(), 1);
            other.ack().await.unwrap();
            assert!(
                tokio::time::timeout(Duration::from_millis(300), b.next())
                    .await
                    .is_err(),
                "the other group does not see the retry"
            );
            assert!(lock(&broker.inner.retry_queues)
                .contains(&broker.names().retry_queue("a", Duration::from_millis(150))));
            drop((a, b));
        })
        .await;
    }
}
