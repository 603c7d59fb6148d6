//! What every queue of the memory broker shares: the entries it holds, how
//! their size is counted, and when a queue has room for one more.

use std::sync::Arc;

use crate::broker::Message;

/// The bytes a message takes in the memory broker's bounds: its payload,
/// topic, key, and header names and values.
///
/// Fixed per-message bookkeeping (a few dozen bytes) is not counted, so a
/// bound in bytes is a bound on what publishers sent.
pub fn message_size(message: &Message) -> usize {
    let headers: usize = message
        .headers
        .iter()
        .map(|(name, value)| name.len() + value.len())
        .sum();
    message.payload.len()
        + message.topic.len()
        + message.key.as_ref().map_or(0, String::len)
        + headers
}

/// What a queue holds, in messages and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Messages held: waiting, delayed for a retry, or in flight.
    pub messages: usize,
    /// Their size, as [`message_size`] counts it.
    pub bytes: usize,
}

impl Usage {
    /// Whether one more message of `size` bytes fits within `max_messages`
    /// and `max_bytes`.
    ///
    /// An empty queue takes any one message: a dead letter is its message
    /// plus a few headers, so a message that fitted its group could
    /// otherwise never be dead-lettered. Publishes refuse a message larger
    /// than the byte bound before they get here, so only a dead letter can
    /// make a queue hold more than `max_bytes`, and only by its own size.
    pub(super) fn has_room(&self, size: usize, max_messages: usize, max_bytes: usize) -> bool {
        self.messages == 0
            || (self.messages < max_messages && self.bytes.saturating_add(size) <= max_bytes)
    }

    pub(super) fn add(&mut self, size: usize) {
        self.messages += 1;
        self.bytes += size;
    }

    pub(super) fn remove(&mut self, size: usize) {
        self.messages -= 1;
        self.bytes -= size;
    }
}

/// A message held by a queue. Clones share the message: fan-out to several
/// groups, deliveries and redeliveries never copy it.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// Publish order across the broker.
    pub(super) seq: u64,
    /// Deliveries of this message to this group so far.
    pub(super) attempts: u32,
    /// [`message_size`] of the message, counted once.
    pub(super) size: usize,
    pub(super) message: Arc<Message>,
}

impl Entry {
    pub(super) fn new(seq: u64, message: Arc<Message>, size: usize) -> Self {
        Entry {
            seq,
            attempts: 0,
            size,
            message,
        }
    }
}
