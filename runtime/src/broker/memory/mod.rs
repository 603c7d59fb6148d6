//! The in-process broker: what examples and tests use first.
//!
//! It keeps the full at-least-once model of [`Broker`](super::Broker): durable groups,
//! competing members, unsettled deliveries released on drop or after
//! `ack_wait`, retries after a delay, dead letters with their reason.
//! Messages with the same key reach a group one at a time and in publish
//! order, also across retries.
//!
//! Messages published on a topic no group consumes yet are kept for the
//! first group that subscribes to it, so a subscriber that starts a moment
//! after its publisher loses nothing.
//!
//! # Bounds
//!
//! Every queue is bounded in messages and in bytes ([`MemoryLimits`]):
//! each group, each group's dead letters, and the backlog kept for topics
//! no group consumes yet (one bound over all such topics). A publish waits
//! while a queue it goes to is full, up to the publish wait, then fails
//! naming the queue and its bounds; a dead-letter call does the same, and
//! the message it could not move is released to its group. A message
//! larger than the byte bound is refused at once. Two exceptions keep
//! messages from being stuck, each by at most one message or one backlog:
//! empty dead letters take any one dead letter (its dead-letter headers may
//! make a message that fitted its group larger than the bound), and a group
//! that takes over the backlog of a topic may briefly hold more than its
//! bound; publishes to it wait until it is back under. Each responder
//! queues at most [`MemoryLimits::responder_backlog`] requests.
//!
//! # Cost
//!
//! A publish stores the message once, shared by every group it goes to and
//! every delivery of it. Taking the next delivery and settling one cost the
//! same whatever the keys (see the `group` module); retries and ack
//! deadlines are kept sorted, at a logarithmic cost in how many are
//! pending. Counting dead letters costs nothing; removing some or purging
//! them is one pass over what waits, however many go.

mod dead_letters;
mod group;
mod options;
mod queue;
mod request;
mod state;
mod subscription;
#[cfg(test)]
mod tests;

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

pub use options::{
    MemoryBrokerBuilder, MemoryLimits, DEFAULT_CAPACITY, DEFAULT_CAPACITY_BYTES,
    DEFAULT_PUBLISH_WAIT, DEFAULT_RESPONDER_BACKLOG,
};
pub use queue::{message_size, Usage};
pub use request::{MemoryRequest, MemoryResponder};
pub use subscription::{MemoryDelivery, MemorySubscription};

use super::{
    BrokerError, Capabilities, Message, Publish, RequestReply, Subscribe, SubscribeOptions,
};
use state::{dead_letter_group, Full, State};

/// An in-process broker. Clones share the same broker.
#[derive(Clone)]
pub struct MemoryBroker {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MemoryBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBroker")
            .field("limits", &self.shared.limits)
            .finish_non_exhaustive()
    }
}

struct Shared {
    state: Mutex<State>,
    limits: MemoryLimits,
}

impl Default for MemoryBroker {
    fn default() -> Self {
        MemoryBroker::new()
    }
}

impl MemoryBroker {
    /// A broker with the default bounds: see [`MemoryLimits`].
    pub fn new() -> Self {
        MemoryBroker::with_limits(MemoryLimits::default())
    }

    /// A broker whose groups hold at most `capacity` messages each, with
    /// the other bounds at their defaults.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryBroker::builder().max_messages(capacity).build()
    }

    /// A broker with these bounds; a count or size of 0 counts as 1.
    pub fn with_limits(limits: MemoryLimits) -> Self {
        MemoryBroker {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                limits: limits.at_least_one(),
            }),
        }
    }

    /// Sets the bounds, starting from the defaults.
    pub fn builder() -> MemoryBrokerBuilder {
        MemoryBrokerBuilder::default()
    }

    /// The bounds this broker keeps.
    pub fn limits(&self) -> MemoryLimits {
        self.shared.limits
    }

    /// Closes the broker: subscriptions and responders end, publishes fail,
    /// and waiting publishes and dead-letter calls fail at once.
    pub fn close(&self) {
        let notifiers = {
            let mut state = self.lock();
            state.closed = true;
            state.responders.clear();
            state.all_notifiers()
        };
        for notify in notifiers {
            notify.notify_waiters();
        }
    }

    /// How many messages `group` holds: waiting, delayed or in flight.
    pub fn pending(&self, group: &str) -> usize {
        self.usage(group).messages
    }

    /// What `group` holds: waiting, delayed or in flight.
    pub fn usage(&self, group: &str) -> Usage {
        self.lock()
            .groups
            .get(group)
            .map_or_else(Usage::default, |g| g.usage())
    }

    /// What `group`'s dead letters hold.
    pub fn dead_letter_usage(&self, group: &str) -> Usage {
        self.usage(&dead_letter_group(group))
    }

    /// What is kept, over all topics, for topics no group consumes yet.
    pub fn unclaimed_usage(&self) -> Usage {
        self.lock().unclaimed.usage
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent state: every
        // mutation is completed before anything that can panic.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits the message if every queue it goes to has room: `Ok` with
    /// the outcome once there is nothing more to wait for.
    fn try_publish(
        &self,
        message: &Arc<Message>,
        size: usize,
    ) -> Result<Result<(), BrokerError>, Full> {
        let mut state = self.lock();
        if state.closed {
            return Ok(Err(BrokerError::Closed));
        }
        match state.offer(message, size, &self.shared.limits) {
            Err(never) => Ok(Err(never)),
            Ok(Err(full)) => Err(full),
            Ok(Ok(woken)) => {
                drop(state);
                for notify in woken {
                    notify.notify_waiters();
                }
                Ok(Ok(()))
            }
        }
    }

    fn open(&self, group: &str, max_in_flight: usize, ack_wait: Duration) -> MemorySubscription {
        let available = self
            .lock()
            .groups
            .get(group)
            .map(|g| g.available.clone())
            .unwrap_or_default();
        MemorySubscription {
            broker: self.clone(),
            group: Arc::from(group),
            available,
            max_in_flight: max_in_flight.max(1),
            ack_wait,
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn declare(&self, group: &str, topics: &[String]) -> Result<(), BrokerError> {
        let (claimed, available, unclaimed_space) = {
            let mut state = self.lock();
            if state.closed {
                return Err(BrokerError::Closed);
            }
            let claimed = state.declare(group, topics);
            let available = state.groups[group].available.clone();
            (claimed, available, state.unclaimed.space.clone())
        };
        if claimed {
            available.notify_waiters();
            unclaimed_space.notify_waiters();
        }
        Ok(())
    }
}

impl Publish for MemoryBroker {
    /// Returns once every group the topic feeds (or the backlog kept for
    /// its first group) took the message. While one of them is full this
    /// waits up to [`MemoryLimits::publish_wait`], then fails naming the
    /// full queue and its bounds; a message larger than
    /// [`MemoryLimits::max_bytes`] fails at once.
    async fn publish(&self, message: Message) -> Result<(), BrokerError> {
        let size = message_size(&message);
        let message = Arc::new(message);
        let wait = self.shared.limits.publish_wait;
        // The clock is read only once a queue is full.
        let mut deadline = None;
        let mut expired = false;
        loop {
            let full = match self.try_publish(&message, size) {
                Ok(done) => return done,
                Err(full) => full,
            };
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + wait);
            // Register for room, then look again: room made before the
            // registration is seen by the second look, room made after it
            // ends the wait.
            let space = full.space.notified();
            tokio::pin!(space);
            space.as_mut().enable();
            let again = match self.try_publish(&message, size) {
                Ok(done) => return done,
                Err(again) => again,
            };
            if expired {
                return Err(BrokerError::Rejected(format!(
                    "{}; no room within the publish wait of {wait:?} (consume faster, or raise \
                     `MemoryBroker::builder()` bounds)",
                    again.what
                )));
            }
            if !Arc::ptr_eq(&again.space, &full.space) {
                // Another queue is full now: wait on that one instead.
                continue;
            }
            if tokio::time::timeout_at(deadline, space).await.is_err() {
                expired = true;
            }
        }
    }
}

impl Subscribe for MemoryBroker {
    type Subscription = MemorySubscription;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            per_key_order: true,
            dedupes_publishes: false,
        }
    }

    async fn subscribe(
        &self,
        options: SubscribeOptions,
    ) -> Result<MemorySubscription, BrokerError> {
        self.declare(&options.group, &options.topics)?;
        Ok(self.open(&options.group, options.max_in_flight, options.ack_wait))
    }

    async fn dead_letters(&self, group: &str) -> Result<MemorySubscription, BrokerError> {
        let name = dead_letter_group(group);
        self.declare(&name, &[])?;
        let options = SubscribeOptions::new(name, Vec::<String>::new());
        Ok(self.open(&options.group, options.max_in_flight, options.ack_wait))
    }
}

impl RequestReply for MemoryBroker {
    type Responder = MemoryResponder;

    async fn request(&self, message: Message, timeout: Duration) -> Result<Message, BrokerError> {
        self.send_request(message, timeout).await
    }

    async fn respond(&self, topic: &str, _group: &str) -> Result<MemoryResponder, BrokerError> {
        self.add_responder(topic)
    }
}
