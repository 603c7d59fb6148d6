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
//! [`KafkaOptions::max_buffered`]: super::KafkaOptions::max_buffered

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::Message as _;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::{watch, Notify};

use super::headers;
use super::window::Window;
use super::KafkaBroker;
use crate::broker::reconnect::backoff;
use crate::broker::Message;

/// A topic and partition.
pub(super) type Tp = (Arc<str>, i32);

/// A record read by the member.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) tp: Tp,
    pub(super) offset: i64,
    /// The assignment of the partition the record was read under.
    pub(super) epoch: u64,
    pub(super) message: Message,
    pub(super) attempt: u32,
    /// Handed out by this member at least once.
    pub(super) handed_out: bool,
}

struct PartitionState {
    epoch: u64,
    window: Window,
    /// Keys with a record out (or waiting to be handed out), and the later
    /// records of each key, waiting behind it.
    keys: HashMap<String, VecDeque<Entry>>,
}

#[derive(Default)]
struct State {
    partitions: HashMap<Tp, PartitionState>,
    ready: VecDeque<Entry>,
    /// Records read and not handed out: in `ready` or behind a key.
    buffered: usize,
    /// Deliveries handed out and not settled (or being republished).
    outstanding: usize,
    commits: HashMap<Tp, i64>,
    next_epoch: u64,
    closing: bool,
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
    max_buffered: usize,
}

impl Shared {
    pub(super) fn new(broker: KafkaBroker, group: &str) -> Arc<Shared> {
        let max_buffered = broker.inner.options.max_buffered;
        Arc::new(Shared {
            state: Mutex::default(),
            pump: Notify::new(),
            reader: Notify::new(),
            rebalances: watch::channel(0).0,
            broker,
            group: group.into(),
            max_buffered,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("member state poisoned")
    }

    pub(super) fn rebalances(&self) -> watch::Receiver<u64> {
        self.rebalances.subscribe()
    }

    /// Waits until a record may be ready.
    pub(super) async fn wait_ready(&self) {
        self.reader.notified().await;
    }

    pub(super) fn is_closing(&self) -> bool {
        self.lock().closing
    }

    /// Takes the next record to hand out.
    pub(super) fn take_ready(&self) -> Option<Entry> {
        let mut state = self.lock();
        while let Some(mut entry) = state.ready.pop_front() {
            state.buffered -= 1;
            let current = state.partitions.get(&entry.tp).map(|p| p.epoch);
            if current != Some(entry.epoch) {
                // The partition went to another member, which reads it again.
                continue;
            }
            entry.handed_out = true;
            state.outstanding += 1;
            if state.buffered + 1 == self.max_buffered {
                self.pump.notify_one();
            }
            return Some(entry);
        }
        None
    }

    /// A record read from the consumer.
    fn push(&self, entry: Entry) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(partition) = state.partitions.get_mut(&entry.tp) else {
            return;
        };
        let mut entry = entry;
        entry.epoch = partition.epoch;
        partition.window.read(entry.offset);
        state.buffered += 1;
        match &entry.message.key {
            Some(key) => match partition.keys.get_mut(key) {
                Some(waiting) => waiting.push_back(entry),
                None => {
                    partition.keys.insert(key.clone(), VecDeque::new());
                    state.ready.push_back(entry);
                }
            },
            None => state.ready.push_back(entry),
        }
        drop(guard);
        self.reader.notify_one();
    }

    /// A handed-out record is settled: its offset may be committed and the
    /// next record of its key handed out.
    pub(super) fn settle(&self, entry: &Entry) {
        let mut state = self.lock();
        let state = &mut *state;
        state.outstanding -= 1;
        if let Some(partition) = state
            .partitions
            .get_mut(&entry.tp)
            .filter(|p| p.epoch == entry.epoch)
        {
            if let Some(commit) = partition.window.settle(entry.offset) {
                state.commits.insert(entry.tp.clone(), commit);
            }
            if let Some(key) = &entry.message.key {
                match partition.keys.get_mut(key).and_then(VecDeque::pop_front) {
                    Some(next) => {
                        state.ready.push_back(next);
                        self.reader.notify_one();
                    }
                    None => {
                        partition.keys.remove(key);
                    }
                }
            }
        }
        self.pump.notify_one();
    }

    /// A handed-out record that could not be settled nor handed over: it
    /// stays unsettled, so the partition's next owner reads it again.
    pub(super) fn abandon(&self) {
        self.lock().outstanding -= 1;
        self.pump.notify_one();
    }

    /// A handed-out record comes again as `entry.attempt`, ahead of what
    /// is waiting: after a retry delay, or dropped unsettled. Returns it
    /// when the member is closing: it must be handed over as a copy.
    pub(super) fn again(&self, entry: Entry) -> Option<Entry> {
        let mut state = self.lock();
        if state.closing {
            return Some(entry);
        }
        state.outstanding -= 1;
        let current = state.partitions.get(&entry.tp).map(|p| p.epoch);
        if current == Some(entry.epoch) {
            state.buffered += 1;
            state.ready.push_front(entry);
            drop(state);
            self.reader.notify_one();
        } else {
            drop(state);
            self.pump.notify_one();
        }
        None
    }

    /// The subscription is dropped: stop handing out and reading. Returns
    /// the records handed out earlier and waiting again, to be handed over
    /// as copies (still counted as outstanding); the rest is read again by
    /// the partitions' next owner.
    pub(super) fn close(&self) -> Vec<Entry> {
        let mut state = self.lock();
        state.closing = true;
        let ready = std::mem::take(&mut state.ready);
        let mut handover = Vec::new();
        for entry in ready {
            if entry.handed_out {
                state.outstanding += 1;
                handover.push(entry);
            }
        }
        for partition in state.partitions.values_mut() {
            partition.keys.clear();
        }
        state.buffered = 0;
        drop(state);
        self.pump.notify_one();
        handover
    }

    /// The partitions of `topic` assigned to this member.
    pub(super) fn assigned(&self, topic: &str) -> Vec<i32> {
        self.lock()
            .partitions
            .keys()
            .filter(|(t, _)| &**t == topic)
            .map(|(_, p)| *p)
            .collect()
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

/// The consumer's callbacks: rebalances update the member's state.
pub(super) struct Context {
    pub(super) shared: Arc<Shared>,
}

impl ClientContext for Context {}

impl ConsumerContext for Context {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else {
            return;
        };
        let mut guard = self.shared.lock();
        let state = &mut *guard;
        for element in list.elements() {
            let tp: Tp = (element.topic().into(), element.partition());
            state.partitions.remove(&tp);
        }
        let before = state.ready.len();
        let partitions = &state.partitions;
        state
            .ready
            .retain(|e| partitions.get(&e.tp).is_some_and(|p| p.epoch == e.epoch));
        state.buffered -= before - state.ready.len();
        drop(guard);
        // What was settled of the revoked partitions is committed before
        // they move, so their next owner starts after it.
        if let Some(commits) = self.shared.take_commits() {
            if let Err(error) = consumer.commit(&commits, CommitMode::Sync) {
                tracing::debug!(%error, "could not commit before a rebalance");
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(list) = rebalance else {
            return;
        };
        let mut state = self.shared.lock();
        for element in list.elements() {
            let tp: Tp = (element.topic().into(), element.partition());
            state.next_epoch += 1;
            let epoch = state.next_epoch;
            state.partitions.insert(
                tp,
                PartitionState {
                    epoch,
                    window: Window::default(),
                    keys: HashMap::new(),
                },
            );
        }
        drop(state);
        self.shared.rebalances.send_modify(|n| *n += 1);
    }
}

/// Reads the member's partitions until the member is closed and its
/// deliveries settled, then commits and leaves the group.
pub(super) async fn pump(consumer: StreamConsumer<Context>, shared: Arc<Shared>) {
    let mut failures = 0u32;
    let mut paused = false;
    loop {
        let woken = shared.pump.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        if let Some(commits) = shared.take_commits() {
            if let Err(error) = consumer.commit(&commits, CommitMode::Async) {
                tracing::debug!(%error, group = %shared.group, "could not commit offsets");
            }
        }
        let (closing, outstanding, full) = {
            let state = shared.lock();
            (
                state.closing,
                state.outstanding,
                state.buffered >= shared.max_buffered,
            )
        };
        if closing && outstanding == 0 {
            break;
        }
        if full != paused {
            if let Ok(assignment) = consumer.assignment() {
                let done = if full {
                    consumer.pause(&assignment)
                } else {
                    consumer.resume(&assignment)
                };
                if done.is_ok() {
                    paused = full;
                }
            }
        }
        tokio::select! {
            () = &mut woken => {}
            received = consumer.recv() => match received {
                Ok(record) => {
                    failures = 0;
                    if closing {
                        continue;
                    }
                    let topic: Arc<str> = record.topic().into();
                    let (message, attempt) = headers::from_kafka(
                        record.topic(),
                        record.key(),
                        record.headers(),
                        record.payload(),
                    );
                    shared.push(Entry {
                        tp: (topic, record.partition()),
                        offset: record.offset(),
                        epoch: 0,
                        message,
                        attempt,
                        handed_out: false,
                    });
                }
                Err(error) => {
                    failures += 1;
                    tracing::warn!(%error, group = %shared.group, "reading from Kafka failed; reading again");
                    tokio::time::sleep(backoff(failures, Duration::from_secs(2))).await;
                }
            },
        }
    }
    // The last commits, then leave the group (closing the consumer blocks
    // while it hands its partitions back).
    let last = shared.take_commits();
    let _ = tokio::task::spawn_blocking(move || {
        if let Some(commits) = last {
            if let Err(error) = consumer.commit(&commits, CommitMode::Sync) {
                tracing::debug!(%error, "could not commit the last offsets");
            }
        }
        drop(consumer);
    })
    .await;
}
