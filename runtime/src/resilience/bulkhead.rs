//! A bulkhead: at most so many calls in flight to one target; one more
//! waits a short, set time for a slot and then fails, so a slow target
//! holds a bounded share of the caller's tasks and connections.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// How many calls may be in flight to one target.
///
/// | setting | default |
/// |---|---|
/// | calls in flight | 128 ([`max_concurrent`](Self::max_concurrent)) |
/// | longest wait for a slot | 100 ms ([`max_wait`](Self::max_wait)) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkheadSettings {
    max_concurrent: usize,
    max_wait: Duration,
}

impl Default for BulkheadSettings {
    fn default() -> Self {
        BulkheadSettings {
            max_concurrent: 128,
            max_wait: Duration::from_millis(100),
        }
    }
}

impl BulkheadSettings {
    /// Sets how many calls may be in flight at once, retries and their
    /// backoff included.
    ///
    /// # Panics
    ///
    /// If `calls` is zero.
    pub fn max_concurrent(mut self, calls: usize) -> Self {
        assert!(
            calls > 0,
            "BulkheadSettings::max_concurrent must be more than zero"
        );
        self.max_concurrent = calls;
        self
    }

    /// Sets how long a call waits for a slot before failing with
    /// [`CallError::BulkheadFull`](crate::CallError::BulkheadFull); zero
    /// fails it at once.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }
}

/// A call refused because the target's calls in flight were at the limit
/// for longer than the bulkhead's wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkheadFull {
    /// The target (a base URL).
    pub target: Arc<str>,
    /// The limit of calls in flight.
    pub max_concurrent: usize,
    /// How long the call waited for a slot.
    pub waited: Duration,
}

impl fmt::Display for BulkheadFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} calls to {} were already in flight and none ended within {:?}; the call was not sent \
             (the target is slow or the load is above the limit: HttpTransportBuilder::bulkhead sets the limit and the wait)",
            self.max_concurrent, self.target, self.waited
        )
    }
}

impl std::error::Error for BulkheadFull {}

/// The bulkhead of one target.
#[derive(Debug)]
pub(crate) struct Bulkhead {
    settings: BulkheadSettings,
    slots: Semaphore,
    target: Arc<str>,
}

impl Bulkhead {
    pub(crate) fn new(target: Arc<str>, settings: BulkheadSettings) -> Self {
        Bulkhead {
            slots: Semaphore::new(settings.max_concurrent),
            settings,
            target,
        }
    }

    /// The calls in flight now.
    pub(crate) fn in_flight(&self) -> usize {
        self.settings.max_concurrent - self.slots.available_permits()
    }

    /// A slot, waiting at most the bulkhead's wait or until `deadline`,
    /// whichever comes first. The clock is read only when the call must
    /// wait.
    pub(crate) async fn acquire(&self, deadline: Instant) -> Acquired<'_> {
        if let Ok(permit) = self.slots.try_acquire() {
            return Acquired::Now(permit);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let wait = self.settings.max_wait.min(left);
        match tokio::time::timeout(wait, self.slots.acquire()).await {
            Ok(Ok(permit)) => Acquired::Waited(permit),
            _ if wait == left => Acquired::TimedOut,
            _ => Acquired::Full(BulkheadFull {
                target: self.target.clone(),
                max_concurrent: self.settings.max_concurrent,
                waited: wait,
            }),
        }
    }
}

/// What [`Bulkhead::acquire`] got.
#[derive(Debug)]
pub(crate) enum Acquired<'a> {
    /// A slot free at once.
    Now(SemaphorePermit<'a>),
    /// A slot, after waiting for it.
    Waited(SemaphorePermit<'a>),
    /// The call's deadline came first: that is the call's timeout, not the
    /// bulkhead's.
    TimedOut,
    /// The bulkhead's wait ran out.
    Full(BulkheadFull),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waits_for_a_slot_then_fails() {
        let bulkhead = Bulkhead::new(
            "http://b.internal".into(),
            BulkheadSettings::default()
                .max_concurrent(2)
                .max_wait(Duration::from_millis(100)),
        );
        let long = Instant::now() + Duration::from_secs(30);
        let Acquired::Now(first) = bulkhead.acquire(long).await else {
            panic!("a free slot")
        };
        let Acquired::Now(_second) = bulkhead.acquire(long).await else {
            panic!("a free slot")
        };
        assert_eq!(bulkhead.in_flight(), 2);
        let started = tokio::time::Instant::now();
        let Acquired::Full(full) = bulkhead.acquire(long).await else {
            panic!("no slot within the wait")
        };
        assert_eq!(started.elapsed(), Duration::from_millis(100));
        assert_eq!(full.max_concurrent, 2);
        assert!(
            full.to_string().contains("2 calls to http://b.internal"),
            "{full}"
        );
        // A slot freed during the wait is taken.
        let (third, ()) = tokio::join!(bulkhead.acquire(long), async {
            tokio::time::sleep(Duration::from_millis(40)).await;
            drop(first);
        });
        let Acquired::Waited(_third) = third else {
            panic!("the slot freed during the wait")
        };
        assert_eq!(started.elapsed(), Duration::from_millis(140));
        // A call with less time left than the wait times out as itself.
        assert!(matches!(
            bulkhead
                .acquire(Instant::now() + Duration::from_millis(10))
                .await,
            Acquired::TimedOut
        ));
    }
}
