//! A member's deliveries not yet settled on the server: handed out, or
//! settled and their acks still queued on the member's settler. Closing a
//! member waits until none is left, so that its last acks (and the
//! releases of what it had pulled and not handed out) have reached the
//! client's connection before `close` returns.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// The count of a member's unsettled deliveries.
#[derive(Debug, Default)]
pub(super) struct Unsettled {
    count: AtomicUsize,
    /// Set once the member is closing: only then does the last settlement
    /// wake anyone (no wake-up on the hot path otherwise).
    closing: AtomicBool,
    none_left: Notify,
}

impl Unsettled {
    /// Counts a delivery until the returned guard is dropped: after its ack
    /// was sent, or with the delivery when it could not be queued.
    pub(super) fn count(self: &Arc<Self>) -> Counted {
        self.count.fetch_add(1, Ordering::AcqRel);
        Counted(self.clone())
    }

    /// Completes once no delivery is counted.
    pub(super) async fn none_left(&self) {
        self.closing.store(true, Ordering::Release);
        loop {
            let woken = self.none_left.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            woken.await;
        }
    }
}

/// One counted delivery (see [`Unsettled::count`]).
#[derive(Debug)]
pub(super) struct Counted(Arc<Unsettled>);

impl Drop for Counted {
    fn drop(&mut self) {
        let left = self.0.count.fetch_sub(1, Ordering::AcqRel) - 1;
        if left == 0 && self.0.closing.load(Ordering::Acquire) {
            self.0.none_left.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn none_left_waits_for_the_last_guard() {
        let unsettled = Arc::new(Unsettled::default());
        let first = unsettled.count();
        let second = unsettled.count();
        let waiter = tokio::spawn({
            let unsettled = unsettled.clone();
            async move { unsettled.none_left().await }
        });
        drop(first);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "completed with a delivery counted");
        drop(second);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("completed within 5 s of the last guard's drop")
            .expect("no panic");
    }
}
