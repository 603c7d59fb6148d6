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

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::Message as _;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::{watch, Notify};

use super::headers;
use super::window::{Resume, Window};
use super::KafkaBroker;
use crate::broker::reconnect::backoff;
use crate::broker::{Message, DEAD_LETTER_TOPIC};

/// A topic and partition.
pub(super) type Tp = (Arc<str>, i32);

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
    /// A delivery passed its ack wait: hand every partition over (see
    /// [`Shared::expired`]).
    release: bool,
    /// Partitions assigned whose starting offset is not yet committed.
    unstarted: HashSet<Tp>,
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

    /// A record read from the consumer.
    fn push(&self, entry: Entry) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(partition) = state.partitions.get_mut(&entry.tp) else {
            return;
        };
        if state.unstarted.contains(&entry.tp) {
            // Read again after the seek to the partition's start.
            return;
        }
        let mut entry = entry;
        entry.epoch = partition.epoch;
        partition.window.read(entry.offset);
        if partition.resume.settled(entry.offset) {
            // Settled by the partition's previous owner after its last
            // committed offset.
            if let Some(commit) = partition.window.settle(entry.offset) {
                state.commits.insert(entry.tp, commit);
                drop(guard);
                self.pump.notify_one();
            }
            return;
        }
        entry.attempt = partition.resume.attempt(entry.offset, entry.attempt);
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
        let revoked: HashSet<Tp> = list
            .elements()
            .iter()
            .map(|e| (e.topic().into(), e.partition()))
            .collect();
        // What was settled of the revoked partitions is committed before
        // they move, so their next owner starts after it and skips what
        // was settled beyond.
        if let Some(commits) = self.shared.hand_over(|tp| revoked.contains(tp)) {
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
            state.unstarted.insert(tp.clone());
            state.partitions.insert(
                tp,
                PartitionState {
                    epoch,
                    window: Window::default(),
                    resume: Resume::default(),
                    keys: HashMap::new(),
                },
            );
        }
        drop(state);
        self.shared.pump.notify_one();
        self.shared.rebalances.send_modify(|n| *n += 1);
    }
}

/// Reads the member's partitions until the member is closed and its
/// deliveries settled, then commits and leaves the group.
pub(super) async fn pump(
    consumer: StreamConsumer<Context>,
    shared: Arc<Shared>,
    topics: Vec<String>,
) {
    shared.broker.inner.members.fetch_add(1, Ordering::AcqRel);
    let open = OpenConsumer(shared.broker.clone());
    let mut failures = 0u32;
    let mut paused = false;
    // Since when the member is full without pausing.
    let mut full_since: Option<tokio::time::Instant> = None;
    let mut last_commit = tokio::time::Instant::now();
    // When a member that left the group to hand its partitions over joins
    // again.
    let mut rejoin_at: Option<tokio::time::Instant> = None;
    let rejoin_delay = rejoin_delay(&shared.broker.inner.options);
    let mut last_topic: Option<Arc<str>> = None;
    loop {
        let woken = shared.pump.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let commit_due = last_commit + COMMIT_INTERVAL;
        if tokio::time::Instant::now() >= commit_due {
            if let Some(commits) = shared.take_commits() {
                last_commit = tokio::time::Instant::now();
                if let Err(error) = consumer.commit(&commits, CommitMode::Async) {
                    tracing::debug!(%error, group = %shared.group, "could not commit offsets");
                }
            }
        }
        let commits_waiting = !shared.lock().commits.is_empty();
        let (closing, outstanding, full, release) = {
            let mut state = shared.lock();
            (
                state.closing,
                state.outstanding,
                state.buffered >= shared.max_buffered,
                std::mem::take(&mut state.release),
            )
        };
        if release {
            // A delivery passed its ack wait: every partition is committed
            // up to its first unsettled record and handed over (the
            // commit waits for the broker: a rare event, and the next
            // owner must find it).
            if let Some(commits) = shared.hand_over(|_| true) {
                last_commit = tokio::time::Instant::now();
                if let Err(error) = consumer.commit(&commits, CommitMode::Sync) {
                    tracing::warn!(%error, group = %shared.group, "could not commit before handing the partitions over; their next owner reads from the last commit");
                }
            }
            if closing {
                break;
            }
            if rejoin_at.is_none() {
                // Leave now, join again only once the group has rebalanced
                // without this member: joining at once would put it in the
                // very rebalance its leaving starts, where it may be given
                // its partitions back. Once another member holds them, the
                // sticky assignor leaves them there.
                consumer.unsubscribe();
                rejoin_at = Some(tokio::time::Instant::now() + rejoin_delay);
                paused = false;
            }
        }
        if closing && outstanding == 0 {
            break;
        }
        // Full: stop taking records, which stay in the consumer's own
        // queue. Only when nothing goes out for STALL_PAUSE are the
        // partitions paused, so that the consumer is polled again for the
        // group's rebalances: pausing drops what the consumer fetched
        // ahead, and resuming fetches it again, too slow to do each time
        // the member fills up.
        let stalled = match (full, full_since) {
            (false, _) => {
                full_since = None;
                false
            }
            (true, None) => {
                full_since = Some(tokio::time::Instant::now());
                false
            }
            (true, Some(since)) => since.elapsed() >= STALL_PAUSE,
        };
        let pause = full && (paused || stalled);
        if pause != paused {
            if let Ok(assignment) = consumer.assignment() {
                let done = if pause {
                    consumer.pause(&assignment)
                } else {
                    consumer.resume(&assignment)
                };
                if done.is_ok() {
                    paused = pause;
                }
            }
        }
        let unstarted = !shared.started();
        let holding = full && !paused;
        let stall_due = full_since.map_or(last_commit, |since| since + STALL_PAUSE);
        tokio::select! {
            () = &mut woken => {}
            () = tokio::time::sleep_until(stall_due), if holding => {}
            () = tokio::time::sleep_until(commit_due), if commits_waiting => {}
            () = tokio::time::sleep_until(rejoin_at.unwrap_or(last_commit)), if rejoin_at.is_some() => {
                rejoin_at = None;
                if !closing {
                    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
                    if let Err(error) = consumer.subscribe(&names) {
                        tracing::warn!(%error, group = %shared.group, "could not join the group again");
                    }
                }
            }
            () = tokio::time::sleep(START_POLL), if unstarted && !closing => {
                commit_starts(&consumer, &shared);
            }
            received = consumer.recv(), if !holding => match received {
                Ok(record) => {
                    failures = 0;
                    if closing {
                        continue;
                    }
                    // Records mostly come from one topic: its name is
                    // shared, not copied per record.
                    let topic = match &last_topic {
                        Some(topic) if **topic == *record.topic() => topic.clone(),
                        _ => last_topic.insert(record.topic().into()).clone(),
                    };
                    let (mut message, attempt) = headers::from_kafka(
                        record.topic(),
                        record.key(),
                        record.headers(),
                        record.payload(),
                    );
                    if shared.from_oldest {
                        // A dead letter keeps the topic it was published on.
                        if let Some(original) = message.headers.get(DEAD_LETTER_TOPIC) {
                            message.topic = original.clone();
                        }
                    }
                    shared.push(Entry {
                        tp: (topic, record.partition()),
                        offset: record.offset(),
                        epoch: 0,
                        message: Arc::new(message),
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
    // The last commits, with the notes for the partitions' next owners,
    // then leave the group (closing the consumer blocks while it hands its
    // partitions back).
    let last = shared.hand_over(|_| true);
    let _ = tokio::task::spawn_blocking(move || {
        if let Some(commits) = last {
            if let Err(error) = consumer.commit(&commits, CommitMode::Sync) {
                tracing::debug!(%error, "could not commit the last offsets");
            }
        }
        drop(consumer);
        drop(open);
    })
    .await;
}

/// The shortest time between two commits of a member: settlements in
/// between are committed together (a commit per record would cost a
/// broker round trip each). Before a rebalance and when the member leaves,
/// what is settled is committed at once.
const COMMIT_INTERVAL: Duration = Duration::from_millis(100);

/// How long a full member holds its records in the consumer's queue, not
/// polling it, before it pauses its partitions and polls for rebalances
/// again: the longest a rebalance waits on a member whose handlers are all
/// busy.
const STALL_PAUSE: Duration = Duration::from_millis(50);

/// How long a member that left its group to hand its partitions over (it
/// held a delivery past its ack wait while owning every partition) waits
/// before it joins again: two heartbeat intervals, in which the other
/// members learn of the rebalance and join it, and a second for the join
/// and sync round trips (1.6 s with a 300 ms heartbeat; 7 s with Kafka's
/// default 3 s).
fn rejoin_delay(options: &super::KafkaOptions) -> Duration {
    options.heartbeat_interval * 2 + Duration::from_secs(1)
}

/// How often a member looks for the starting offsets of new partitions.
const START_POLL: Duration = Duration::from_millis(50);

/// Starts each newly assigned partition: at the group's committed offset
/// where it has one, otherwise at the partition's end (or its oldest
/// record, for dead letters), committed at once,
/// so that a group new to a partition receives every record published from
/// then on, also if this member leaves before reading one. Records read
/// before a partition is started are dropped, and read again after the
/// seek to its start.
fn commit_starts(consumer: &StreamConsumer<Context>, shared: &Shared) {
    let timeout = shared.broker.inner.options.admin_timeout;
    let unstarted: Vec<Tp> = shared.lock().unstarted.iter().cloned().collect();
    let mut list = TopicPartitionList::new();
    for (topic, partition) in &unstarted {
        list.add_partition(topic, *partition);
    }
    let committed = match consumer.committed_offsets(list, timeout) {
        Ok(committed) => committed,
        Err(error) => {
            tracing::debug!(%error, group = %shared.group, "could not read committed offsets");
            return;
        }
    };
    let mut starts = TopicPartitionList::new();
    let mut new = TopicPartitionList::new();
    let mut notes = HashMap::new();
    for element in committed.elements() {
        let offset = match element.offset() {
            Offset::Offset(offset) => {
                let tp: Tp = (element.topic().into(), element.partition());
                // The note of the partition's last handover: in the
                // commit's metadata, or kept by this handle where the
                // broker does not keep metadata (tansu).
                let kept = shared
                    .broker
                    .inner
                    .notes
                    .lock()
                    .expect("notes poisoned")
                    .remove(&(shared.group.clone(), tp.clone()))
                    .filter(|(front, _)| *front == offset)
                    .map(|(_, note)| note);
                let note = match element.metadata() {
                    "" => kept.unwrap_or_default(),
                    metadata => metadata.to_owned(),
                };
                tracing::debug!(group = %shared.group, topic = %tp.0, partition = tp.1, offset, %note, "a partition starts at its committed offset");
                notes.insert(tp, Resume::parse(offset, &note));
                offset
            }
            _ => match consumer.fetch_watermarks(element.topic(), element.partition(), timeout) {
                Ok((low, high)) => {
                    let start = if shared.from_oldest { low } else { high };
                    let _ = new.add_partition_offset(
                        element.topic(),
                        element.partition(),
                        Offset::Offset(start),
                    );
                    start
                }
                Err(error) => {
                    tracing::debug!(%error, "could not read the end of a partition");
                    continue;
                }
            },
        };
        let _ = starts.add_partition_offset(
            element.topic(),
            element.partition(),
            Offset::Offset(offset),
        );
    }
    if new.count() > 0 {
        if let Err(error) = consumer.commit(&new, CommitMode::Sync) {
            tracing::debug!(%error, group = %shared.group, "could not commit starting offsets");
            return;
        }
    }
    for element in starts.elements() {
        let Offset::Offset(offset) = element.offset() else {
            continue;
        };
        let (topic, partition) = (element.topic(), element.partition());
        if let Err(error) = consumer.seek(topic, partition, Offset::Offset(offset), timeout) {
            tracing::debug!(%error, "could not seek to the start of a partition");
            continue;
        }
        let tp: Tp = (topic.into(), partition);
        let mut state = shared.lock();
        if let (Some(partition), Some(resume)) = (state.partitions.get_mut(&tp), notes.remove(&tp))
        {
            partition.resume = resume;
        }
        state.unstarted.remove(&tp);
    }
}

/// Counts an open consumer until dropped.
struct OpenConsumer(KafkaBroker);

impl Drop for OpenConsumer {
    fn drop(&mut self) {
        self.0.inner.members.fetch_sub(1, Ordering::AcqRel);
    }
}
