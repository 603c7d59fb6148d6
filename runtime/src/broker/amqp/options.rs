//! How an [`AmqpBroker`](super::AmqpBroker) names and declares things.

use std::time::Duration;

use crate::broker::limits::DEFAULT_MAX_HEADER_BYTES;
use crate::tls::ClientTls;

/// The URL of a RabbitMQ on this machine with the default user and vhost.
pub const DEFAULT_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// The largest payload a publish may carry unless set otherwise
/// ([`AmqpOptions::max_message_bytes`]): 128 MiB, RabbitMQ's default
/// `max_message_size` up to 3.13. RabbitMQ 4 lowers its default to 16 MiB;
/// set this to the broker's `max_message_size`, so that a larger event is
/// refused here, naming the limit, rather than by the broker, which closes
/// the publishing channel.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 128 << 20;

/// How long a publish waits for the broker's confirm unless set otherwise
/// ([`AmqpOptions::confirm_timeout`]): 30 s.
pub const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);

/// How long declaring, deleting, browsing dead letters, starting a
/// consumer or closing may wait for RabbitMQ's answers unless set
/// otherwise ([`AmqpOptions::operation_timeout`]): 30 s.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

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

/// How an [`AmqpBroker`](super::AmqpBroker) names and declares things.
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
    /// How long a publish (an event, a retry copy, a dead letter or a reply;
    /// a request has its own timeout) may wait for the broker to take it and confirm it
    /// ([`DEFAULT_CONFIRM_TIMEOUT`], 30 s). RabbitMQ stops reading from
    /// publishing connections while a memory or disk alarm is set; past this
    /// wait the publish fails, saying so, instead of hanging.
    pub confirm_timeout: Duration,
    /// How long one operation on the topology or a queue (declaring a
    /// group's queues, starting a consumer, deleting, browsing dead letters,
    /// closing) may wait for RabbitMQ's answers
    /// ([`DEFAULT_OPERATION_TIMEOUT`], 30 s). A broker that keeps the
    /// connection open but stops answering (an alarm, an overloaded node)
    /// makes the operation fail, naming it, instead of hang; a consumer
    /// tries again with its backoff.
    pub operation_timeout: Duration,
    /// The connection name shown by RabbitMQ (`accord`), followed by the
    /// connection's role.
    pub connection_name: String,
    /// The largest header, name and value in bytes, a publish, request or
    /// reply may carry ([`DEFAULT_MAX_HEADER_BYTES`], 16 KiB).
    pub max_header_bytes: usize,
    /// The largest payload a publish, request or reply may carry
    /// ([`DEFAULT_MAX_MESSAGE_BYTES`], 128 MiB).
    pub max_message_bytes: usize,
    /// How many key partition queues a group ordered by key has (8, at
    /// most 256): how many keys its members handle at once. Every member of
    /// one group must use the same count (queues bound with another count
    /// would overlap and deliver an event twice); publishers need no
    /// setting. See [`KeyOrder`](crate::broker::KeyOrder).
    pub key_partitions: usize,
    /// The TLS settings for an `amqps://` URL (none: the platform's trust
    /// store, no client certificate). RabbitMQ's client always trusts the
    /// platform's store and adds the certificates given with
    /// [`ClientTls::ca_pem`]; other roots and a whole rustls configuration
    /// are refused.
    pub tls: Option<ClientTls>,
}

impl Default for AmqpOptions {
    fn default() -> Self {
        AmqpOptions {
            prefix: super::DEFAULT_PREFIX.to_owned(),
            queue_type: QueueType::Classic,
            publish_channels: 4,
            unrouted_max_length: 100_000,
            connect_timeout: Duration::from_secs(10),
            max_reconnect_delay: Duration::from_secs(2),
            confirm_timeout: DEFAULT_CONFIRM_TIMEOUT,
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            connection_name: "accord".to_owned(),
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            key_partitions: 8,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            tls: None,
        }
    }
}

impl AmqpOptions {
    /// Sets the TLS settings for an `amqps://` URL.
    pub fn tls(mut self, tls: ClientTls) -> Self {
        self.tls = Some(tls);
        self
    }

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

    /// Sets how many key partition queues a group ordered by key has
    /// (between 1 and 256).
    pub fn key_partitions(mut self, partitions: usize) -> Self {
        self.key_partitions = partitions.clamp(1, 256);
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

    /// Sets how long a publish may wait for the broker's confirm (more than
    /// zero).
    pub fn confirm_timeout(mut self, timeout: Duration) -> Self {
        assert!(
            !timeout.is_zero(),
            "AmqpOptions::confirm_timeout must be more than zero"
        );
        self.confirm_timeout = timeout;
        self
    }

    /// Sets how long one operation on the topology or a queue may wait for
    /// RabbitMQ's answers (more than zero).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        assert!(
            !timeout.is_zero(),
            "AmqpOptions::operation_timeout must be more than zero"
        );
        self.operation_timeout = timeout;
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
