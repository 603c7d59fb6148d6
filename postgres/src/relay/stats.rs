//! What a relay counts: in [`RelayStats`] for its handle, and through the
//! `metrics` facade.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `accord_outbox_published_total` | counter | `table` |
//! | `accord_outbox_failed_total` | counter | `table` |
//! | `accord_outbox_publish_retries_total` | counter | `table` |
//! | `accord_outbox_partitions_owned` | gauge | `table` |

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use metrics::{counter, gauge};

/// Events published from the outbox (the broker confirmed them).
pub const PUBLISHED: &str = "accord_outbox_published_total";
/// Events the broker refused for good, marked failed in the outbox.
pub const FAILED: &str = "accord_outbox_failed_total";
/// Publishes that failed transiently and are tried again.
pub const RETRIES: &str = "accord_outbox_publish_retries_total";
/// Partitions the relays of this process own.
pub const PARTITIONS_OWNED: &str = "accord_outbox_partitions_owned";

/// Describes the metrics above (help texts) to the installed recorder;
/// call it once after installing one, as accord's
/// `observe::metrics::describe` for its own.
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge};
    describe_counter!(PUBLISHED, "Outbox events published and marked sent.");
    describe_counter!(
        FAILED,
        "Outbox events the broker refused for good, marked failed."
    );
    describe_counter!(
        RETRIES,
        "Outbox publishes that failed transiently and are tried again."
    );
    describe_gauge!(
        PARTITIONS_OWNED,
        "Outbox partitions owned by relays of this process."
    );
}

/// Counts of what one relay did, for monitoring and tests.
#[derive(Debug, Default)]
pub struct RelayStats {
    published: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    owned: AtomicUsize,
}

impl RelayStats {
    /// Events published and marked sent.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Events the broker refused for good, marked failed.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Publishes that failed transiently (broker down, no confirm in
    /// time) and are tried again after a backoff.
    pub fn retried(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }

    /// The partitions this relay owns now.
    pub fn owned_partitions(&self) -> usize {
        self.owned.load(Ordering::Relaxed)
    }
}

/// Counts into a relay's stats and the metrics, labelled by table.
#[derive(Debug, Clone)]
pub(crate) struct Counters {
    pub(crate) stats: Arc<RelayStats>,
    table: Arc<str>,
}

impl Counters {
    pub(crate) fn new(table: Arc<str>) -> Self {
        Counters {
            stats: Arc::default(),
            table,
        }
    }

    pub(crate) fn published(&self) {
        self.stats.published.fetch_add(1, Ordering::Relaxed);
        counter!(PUBLISHED, "table" => self.table.to_string()).increment(1);
    }

    pub(crate) fn failed(&self) {
        self.stats.failed.fetch_add(1, Ordering::Relaxed);
        counter!(FAILED, "table" => self.table.to_string()).increment(1);
    }

    pub(crate) fn retried(&self) {
        self.stats.retried.fetch_add(1, Ordering::Relaxed);
        counter!(RETRIES, "table" => self.table.to_string()).increment(1);
    }

    /// The relay now owns `now` partitions, `before` before.
    pub(crate) fn owned(&self, before: usize, now: usize) {
        self.stats.owned.store(now, Ordering::Relaxed);
        if now != before {
            gauge!(PARTITIONS_OWNED, "table" => self.table.to_string())
                .increment(now as f64 - before as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;

    #[test]
    fn counts_reach_the_stats_and_the_metrics_by_table() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let counters = Counters::new("accord_outbox".into());
        metrics::with_local_recorder(&recorder, || {
            counters.published();
            counters.published();
            counters.failed();
            counters.retried();
            counters.owned(0, 6);
            counters.owned(6, 4);
        });
        assert_eq!(counters.stats.published(), 2);
        assert_eq!(counters.stats.failed(), 1);
        assert_eq!(counters.stats.retried(), 1);
        assert_eq!(counters.stats.owned_partitions(), 4);
        // One snapshot: taking one resets the counters it read.
        let snapshot = snapshotter.snapshot().into_vec();
        let value = |name: &str| {
            snapshot
                .iter()
                .find(|(key, ..)| {
                    let key = key.key();
                    key.name() == name
                        && key
                            .labels()
                            .any(|l| l.key() == "table" && l.value() == "accord_outbox")
                })
                .map(|(.., value)| match value {
                    DebugValue::Counter(n) => *n as f64,
                    DebugValue::Gauge(g) => g.into_inner(),
                    DebugValue::Histogram(h) => h.len() as f64,
                })
        };
        assert_eq!(value(PUBLISHED), Some(2.0));
        assert_eq!(value(FAILED), Some(1.0));
        assert_eq!(value(RETRIES), Some(1.0));
        assert_eq!(value(PARTITIONS_OWNED), Some(4.0));
    }
}
