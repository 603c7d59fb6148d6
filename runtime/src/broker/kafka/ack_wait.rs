//! The ack waits of one subscription's deliveries, watched by one task.
//!
//! Every delivery of a subscription has the same ack wait, so deadlines
//! come in the order the deliveries were handed out and a queue holds them
//! in deadline order: the task sleeps until the first one, and a settled
//! delivery costs nothing here (its entry is found dead and dropped). The
//! queue holds at most twice the subscription's `max_in_flight` entries:
//! when it grows past that, the settled ones are dropped, leaving at most
//! `max_in_flight` (one per delivery still out).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::member::{Entry, Shared};

/// The record of a delivery, taken once by whoever settles it: the
/// delivery (a settlement or its drop) or its ack wait running out.
pub(super) struct Held {
    pub(super) shared: Arc<Shared>,
    entry: Mutex<Option<Entry>>,
}

impl Held {
    pub(super) fn new(shared: Arc<Shared>, entry: Entry) -> Held {
        Held {
            shared,
            entry: Mutex::new(Some(entry)),
        }
    }

    /// The record, unless it was taken already.
    pub(super) fn take(&self) -> Option<Entry> {
        self.entry.lock().expect("delivery poisoned").take()
    }
}

/// The deliveries out, by deadline.
pub(super) struct AckWaits {
    ack_wait: Duration,
    /// At most `2 * max_in_flight` entries (see the module's notes).
    limit: usize,
    state: Mutex<Waits>,
    /// Wakes the task: a first delivery to watch, or the subscription is
    /// closed.
    wake: Notify,
}

#[derive(Default)]
struct Waits {
    queue: VecDeque<(Instant, Weak<Held>)>,
    closed: bool,
}

impl AckWaits {
    /// Watches the deliveries of a subscription holding at most
    /// `max_in_flight` at once, each for `ack_wait`; what runs out goes to
    /// `expired`, on a task of its own.
    pub(super) fn start<F, Fut>(ack_wait: Duration, max_in_flight: usize, expired: F) -> Arc<Self>
    where
        F: Fn(Arc<Shared>, Entry) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let waits = Arc::new(AckWaits {
            ack_wait,
            limit: 2 * max_in_flight.max(1),
            state: Mutex::default(),
            wake: Notify::new(),
        });
        tokio::spawn(watch(waits.clone(), expired));
        waits
    }

    fn lock(&self) -> MutexGuard<'_, Waits> {
        self.state.lock().expect("ack waits poisoned")
    }

    /// Watches a delivery handed out now.
    pub(super) fn watch(&self, held: &Arc<Held>) {
        // An ack wait too long to be a deadline never runs out.
        let Some(deadline) = Instant::now().checked_add(self.ack_wait) else {
            return;
        };
        let first = push(&mut self.lock().queue, self.limit, deadline, held);
        if first {
            self.wake.notify_one();
        }
    }

    /// The subscription is gone: the task ends once the deliveries still
    /// out are settled or have run out.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
    }
}

/// Queues `held` until `deadline`, first dropping the settled entries at
/// the front, and all settled ones when the queue holds `limit`; whether
/// it is the only entry (the task may be waiting for one).
fn push<T>(
    queue: &mut VecDeque<(Instant, Weak<T>)>,
    limit: usize,
    deadline: Instant,
    held: &Arc<T>,
) -> bool {
    while queue
        .front()
        .is_some_and(|(_, held)| held.strong_count() == 0)
    {
        queue.pop_front();
    }
    if queue.len() >= limit {
        queue.retain(|(_, held)| held.strong_count() > 0);
    }
    queue.push_back((deadline, Arc::downgrade(held)));
    queue.len() == 1
}

/// What the task does next.
enum Next {
    Sleep(Instant),
    Wait,
    Stop,
}

/// Hands each delivery whose ack wait ran out to `expired`, until the
/// subscription is closed and nothing is left to watch.
async fn watch<F, Fut>(waits: Arc<AckWaits>, expired: F)
where
    F: Fn(Arc<Shared>, Entry) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut due = Vec::new();
    loop {
        let woken = waits.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let next = {
            let now = Instant::now();
            let mut state = waits.lock();
            let next = loop {
                match state.queue.front() {
                    Some((_, held)) if held.strong_count() == 0 => {}
                    Some((deadline, _)) if *deadline > now => break Next::Sleep(*deadline),
                    Some(_) => {}
                    None if state.closed => break Next::Stop,
                    None => break Next::Wait,
                }
                if let Some((_, held)) = state.queue.pop_front() {
                    due.extend(held.upgrade());
                }
            };
            next
        };
        for held in due.drain(..) {
            if let Some(entry) = held.take() {
                tokio::spawn(expired(held.shared.clone(), entry));
            }
        }
        match next {
            Next::Stop => return,
            Next::Wait => woken.await,
            Next::Sleep(deadline) => tokio::time::sleep_until(deadline).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_keeps_to_twice_the_deliveries_in_flight() {
        let mut queue = VecDeque::new();
        let now = Instant::now();
        // One delivery stays out while a thousand behind it are settled.
        let out = Arc::new(0);
        assert!(push(&mut queue, 8, now, &out));
        let mut also_out = Vec::new();
        for n in 1..1000 {
            let delivery = Arc::new(n);
            assert!(!push(&mut queue, 8, now, &delivery));
            if n % 300 == 0 {
                also_out.push(delivery);
            }
            assert!(queue.len() <= 8, "{} entries", queue.len());
        }
        let live = queue.iter().filter(|(_, d)| d.strong_count() > 0).count();
        assert_eq!(live, 1 + also_out.len(), "no delivery out is forgotten");
        drop(out);
        drop(also_out);
        let settled = Arc::new(0);
        assert!(
            push(&mut queue, 8, now, &settled),
            "the settled front is dropped"
        );
    }
}
