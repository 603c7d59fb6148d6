//! How a [`KafkaBroker`](super::KafkaBroker) names, declares and consumes
//! what it uses, with the defaults.

use std::time::Duration;

use crate::broker::limits::DEFAULT_MAX_HEADER_BYTES;

/// The address of a Kafka broker on this machine.
pub const DEFAULT_URL: &str = "kafka://127.0.0.1:9092";

/// The default prefix of the dead-letter topics accord creates.
pub const DEFAULT_PREFIX: &str = "accord";

/// The default partition count of the topics accord creates.
pub const DEFAULT_PARTITIONS: i32 = 6;

/// The largest record accord publishes unless set otherwise: 1,000,000
/// bytes, the producer's and (near enough) the broker's default
/// `message.max.bytes`.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_000_000;

/// The default consumer session timeout: Kafka's own default (45 s);
/// brokers refuse one below their `group.min.session.timeout.ms` (6 s by
/// default).
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(45);

/// The default consumer heartbeat interval: Kafka's own default (3 s).
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(3);

/// The default bound on records a member has read and not yet handed out
/// (held behind an earlier record of their key, or waiting for a slot).
pub const DEFAULT_MAX_BUFFERED: usize = 1024;

/// How a [`KafkaBroker`](super::KafkaBroker) names, declares and consumes
/// what it uses.
#[derive(Debug, Clone)]
pub struct KafkaOptions {
    /// The prefix of the dead-letter topics and consumer groups accord
    /// names (`accord`).
    pub prefix: String,
    /// Partitions of each topic accord creates ([`DEFAULT_PARTITIONS`], 6).
    /// Topics that exist already keep theirs.
    pub partitions: i32,
    /// Replicas of each topic accord creates (1; 3 is the usual choice for
    /// a cluster).
    pub replication: i32,
    /// The largest record, key, headers and payload in bytes, a publish
    /// may carry ([`DEFAULT_MAX_MESSAGE_BYTES`]); set it to the broker's
    /// `message.max.bytes`. An event is held to this less
    /// [`DEAD_LETTER_HEADROOM`](crate::broker::DEAD_LETTER_HEADROOM), so
    /// that it can always be dead-lettered.
    pub max_message_bytes: usize,
    /// The largest header, name and value in bytes, a publish may carry
    /// ([`DEFAULT_MAX_HEADER_BYTES`], 16 KiB).
    pub max_header_bytes: usize,
    /// The consumer session timeout ([`DEFAULT_SESSION_TIMEOUT`], 45 s):
    /// how long a silent member keeps its partitions. Shorter means faster
    /// takeover after a crash; the broker refuses values below its
    /// `group.min.session.timeout.ms`.
    pub session_timeout: Duration,
    /// The consumer heartbeat interval ([`DEFAULT_HEARTBEAT_INTERVAL`],
    /// 3 s), well below the session timeout.
    pub heartbeat_interval: Duration,
    /// How long a publish may wait for the broker's acknowledgement,
    /// retries included (30 s).
    pub publish_timeout: Duration,
    /// How long creating or looking up a topic may take (10 s).
    pub admin_timeout: Duration,
    /// The most records a member reads ahead and keeps before handing
    /// them out ([`DEFAULT_MAX_BUFFERED`], 1024); beyond that it stops
    /// reading until some are handed out.
    pub max_buffered: usize,
    /// `client.id` of the producer and consumers (`accord`).
    pub client_id: String,
    /// Further librdkafka settings for the producer and consumers
    /// (security, SASL, ...), applied after accord's own.
    pub extra: Vec<(String, String)>,
}

impl Default for KafkaOptions {
    fn default() -> Self {
        KafkaOptions {
            prefix: DEFAULT_PREFIX.to_owned(),
            partitions: DEFAULT_PARTITIONS,
            replication: 1,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            publish_timeout: Duration::from_secs(30),
            admin_timeout: Duration::from_secs(10),
            max_buffered: DEFAULT_MAX_BUFFERED,
            client_id: "accord".to_owned(),
            extra: Vec::new(),
        }
    }
}

impl KafkaOptions {
    /// The defaults (see each field).
    pub fn new() -> Self {
        KafkaOptions::default()
    }

    /// Sets [`prefix`](KafkaOptions::prefix).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets [`partitions`](KafkaOptions::partitions) (at least 1).
    pub fn partitions(mut self, partitions: i32) -> Self {
        self.partitions = partitions.max(1);
        self
    }

    /// Sets [`replication`](KafkaOptions::replication) (at least 1).
    pub fn replication(mut self, replicas: i32) -> Self {
        self.replication = replicas.max(1);
        self
    }

    /// Sets [`max_message_bytes`](KafkaOptions::max_message_bytes).
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// Sets [`max_header_bytes`](KafkaOptions::max_header_bytes).
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Sets the consumer [`session_timeout`](KafkaOptions::session_timeout)
    /// and [`heartbeat_interval`](KafkaOptions::heartbeat_interval).
    pub fn group_timing(mut self, session_timeout: Duration, heartbeat_interval: Duration) -> Self {
        self.session_timeout = session_timeout;
        self.heartbeat_interval = heartbeat_interval;
        self
    }

    /// Sets [`publish_timeout`](KafkaOptions::publish_timeout); zero is
    /// taken as 1 ms (librdkafka takes a `message.timeout.ms` of 0 as no
    /// limit).
    pub fn publish_timeout(mut self, timeout: Duration) -> Self {
        self.publish_timeout = timeout;
        self
    }

    /// Sets [`max_buffered`](KafkaOptions::max_buffered) (at least 1).
    pub fn max_buffered(mut self, records: usize) -> Self {
        self.max_buffered = records.max(1);
        self
    }

    /// Adds a librdkafka setting (see [`extra`](KafkaOptions::extra)).
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((key.into(), value.into()));
        self
    }
}
