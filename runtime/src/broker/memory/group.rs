//! One group's messages, kept so that taking the next deliverable message
//! costs the same whatever the keys.
//!
//! Messages with a key wait in that key's own queue; the group's `ready`
//! queue holds unkeyed messages and, for each key whose oldest message may
//! go out now, one marker naming the key. A key is busy while one of its
//! messages is in flight or delayed for a retry, and a busy key has no
//! marker, so taking a delivery never looks past a busy key: it pops the
//! front of `ready`. When the key's message is settled the key gets a
//! marker again if it has more waiting. A message put back (released, its
//! ack wait run out, or its retry due) goes to the front of its key's
//! queue and its marker to the front of `ready`, so per-key order holds
//! across retries.
//!
//! Retries wait in a heap by due time and deliveries in flight in a set by
//! deadline, so a tick costs nothing when nothing is due.
//!
//! Members are woken when something became ready, not for every message:
//! a message published behind a busy key wakes nobody, so a hot key does
//! not make its members spin.
//!
//! The maps hash with foldhash, seeded at random per map: several times
//! cheaper than the standard SipHash on the short keys and delivery ids
//! looked up for every message, and still not predictable from outside.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, BinaryHeap, HashSet, VecDeque};
use std::sync::Arc;

use foldhash::HashMap;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::queue::{Entry, Usage};

/// Something `ready` to be delivered.
#[derive(Debug)]
enum Ready {
    /// A message without a key.
    Unkeyed(Entry),
    /// The oldest waiting message of this key.
    Key(Arc<str>),
}

#[derive(Debug)]
struct KeyQueue {
    /// The key, shared with the map and the markers.
    name: Arc<str>,
    waiting: VecDeque<Entry>,
    /// A message of this key is in flight or delayed for a retry.
    busy: bool,
}

/// A retry waiting for its time; the heap pops the earliest first.
#[derive(Debug)]
struct Delayed {
    at: Instant,
    entry: Entry,
}

impl PartialEq for Delayed {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Delayed {}

impl PartialOrd for Delayed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Delayed {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.entry.seq).cmp(&(other.at, other.entry.seq))
    }
}

#[derive(Debug)]
struct InFlight {
    entry: Entry,
    deadline: Instant,
}

/// A durable group: its messages and the members' wake-ups.
#[derive(Debug, Default)]
pub(super) struct Group {
    ready: VecDeque<Ready>,
    keys: HashMap<Arc<str>, KeyQueue>,
    delayed: BinaryHeap<Reverse<Delayed>>,
    in_flight: HashMap<u64, InFlight>,
    deadlines: BTreeSet<(Instant, u64)>,
    usage: Usage,
    /// Woken when a delivery may have become available.
    pub(super) available: Arc<Notify>,
    /// Woken when the group may have room for more messages.
    pub(super) space: Arc<Notify>,
}

impl Group {
    /// What the group holds: waiting, delayed or in flight.
    pub(super) fn usage(&self) -> Usage {
        self.usage
    }

    /// Takes a newly published message, the newest of its key; returns
    /// whether it can be delivered now (its key is not held by an older
    /// message), so that members are woken only when there is something
    /// for them.
    pub(super) fn push(&mut self, entry: Entry) -> bool {
        self.usage.add(entry.size);
        match entry.message.key.as_deref() {
            None => {
                self.ready.push_back(Ready::Unkeyed(entry));
                true
            }
            Some(key) => {
                let queue = self.key_queue(key);
                queue.waiting.push_back(entry);
                let first = !queue.busy && queue.waiting.len() == 1;
                if first {
                    let marker = Ready::Key(queue.name.clone());
                    self.ready.push_back(marker);
                }
                first
            }
        }
    }

    /// Whether a message can be delivered now.
    pub(super) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Takes a message kept from before the group consumed its topic; it
    /// may be older than what the key already holds, so it goes in publish
    /// order.
    pub(super) fn claim(&mut self, entry: Entry) {
        self.usage.add(entry.size);
        match entry.message.key.as_deref() {
            None => self.ready.push_back(Ready::Unkeyed(entry)),
            Some(key) => {
                let queue = self.key_queue(key);
                let at = queue.waiting.partition_point(|e| e.seq < entry.seq);
                queue.waiting.insert(at, entry);
                if !queue.busy && queue.waiting.len() == 1 {
                    let marker = Ready::Key(queue.name.clone());
                    self.ready.push_back(marker);
                }
            }
        }
    }

    fn key_queue(&mut self, key: &str) -> &mut KeyQueue {
        // Looking up first spares an allocation for a key already known.
        if !self.keys.contains_key(key) {
            let name: Arc<str> = Arc::from(key);
            let queue = KeyQueue {
                name: name.clone(),
                waiting: VecDeque::new(),
                busy: false,
            };
            self.keys.insert(name, queue);
        }
        self.keys.get_mut(key).expect("inserted above")
    }

    /// Takes the next deliverable message and marks its key busy.
    pub(super) fn take(&mut self) -> Option<Entry> {
        match self.ready.pop_front()? {
            Ready::Unkeyed(entry) => Some(entry),
            Ready::Key(key) => {
                let queue = self
                    .keys
                    .get_mut(&key)
                    .expect("a key with a marker has a queue");
                queue.busy = true;
                Some(
                    queue
                        .waiting
                        .pop_front()
                        .expect("a key with a marker has a message waiting"),
                )
            }
        }
    }

    /// The messages waiting to be delivered (not in flight, not delayed),
    /// in publish order.
    pub(super) fn waiting(&self) -> Vec<&Entry> {
        let unkeyed = self.ready.iter().filter_map(|ready| match ready {
            Ready::Unkeyed(entry) => Some(entry),
            Ready::Key(_) => None,
        });
        let keyed = self.keys.values().flat_map(|queue| queue.waiting.iter());
        let mut all: Vec<&Entry> = unkeyed.chain(keyed).collect();
        all.sort_by_key(|entry| entry.seq);
        all
    }

    /// How many messages wait to be delivered (not in flight, not
    /// delayed).
    pub(super) fn waiting_len(&self) -> usize {
        self.usage.messages - self.in_flight.len() - self.delayed.len()
    }

    /// Removes the waiting messages whose publish sequence `remove` picks,
    /// in one pass over what waits; returns how many it removed.
    pub(super) fn remove_waiting(&mut self, mut remove: impl FnMut(u64) -> bool) -> usize {
        let before = self.usage.messages;
        let usage = &mut self.usage;
        let mut emptied = HashSet::new();
        self.keys.retain(|name, queue| {
            queue.waiting.retain(|entry| {
                let gone = remove(entry.seq);
                if gone {
                    usage.remove(entry.size);
                }
                !gone
            });
            // A key that is not busy has a marker while it has messages
            // waiting; with none left, the key and its marker go.
            let idle = queue.waiting.is_empty() && !queue.busy;
            if idle {
                emptied.insert(name.clone());
            }
            !idle
        });
        self.ready.retain(|ready| match ready {
            Ready::Unkeyed(entry) => {
                let gone = remove(entry.seq);
                if gone {
                    usage.remove(entry.size);
                }
                !gone
            }
            Ready::Key(key) => !emptied.contains(key),
        });
        let removed = before - self.usage.messages;
        if removed > 0 {
            self.space.notify_waiters();
        }
        removed
    }

    /// Records `entry` as delivered under `id` until `deadline`.
    pub(super) fn lend(&mut self, id: u64, entry: Entry, deadline: Instant) {
        self.deadlines.insert((deadline, id));
        self.in_flight.insert(id, InFlight { entry, deadline });
    }

    /// Whether delivery `id` is still unsettled (its ack wait has not run
    /// out).
    pub(super) fn is_lent(&self, id: u64) -> bool {
        self.in_flight.contains_key(&id)
    }

    /// Ends delivery `id`; `None` when it was settled already or its ack
    /// wait ran out and the message went back to the queue.
    pub(super) fn settle(&mut self, id: u64) -> Option<Entry> {
        let flight = self.in_flight.remove(&id)?;
        self.deadlines.remove(&(flight.deadline, id));
        Some(flight.entry)
    }

    /// The group is done with a taken message (acked or moved to the dead
    /// letters): its room is freed and its key may go on.
    pub(super) fn finish(&mut self, entry: &Entry) {
        self.usage.remove(entry.size);
        if let Some(key) = entry.message.key.as_deref() {
            let queue = self
                .keys
                .get_mut(key)
                .expect("a taken message's key has a queue");
            queue.busy = false;
            if queue.waiting.is_empty() {
                self.keys.remove(key);
            } else {
                let marker = Ready::Key(queue.name.clone());
                self.ready.push_back(marker);
            }
        }
    }

    /// Puts a taken message back, first in line: it is older than anything
    /// of its key still waiting.
    pub(super) fn put_back(&mut self, entry: Entry) {
        match entry.message.key.as_deref() {
            None => self.ready.push_front(Ready::Unkeyed(entry)),
            Some(key) => {
                let queue = self
                    .keys
                    .get_mut(key)
                    .expect("a taken message's key has a queue");
                queue.busy = false;
                let marker = Ready::Key(queue.name.clone());
                queue.waiting.push_front(entry);
                self.ready.push_front(marker);
            }
        }
    }

    /// Delivers a taken message again at `at`; its key stays busy until
    /// then, so later messages of the key keep their order.
    pub(super) fn delay(&mut self, entry: Entry, at: Instant) {
        self.delayed.push(Reverse(Delayed { at, entry }));
    }

    /// Puts back due retries and deliveries whose ack wait ran out; returns
    /// when that next needs doing.
    pub(super) fn tick(&mut self, now: Instant) -> Option<Instant> {
        while self.delayed.peek().is_some_and(|d| d.0.at <= now) {
            let Reverse(due) = self.delayed.pop().expect("peeked");
            self.put_back(due.entry);
        }
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(flight) = self.in_flight.remove(&id) {
                self.put_back(flight.entry);
            }
        }
        let retry = self.delayed.peek().map(|d| d.0.at);
        let expiry = self.deadlines.first().map(|&(at, _)| at);
        match (retry, expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
