//! The bounds of a [`MemoryBroker`](super::MemoryBroker) and how to set them.

use std::time::Duration;

use super::MemoryBroker;

/// The default most messages one group holds (waiting, delayed or in
/// flight) before publishes to it wait; the same bound applies to each
/// group's dead letters and to the backlog kept for topics no group
/// consumes yet. Set it with [`MemoryBrokerBuilder::max_messages`].
pub const DEFAULT_CAPACITY: usize = 65_536;

/// The default most bytes one group holds before publishes to it wait:
/// 64 MiB. The same bound applies to each group's dead letters and to the
/// backlog kept for topics no group consumes yet. Set it with
/// [`MemoryBrokerBuilder::max_bytes`].
pub const DEFAULT_CAPACITY_BYTES: usize = 64 * 1024 * 1024;

/// The default longest a publish (or a dead-letter call) waits for room in
/// a full group before it fails: 10 s. Set it with
/// [`MemoryBrokerBuilder::publish_wait`].
pub const DEFAULT_PUBLISH_WAIT: Duration = Duration::from_secs(10);

/// The default most requests queued for one responder before a request
/// waits (within its timeout) for room: 256. Set it with
/// [`MemoryBrokerBuilder::responder_backlog`].
pub const DEFAULT_RESPONDER_BACKLOG: usize = 256;

/// The bounds a [`MemoryBroker`] keeps.
///
/// A message's size is its payload plus its topic, key and header names and
/// values, as [`message_size`](super::message_size) counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryLimits {
    /// The most messages one group holds: waiting, delayed or in flight.
    /// Default [`DEFAULT_CAPACITY`].
    pub max_messages: usize,
    /// The most bytes one group holds. A message larger than this is
    /// refused at once. Default [`DEFAULT_CAPACITY_BYTES`].
    pub max_bytes: usize,
    /// The most messages kept, over all topics together, for topics no
    /// group consumes yet. Default [`DEFAULT_CAPACITY`].
    pub unclaimed_max_messages: usize,
    /// The most bytes kept, over all topics together, for topics no group
    /// consumes yet. Default [`DEFAULT_CAPACITY_BYTES`].
    pub unclaimed_max_bytes: usize,
    /// The longest a publish or a dead-letter call waits for room before
    /// it fails. Default [`DEFAULT_PUBLISH_WAIT`].
    pub publish_wait: Duration,
    /// The most requests queued for one responder; a request to responders
    /// whose queues are all full waits, within its timeout, for room.
    /// Default [`DEFAULT_RESPONDER_BACKLOG`].
    pub responder_backlog: usize,
}

impl MemoryLimits {
    /// These limits with every count and size at least 1.
    pub(super) fn at_least_one(self) -> Self {
        MemoryLimits {
            max_messages: self.max_messages.max(1),
            max_bytes: self.max_bytes.max(1),
            unclaimed_max_messages: self.unclaimed_max_messages.max(1),
            unclaimed_max_bytes: self.unclaimed_max_bytes.max(1),
            publish_wait: self.publish_wait,
            responder_backlog: self.responder_backlog.max(1),
        }
    }
}

impl Default for MemoryLimits {
    fn default() -> Self {
        MemoryLimits {
            max_messages: DEFAULT_CAPACITY,
            max_bytes: DEFAULT_CAPACITY_BYTES,
            unclaimed_max_messages: DEFAULT_CAPACITY,
            unclaimed_max_bytes: DEFAULT_CAPACITY_BYTES,
            publish_wait: DEFAULT_PUBLISH_WAIT,
            responder_backlog: DEFAULT_RESPONDER_BACKLOG,
        }
    }
}

/// Builds a [`MemoryBroker`] with bounds other than the defaults.
///
/// ```
/// use std::time::Duration;
/// use accord::MemoryBroker;
///
/// let broker = MemoryBroker::builder()
///     .max_messages(10_000)
///     .max_bytes(16 * 1024 * 1024)
///     .publish_wait(Duration::from_secs(2))
///     .build();
/// assert_eq!(broker.limits().max_messages, 10_000);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryBrokerBuilder {
    limits: MemoryLimits,
}

impl MemoryBrokerBuilder {
    /// The most messages one group (and one group's dead letters) holds
    /// before publishes to it wait; at least 1. Default [`DEFAULT_CAPACITY`].
    pub fn max_messages(mut self, messages: usize) -> Self {
        self.limits.max_messages = messages.max(1);
        self
    }

    /// The most bytes one group (and one group's dead letters) holds
    /// before publishes to it wait; at least 1. A message larger than this
    /// is refused at once. Default [`DEFAULT_CAPACITY_BYTES`].
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_bytes = bytes.max(1);
        self
    }

    /// The most messages kept, over all topics, for topics no group
    /// consumes yet; at least 1. Default [`DEFAULT_CAPACITY`].
    pub fn unclaimed_max_messages(mut self, messages: usize) -> Self {
        self.limits.unclaimed_max_messages = messages.max(1);
        self
    }

    /// The most bytes kept, over all topics, for topics no group consumes
    /// yet; at least 1. Default [`DEFAULT_CAPACITY_BYTES`].
    pub fn unclaimed_max_bytes(mut self, bytes: usize) -> Self {
        self.limits.unclaimed_max_bytes = bytes.max(1);
        self
    }

    /// The longest a publish or a dead-letter call waits for room in a
    /// full group before it fails. Default [`DEFAULT_PUBLISH_WAIT`].
    pub fn publish_wait(mut self, wait: Duration) -> Self {
        self.limits.publish_wait = wait;
        self
    }

    /// The most requests queued for one responder; at least 1. Default
    /// [`DEFAULT_RESPONDER_BACKLOG`].
    pub fn responder_backlog(mut self, requests: usize) -> Self {
        self.limits.responder_backlog = requests.max(1);
        self
    }

    /// Sets every bound at once.
    pub fn limits(mut self, limits: MemoryLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The broker.
    pub fn build(self) -> MemoryBroker {
        MemoryBroker::with_limits(self.limits)
    }
}
