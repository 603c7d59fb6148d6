//! The settings of a [`RedisDedupe`](crate::RedisDedupe), each with its
//! documented default.

use std::time::Duration;

use accord::events::dedupe::DEFAULT_DEDUPE_MAX_ID_LEN;

/// The default prefix of every key: `accord:dedupe`.
pub const DEFAULT_KEY_PREFIX: &str = "accord:dedupe";

/// The default time a claim lasts: 5 minutes.
pub const DEFAULT_CLAIM_TTL: Duration = Duration::from_secs(5 * 60);

/// The default time a handled id is remembered: 24 hours.
///
/// Long enough for the copies an at-least-once system makes (a publisher
/// retrying, a delivery coming again after a member crashed, an outbox
/// sending again after an outage of up to a day), short enough that Redis
/// holds a day of ids: about 200 bytes each (see the crate documentation).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// The default longest wait for a connection to Redis: 2 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The default longest wait for Redis to answer a command: 2 seconds.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The default longest group name or event id kept as it is in a key:
/// 256 bytes, as for accord's in-memory store. A longer one is kept as its
/// SHA-256 digest.
pub const DEFAULT_MAX_ID_LEN: usize = DEFAULT_DEDUPE_MAX_ID_LEN;

/// The shortest time to live a claim or a handled id can have: 1 ms, the
/// unit of `PX`.
const MIN_TTL: Duration = Duration::from_millis(1);

/// The shortest connect or response timeout: 1 ms.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// How a [`RedisDedupe`](crate::RedisDedupe) names its keys, how long they
/// live and how long it waits for Redis.
///
/// ```
/// use std::time::Duration;
/// use accord_redis::RedisDedupeOptions;
///
/// let options = RedisDedupeOptions::new()
///     .key_prefix("shop:dedupe")
///     .claim_ttl(Duration::from_secs(60))
///     .retention(Duration::from_secs(24 * 60 * 60));
/// assert_eq!(options.get_claim_ttl(), Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisDedupeOptions {
    pub(crate) key_prefix: String,
    pub(crate) claim_ttl: Duration,
    pub(crate) retention: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) max_id_len: usize,
}

impl Default for RedisDedupeOptions {
    fn default() -> Self {
        RedisDedupeOptions {
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            claim_ttl: DEFAULT_CLAIM_TTL,
            retention: DEFAULT_RETENTION,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            max_id_len: DEFAULT_MAX_ID_LEN,
        }
    }
}

impl RedisDedupeOptions {
    /// The defaults: keys under [`DEFAULT_KEY_PREFIX`], claims lasting
    /// [`DEFAULT_CLAIM_TTL`], handled ids remembered for
    /// [`DEFAULT_RETENTION`], [`DEFAULT_CONNECT_TIMEOUT`] and
    /// [`DEFAULT_RESPONSE_TIMEOUT`], ids longer than [`DEFAULT_MAX_ID_LEN`]
    /// kept as digests.
    pub fn new() -> Self {
        RedisDedupeOptions::default()
    }

    /// The prefix of every key (default [`DEFAULT_KEY_PREFIX`]): a key is
    /// `<prefix>:<group>:<id>`. Stores that share a prefix on one Redis
    /// share what they know, as the members of one service should; give
    /// unrelated deployments on one Redis prefixes of their own.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How long a claim lasts (default [`DEFAULT_CLAIM_TTL`], at least
    /// 1 ms): the time after which an event claimed by a member that
    /// crashed can be handled by another.
    ///
    /// It must exceed the longest run of a handler: a claim that expires
    /// while its handler still runs lets another member handle the event
    /// at the same time. Keep it above the subscriber's ack wait, after
    /// which the broker delivers the event elsewhere anyway.
    pub fn claim_ttl(mut self, ttl: Duration) -> Self {
        self.claim_ttl = ttl.max(MIN_TTL);
        self
    }

    /// How long a handled (or dead-lettered) id is remembered (default
    /// [`DEFAULT_RETENTION`], at least 1 ms): a copy of the event that
    /// arrives later is handled again. Redis holds one key per id handled
    /// within this window, so it sizes Redis's memory (see the crate
    /// documentation).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention.max(MIN_TTL);
        self
    }

    /// The longest wait for a connection to Redis (default
    /// [`DEFAULT_CONNECT_TIMEOUT`], at least 1 ms).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout.max(MIN_TIMEOUT);
        self
    }

    /// The longest wait for Redis to answer a command (default
    /// [`DEFAULT_RESPONSE_TIMEOUT`], at least 1 ms).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout.max(MIN_TIMEOUT);
        self
    }

    /// The longest group name or event id kept as it is in a key (default
    /// [`DEFAULT_MAX_ID_LEN`]); a longer one is kept as its SHA-256
    /// digest, so one id costs a bounded number of bytes whatever a
    /// publisher sent.
    pub fn max_id_len(mut self, len: usize) -> Self {
        self.max_id_len = len;
        self
    }

    /// The key prefix.
    pub fn get_key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// How long a claim lasts.
    pub fn get_claim_ttl(&self) -> Duration {
        self.claim_ttl
    }

    /// How long a handled id is remembered.
    pub fn get_retention(&self) -> Duration {
        self.retention
    }

    /// The longest wait for a connection.
    pub fn get_connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The longest wait for an answer.
    pub fn get_response_timeout(&self) -> Duration {
        self.response_timeout
    }

    /// The longest store call: a connection and one command (two for a
    /// `begin` that finds the id taken), each within its timeout.
    pub fn call_timeout(&self) -> Duration {
        self.connect_timeout + self.response_timeout * 2
    }
}

/// A duration in whole milliseconds for `PX`, at least 1.
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}
