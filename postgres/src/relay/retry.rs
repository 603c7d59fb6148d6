//! When each partition may be tried again after the broker failed on it.
//!
//! A transient failure holds back only the partition it happened on (its
//! first unsent row must go first), for an exponential backoff with jitter
//! that grows with its consecutive failures; the relay's other partitions
//! go on. A broker that is down fails them all, and each then tries once
//! per its own backoff.

use std::collections::HashMap;

use accord::events::Backoff;
use tokio::time::Instant;

/// The partitions held back, each with its consecutive failures and when
/// it may be tried again. Holds at most one entry per owned partition.
#[derive(Debug, Default)]
pub(crate) struct Retries {
    held: HashMap<i16, (u32, Instant)>,
}

impl Retries {
    /// Whether `partition` is held back now.
    pub(crate) fn waiting(&self, partition: i16, now: Instant) -> bool {
        self.held.get(&partition).is_some_and(|(_, at)| *at > now)
    }

    /// The broker failed on `partition`: holds it back; returns the
    /// consecutive failures and the delay.
    pub(crate) fn failed(
        &mut self,
        partition: i16,
        backoff: &Backoff,
    ) -> (u32, std::time::Duration) {
        let entry = self.held.entry(partition).or_insert((0, Instant::now()));
        entry.0 = entry.0.saturating_add(1);
        let delay = backoff.delay(entry.0);
        entry.1 = Instant::now() + delay;
        (entry.0, delay)
    }

    /// The broker took `partition`'s rows: it goes on at once.
    pub(crate) fn succeeded(&mut self, partition: i16) {
        self.held.remove(&partition);
    }

    /// Forgets the partitions no longer owned.
    pub(crate) fn keep_only(&mut self, owned: &[i16]) {
        self.held.retain(|partition, _| owned.contains(partition));
    }

    /// When the first held-back partition may be tried again.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.held.values().map(|(_, at)| *at).min()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_failure_holds_back_its_partition_only_and_longer_each_time() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            multiplier: 2.0,
        };
        let mut retries = Retries::default();
        let now = Instant::now();
        let (failures, first) = retries.failed(3, &backoff);
        assert_eq!(failures, 1);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        assert!(retries.waiting(3, now));
        assert!(!retries.waiting(4, now), "other partitions go on");
        let (failures, second) = retries.failed(3, &backoff);
        assert_eq!(failures, 2);
        assert!(second >= Duration::from_millis(100), "{second:?}");
        assert!(retries.next().is_some());
        retries.succeeded(3);
        assert!(!retries.waiting(3, now));
        retries.failed(5, &backoff);
        retries.keep_only(&[1, 2]);
        assert_eq!(retries.next(), None, "a partition handed back is forgotten");
    }
}
