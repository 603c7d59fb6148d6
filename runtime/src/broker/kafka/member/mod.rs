//! One group member's state: what it has read, what waits behind an
//! earlier record of its key, what is handed out, and the offsets to
//! commit; and the task that reads the member's partitions.
//!
//! The reading task polls the consumer all the time, also while the
//! member's handlers are busy, so that the group's rebalances are served
//! at once. It reads ahead at most [`KafkaOptions::max_buffered`] records
//! (pausing its partitions beyond that), and commits what the settlements
//! allowed. When the subscription is dropped it stops reading, waits for
//! the deliveries still out, commits, and leaves the group.
//!
//! A member hands its partitions over by committing each up to its first
//! unsettled record, with a note of what it settled beyond and how often
//! it handed each record out ([`Window::handover`]): when a partition is
//! revoked, when the member leaves, and when one of its deliveries passes
//! its ack wait. Then the partitions' next owner reads them again in order
//! from there. A delivery of a partition the member no longer holds is
//! fenced: settling it commits and hands out nothing.
//!
//! [`KafkaOptions::max_buffered`]: super::KafkaOptions::max_buffered

use std::borrow::Borrow;
use std::collections::{hash_map, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::{watch, Notify};

use super::window::{Resume, Window};
use super::KafkaBroker;
use crate::broker::Message;

mod blocking;
mod hand_back;
mod reader;
mod rebalance;
mod rejoin;
mod tp;

pub(super) use reader::pump;
pub(super) use rebalance::Context;
pub(super) use tp::Tp;
use tp::{TpMap, TpSet};

/// Handover notes kept by a handle: per consumer group and partition, the
/// offset committed at the partition's last handover and its note.
pub(super) type Notes = HashMap<(Arc<str>, Tp), (i64, String)>;

/// A record read by the member.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) tp: Tp,
    pub(super) offset: i64,
    /// The assignment of the partition the record was read under.
    pub(super) epoch: u64,
    /// Shared with the delivery handed out, which hands it to the handler.
    pub(super) message: Arc<Message>,
    pub(super) attempt: u32,
    /// Handed out by this member at least once.
    pub(super) handed_out: bool,
}

struct PartitionState {
    epoch: u64,
    window: Window,
    /// What the partition's previous owner noted in its last commit.
    resume: Resume,
    /// Keys with a record out (or waiting to be handed out), and the later
    /// records of each key, waiting behind it.
    keys: HashMap<KeyOf, VecDeque<Entry>>,
}

/// The key of a keyed record, as the key map holds it: the record's shared
/// message, hashed and compared by its key (no copy of the key per
/// record).
struct KeyOf(Arc<Message>);

impl KeyOf {
    fn as_str(&self) -> &str {
        self.0.key.as_deref().unwrap_or_default()
    }
}

impl PartialEq for KeyOf {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for KeyOf {}

impl Hash for KeyOf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl Borrow<str> for KeyOf {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

/// What the reading task needs to know of the member's state, read under
/// one lock.
pub(super) struct View {
    pub(super) closing: bool,
    pub(super) outstanding: usize,
    /// Read records not handed out, against [`Shared::max_buffered`].
    pub(super) buffered: usize,
    /// A delivery passed its ack wait since the last look (taken).
    pub(super) release: bool,
    pub(super) commits_waiting: bool,
    /// Some assigned partition has no committed starting offset yet.
    pub(super) unstarted: bool,
}

#[derive(Default)]
struct State {
    partitions: TpMap<PartitionState>,
    ready: VecDeque<Entry>,
    /// Records read and not handed out: in `ready` or behind a key.
    buffered: usize,
    /// Deliveries handed out and not settled (or being republished).
    outstanding: usize,
    commits: TpMap<i64>,
    next_epoch: u64,
    closing: bool,
    /// A delivery passed its ack wait: hand every partition over (see
    /// [`Shared::expired`]).
    release: bool,
    /// Partitions assigned whose starting offset is not yet committed.
    unstarted: TpSet,
}

/// What the member's reading task, its subscription and its deliveries
/// share.
pub(super) struct Shared {
    state: Mutex<State>,
    /// Wakes the reading task: commits to make, room to read, closing.
    pump: Notify,
    /// Wakes the subscription: a record is ready.
    reader: Notify,
    /// Counts the rebalances that assigned partitions to this member.
    rebalances: watch::Sender<u64>,
    pub(super) broker: KafkaBroker,
    pub(super) group: Arc<str>,
    pub(super) max_buffered: usize,
    /// A group new to a partition starts at its oldest record rather than
    /// its end (dead letters, kept until read).
    from_oldest: bool,
}

impl Shared {
    pub(super) fn new(broker: KafkaBroker, group: &str, from_oldest: bool) -> Arc<Shared> {
        let max_buffered = broker.inner.options.max_buffered;
        Arc::new(Shared {
            state: Mutex::default(),
            pump: Notify::new(),
            reader: Notify::new(),
            rebalances: watch::channel(0).0,
            broker,
            group: group.into(),
            max_buffered,
            from_oldest,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("member state poisoned")
    }

    pub(super) fn rebalances(&self) -> watch::Receiver<u64> {
        self.rebalances.subscribe()
    }

    /// The member's state as the reading task sees it; takes the
    /// [`release`](View::release) request.
    pub(super) fn view(&self) -> View {
        let mut state = self.lock();
        View {
            closing: state.closing,
            outstanding: state.outstanding,
            buffered: state.buffered,
            release: std::mem::take(&mut state.release),
            commits_waiting: !state.commits.is_empty(),
            unstarted: !state.unstarted.is_empty(),
        }
    }

    /// Whether `tp` is assigned and waits for its starting offset.
    pub(super) fn is_unstarted(&self, tp: &Tp) -> bool {
        self.lock().unstarted.contains(tp)
    }

    /// Waits until a record may be ready.
    pub(super) async fn wait_ready(&self) {
        self.reader.notified().await;
    }

    /// A delivery of `entry` passed its ack wait unsettled. Where its
    /// partition is still this member's, the member hands every partition
    /// over (the reading task commits them up to their first unsettled
    /// records and leaves the group, as Kafka does with a member past its
    /// `max.poll.interval.ms`), so that their records come again in order,
    /// to another member or, after it joins again, to this one. The
    /// record stays unsettled: its partition's next owner reads it again.
    pub(super) fn expired(&self, entry: &Entry) {
        let mut state = self.lock();
        state.outstanding -= 1;
        let current = state.partitions.get(&entry.tp).map(|p| p.epoch);
        if current == Some(entry.epoch) {
            state.release = true;
        }
        drop(state);
        self.pump.notify_one();
    }

    /// Whether every assigned partition has a committed starting offset.
    pub(super) fn started(&self) -> bool {
        self.lock().unstarted.is_empty()
    }

    pub(super) fn is_closing(&self) -> bool {
        self.lock().closing
    }

    /// Takes the next record to hand out.
    pub(super) fn take_ready(&self) -> Option<Entry> {
        let mut state = self.lock();
        while let Some(mut entry) = state.ready.pop_front() {
            state.buffered -= 1;
            let Some(partition) = state
                .partitions
                .get_mut(&entry.tp)
                .filter(|p| p.epoch == entry.epoch)
            else {
                // The partition went to another member, which reads it again.
                continue;
            };
            partition.window.handed_out(entry.offset, entry.attempt);
            entry.handed_out = true;
            state.outstanding += 1;
            if state.buffered + 1 == self.max_buffered {
                self.pump.notify_one();
            }
            return Some(entry);
        }
        None
    }

    /// Records read from the consumer, in the order read (`entries` is
    /// left empty). The reading task, the caller, finds the commits this
    /// makes possible in its next [`view`](Shared::view).
    pub(super) fn push_all(&self, entries: &mut Vec<Entry>) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let mut ready = false;
        for entry in entries.drain(..) {
            ready |= state.push(entry);
        }
        drop(guard);
        if ready {
            self.reader.notify_one();
        }
    }

    /// A handed-out record is settled: its offset may be committed and the
    /// next record of its key handed out.
    pub(super) fn settle(&self, entry: &Entry) {
        let mut guard = self.lock();
        let state = &mut *guard;
        state.outstanding -= 1;
        // The reading task is woken only for what it acts on: the first
        // commit waiting (it then commits within COMMIT_INTERVAL, whatever
        // settles meanwhile), and the last delivery out of a closing
        // member.
        let mut wake = state.closing && state.outstanding == 0;
        let mut next_ready = false;
        if let Some(partition) = state
            .partitions
            .get_mut(&entry.tp)
            .filter(|p| p.epoch == entry.epoch)
        {
            if let Some(commit) = partition.window.settle(entry.offset) {
                wake |= state.commits.is_empty();
                state.commits.insert(entry.tp.clone(), commit);
            }
            if let Some(key) = entry.message.key.as_deref() {
                match partition.keys.get_mut(key).and_then(VecDeque::pop_front) {
                    Some(next) => {
                        state.ready.push_back(next);
                        next_ready = true;
                    }
                    None => {
                        partition.keys.remove(key);
                    }
                }
            }
        }
        drop(guard);
        if next_ready {
            self.reader.notify_one();
        }
        if wake {
            self.pump.notify_one();
        }
    }

    /// A handed-out record comes again as `entry.attempt`, ahead of what
    /// is waiting: after a retry delay, or dropped unsettled. When the
    /// member is closing, or the partition is no longer its own, the
    /// record stays unsettled, and the partition's next owner reads it
    /// again (with the attempts the member's last commit notes).
    pub(super) fn again(&self, entry: Entry) {
        let mut state = self.lock();
        state.outstanding -= 1;
        let current = state.partitions.get(&entry.tp).map(|p| p.epoch);
        if current == Some(entry.epoch) && !state.closing {
            state.buffered += 1;
            state.ready.push_front(entry);
            drop(state);
            self.reader.notify_one();
        } else {
            drop(state);
            self.pump.notify_one();
        }
    }

    /// The subscription is dropped: stop handing out and reading. What was
    /// read and not handed out, or is waiting to be handed out again, is
    /// read again by the partitions' next owner.
    pub(super) fn close(&self) {
        let mut state = self.lock();
        state.closing = true;
        state.ready.clear();
        for partition in state.partitions.values_mut() {
            partition.keys.clear();
        }
        state.buffered = 0;
        drop(state);
        self.pump.notify_one();
    }

    /// Gives up the partitions `which` selects: what to commit for them (up
    /// to each one's first unsettled record, with the note for its next
    /// owner), with every other settlement waiting to be committed. Their
    /// deliveries still out are fenced from then on.
    fn hand_over(&self, which: impl Fn(&Tp) -> bool) -> Option<TopicPartitionList> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let mut notes = Vec::new();
        let mut commits = std::mem::take(&mut state.commits);
        state.partitions.retain(|tp, partition| {
            if !which(tp) {
                return true;
            }
            if let Some((front, note)) = partition.window.handover() {
                commits.remove(tp);
                notes.push((tp.clone(), front, note));
            }
            false
        });
        state.unstarted.retain(|tp| !which(tp));
        let before = state.ready.len();
        let partitions = &state.partitions;
        state
            .ready
            .retain(|e| partitions.get(&e.tp).is_some_and(|p| p.epoch == e.epoch));
        state.buffered -= before - state.ready.len();
        drop(guard);
        if commits.is_empty() && notes.is_empty() {
            return None;
        }
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in commits {
            let _ = list.add_partition_offset(&topic, partition, Offset::Offset(offset));
        }
        let mut kept = self.broker.inner.notes.lock().expect("notes poisoned");
        for (tp, front, note) in notes {
            let mut element = list.add_partition(&tp.0, tp.1);
            if element.set_offset(Offset::Offset(front)).is_ok() {
                element.set_metadata(&note);
                kept.insert((self.group.clone(), tp), (front, note));
            }
        }
        Some(list)
    }

    fn take_commits(&self) -> Option<TopicPartitionList> {
        let commits = std::mem::take(&mut self.lock().commits);
        if commits.is_empty() {
            return None;
        }
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in commits {
            let _ = list.add_partition_offset(&topic, partition, Offset::Offset(offset));
        }
        Some(list)
    }
}

impl State {
    /// Takes in a record read from the consumer; whether it is ready to be
    /// handed out (not waiting behind an earlier record of its key).
    fn push(&mut self, mut entry: Entry) -> bool {
        let Some(partition) = self.partitions.get_mut(&entry.tp) else {
            return false;
        };
        if !self.unstarted.is_empty() && self.unstarted.contains(&entry.tp) {
            // Read again after the seek to the partition's start.
            return false;
        }
        entry.epoch = partition.epoch;
        partition.window.read(entry.offset);
        if partition.resume.settled(entry.offset) {
            // Settled by the partition's previous owner after its last
            // committed offset.
            if let Some(commit) = partition.window.settle(entry.offset) {
                self.commits.insert(entry.tp, commit);
            }
            return false;
        }
        entry.attempt = partition.resume.attempt(entry.offset, entry.attempt);
        self.buffered += 1;
        if entry.message.key.is_some() {
            // One lookup of the key: its place is taken or free.
            match partition.keys.entry(KeyOf(entry.message.clone())) {
                hash_map::Entry::Occupied(mut waiting) => {
                    waiting.get_mut().push_back(entry);
                    return false;
                }
                hash_map::Entry::Vacant(free) => {
                    free.insert(VecDeque::new());
                }
            }
        }
        self.ready.push_back(entry);
        true
    }
}
