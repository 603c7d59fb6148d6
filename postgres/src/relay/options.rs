//! How a relay paces itself: batch sizes, intervals, backoff, retention.

use std::time::Duration;

use accord::events::Backoff;

use crate::DEFAULT_STATEMENT_TIMEOUT;

/// The default most rows a relay reads from one partition at a time: 100.
pub const DEFAULT_BATCH_SIZE: u32 = 100;
/// The default longest a relay waits for a notification before it looks
/// at its partitions anyway: 1 s.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// The default interval at which a relay counts the relays of its table
/// and takes or hands back partitions: 1 s.
pub const DEFAULT_REBALANCE_INTERVAL: Duration = Duration::from_secs(1);
/// The default longest a relay waits for the broker to confirm one event
/// before it counts as a transient failure: 30 s.
pub const DEFAULT_PUBLISH_TIMEOUT: Duration = Duration::from_secs(30);
/// The default time sent rows are kept before they are pruned: 24 h.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// The default interval between prunes: 60 s.
pub const DEFAULT_PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// The default most rows one prune statement deletes: 1,000.
pub const DEFAULT_PRUNE_BATCH: u32 = 1_000;

/// How a [`Relay`](super::Relay) works; every field has a documented
/// default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelayOptions {
    /// The most rows read from one partition at a time (at least 1).
    /// Default [`DEFAULT_BATCH_SIZE`].
    pub batch_size: u32,
    /// The longest the relay waits for a notification before it looks at
    /// its partitions anyway: the fallback when a notification is lost
    /// (the listening connection was down). Default
    /// [`DEFAULT_POLL_INTERVAL`].
    pub poll_interval: Duration,
    /// How often the relay counts the relays of its table and takes free
    /// partitions or hands back extra ones, so each holds its fair share.
    /// It bounds how long a dead relay's partitions wait for another.
    /// Default [`DEFAULT_REBALANCE_INTERVAL`].
    pub rebalance_interval: Duration,
    /// Delays after consecutive failures of the broker on one partition
    /// (which alone is held back meanwhile), and before reconnecting to
    /// the database: exponential with jitter. Default 100 ms doubling up
    /// to 30 s.
    pub backoff: Backoff,
    /// The longest the relay waits for the broker to confirm one event;
    /// past it the publish counts as a transient failure and is retried.
    /// Default [`DEFAULT_PUBLISH_TIMEOUT`].
    pub publish_timeout: Duration,
    /// How long sent rows are kept before they are pruned. Default
    /// [`DEFAULT_RETENTION`]. Failed rows are never pruned.
    pub retention: Duration,
    /// How often the relay prunes the sent rows of its partitions. Default
    /// [`DEFAULT_PRUNE_INTERVAL`].
    pub prune_interval: Duration,
    /// The most rows one prune statement deletes (at least 1); a prune
    /// runs statements until fewer are left. Default
    /// [`DEFAULT_PRUNE_BATCH`].
    pub prune_batch: u32,
    /// The longest one statement on the relay's session (reading a
    /// partition, marking a row, taking or handing back partitions,
    /// pruning) waits for PostgreSQL's answer. Past it the session counts
    /// as lost, as when the database is down: the relay drops the
    /// connection (PostgreSQL releases its partitions once it notices) and
    /// reconnects after its backoff. It also bounds how long a shutdown
    /// waits for a statement in flight. Default
    /// [`DEFAULT_STATEMENT_TIMEOUT`] (30 s).
    pub statement_timeout: Duration,
}

impl Default for RelayOptions {
    fn default() -> Self {
        RelayOptions {
            batch_size: DEFAULT_BATCH_SIZE,
            poll_interval: DEFAULT_POLL_INTERVAL,
            rebalance_interval: DEFAULT_REBALANCE_INTERVAL,
            backoff: Backoff {
                initial: Duration::from_millis(100),
                max: Duration::from_secs(30),
                multiplier: 2.0,
            },
            publish_timeout: DEFAULT_PUBLISH_TIMEOUT,
            retention: DEFAULT_RETENTION,
            prune_interval: DEFAULT_PRUNE_INTERVAL,
            prune_batch: DEFAULT_PRUNE_BATCH,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
        }
    }
}

impl RelayOptions {
    /// Sets [`batch_size`](Self::batch_size) (at least 1).
    pub fn batch_size(mut self, rows: u32) -> Self {
        self.batch_size = rows.max(1);
        self
    }

    /// Sets [`poll_interval`](Self::poll_interval).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Sets [`rebalance_interval`](Self::rebalance_interval).
    pub fn rebalance_interval(mut self, interval: Duration) -> Self {
        self.rebalance_interval = interval;
        self
    }

    /// Sets [`backoff`](Self::backoff).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets [`publish_timeout`](Self::publish_timeout).
    pub fn publish_timeout(mut self, timeout: Duration) -> Self {
        self.publish_timeout = timeout;
        self
    }

    /// Sets [`retention`](Self::retention).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Sets [`prune_interval`](Self::prune_interval).
    pub fn prune_interval(mut self, interval: Duration) -> Self {
        self.prune_interval = interval;
        self
    }

    /// Sets [`prune_batch`](Self::prune_batch) (at least 1).
    pub fn prune_batch(mut self, rows: u32) -> Self {
        self.prune_batch = rows.max(1);
        self
    }

    /// Sets [`statement_timeout`](Self::statement_timeout) (more than zero).
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        assert!(
            !timeout.is_zero(),
            "RelayOptions::statement_timeout must be more than zero"
        );
        self.statement_timeout = timeout;
        self
    }
}
