//! A bulkhead: at most so many calls in flight to one target; one more
//! waits a short, set time for a slot and then fails, so a slow target
//! holds a bounded share of the caller's tasks and connections.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
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
///
/// The count of calls in flight is one atomic counter: a call that finds a
/// slot free takes it with one compare-and-swap and gives it back with one
/// subtraction, and only when calls are waiting does a release wake one of
/// them (a semaphore would take its waiters' lock on every release).
#[derive(Debug)]
pub(crate) struct Bulkhead {
    settings: BulkheadSettings,
    /// The calls in flight, never above `settings.max_concurrent`.
    in_flight: AtomicUsize,
    /// The calls waiting for a slot: a release wakes one only when some are.
    waiting: AtomicUsize,
    /// Wakes a waiting call when a slot is freed.
    freed: Notify,
    target: Arc<str>,
}

/// A call's slot in a [`Bulkhead`]; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Slot<'a>(&'a Bulkhead);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let bulkhead = self.0;
        // Sequentially consistent with the waiter's count and recheck in
        // `wait`: either this sees the waiter, or the waiter sees the slot.
        bulkhead.in_flight.fetch_sub(1, Ordering::SeqCst);
        if bulkhead.waiting.load(Ordering::SeqCst) > 0 {
            bulkhead.freed.notify_one();
        }
    }
}

impl Bulkhead {
    pub(crate) fn new(target: Arc<str>, settings: BulkheadSettings) -> Self {
        Bulkhead {
            settings,
            in_flight: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            freed: Notify::new(),
            target,
        }
    }

    /// The calls in flight now.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// A slot, waiting at most the bulkhead's wait or until `deadline`,
    /// whichever comes first. `Ok(None)` when the deadline came first: that
    /// is the call's timeout, not the bulkhead's. A free slot is taken
    /// without reading the clock.
    pub(crate) async fn acquire(
        &self,
        deadline: Instant,
    ) -> Result<Option<Slot<'_>>, BulkheadFull> {
        if let Some(slot) = self.try_acquire() {
            return Ok(Some(slot));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let wait = self.settings.max_wait.min(left);
        match tokio::time::timeout(wait, self.wait()).await {
            Ok(slot) => Ok(Some(slot)),
            Err(_) if wait == left => Ok(None),
            Err(_) => Err(BulkheadFull {
                target: self.target.clone(),
                max_concurrent: self.settings.max_concurrent,
                waited: wait,
            }),
        }
    }

    /// A free slot, taken; `None` when every slot is taken.
    fn try_acquire(&self) -> Option<Slot<'_>> {
        let mut taken = self.in_flight.load(Ordering::SeqCst);
        loop {
            if taken >= self.settings.max_concurrent {
                return None;
            }
            match self.in_flight.compare_exchange_weak(
                taken,
                taken + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Some(Slot(self)),
                Err(now) => taken = now,
            }
        }
    }

    /// Waits, counted among the waiting calls, until a slot is taken.
    async fn wait(&self) -> Slot<'_> {
        let _waiting = Waiting::enter(&self.waiting);
        loop {
            let freed = self.freed.notified();
            let mut freed = std::pin::pin!(freed);
            // Registered before the recheck, so a slot freed after it wakes
            // this call.
            freed.as_mut().enable();
            if let Some(slot) = self.try_acquire() {
                return slot;
            }
            freed.await;
        }
    }
}

/// One call counted among a bulkhead's waiting calls while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
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
        let first = bulkhead.acquire(long).await.unwrap();
        let _second = bulkhead.acquire(long).await.unwrap();
        assert_eq!(bulkhead.in_flight(), 2);
        let started = tokio::time::Instant::now();
        let full = bulkhead.acquire(long).await.unwrap_err();
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
        let _third = third.unwrap().expect("a slot");
        assert_eq!(started.elapsed(), Duration::from_millis(140));
        // A call with less time left than the wait times out as itself.
        assert!(bulkhead
            .acquire(Instant::now() + Duration::from_millis(10))
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_calls_all_get_a_slot_as_slots_are_freed() {
        let bulkhead = Arc::new(Bulkhead::new(
            "http://b.internal".into(),
            BulkheadSettings::default()
                .max_concurrent(3)
                .max_wait(Duration::from_secs(10)),
        ));
        let most = Arc::new(AtomicUsize::new(0));
        let calls: Vec<_> = (0..40)
            .map(|_| {
                let bulkhead = bulkhead.clone();
                let most = most.clone();
                tokio::spawn(async move {
                    let deadline = Instant::now() + Duration::from_secs(30);
                    let slot = bulkhead.acquire(deadline).await.unwrap().expect("a slot");
                    most.fetch_max(bulkhead.in_flight(), Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    drop(slot);
                })
            })
            .collect();
        for call in calls {
            call.await.unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 3);
        assert_eq!(bulkhead.in_flight(), 0);
    }
}
