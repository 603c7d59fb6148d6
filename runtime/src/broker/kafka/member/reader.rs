//! The task that reads a member's partitions: it polls the consumer, starts
//! newly assigned partitions, hands records to the member's state, commits
//! what the settlements allowed, pauses when the member is full, hands the
//! partitions over when asked, and leaves the group when the member closes.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message as _};
use rdkafka::{Offset, TopicPartitionList};
use tokio::time::Instant;

use super::super::headers;
use super::super::window::Resume;
use super::super::KafkaBroker;
use super::blocking::blocking;
use super::hand_back;
use super::rejoin::Rejoin;
use super::{Context, Entry, Shared, Tp};
use crate::broker::reconnect::backoff;
use crate::broker::DEAD_LETTER_TOPIC;

/// Reads the member's partitions until the member is closed and its
/// deliveries settled, then commits and leaves the group.
pub(in crate::broker::kafka) async fn pump(
    consumer: StreamConsumer<Context>,
    shared: Arc<Shared>,
    topics: Vec<String>,
) {
    shared.broker.inner.members.fetch_add(1, Ordering::AcqRel);
    let open = OpenConsumer(shared.broker.clone());
    read(&consumer, &shared, &topics).await;
    // The last commits, with the notes for the partitions' next owners,
    // then leave the group, polling the consumer here.
    let mut stream = consumer.stream();
    hand_back::all(&consumer, &mut stream, &shared).await;
    hand_back::leave(&consumer, &mut stream, &shared).await;
    drop(stream);
    // Closing the consumer waits for the broker (the group's LeaveGroup);
    // bounded here, so that the subscription's task ends even if the
    // close does not (the consumer then closes in the background).
    let timeout = shared.broker.inner.options.session_timeout;
    let group = shared.group.clone();
    let closing = tokio::task::spawn_blocking(move || {
        drop(consumer);
        drop(open);
    });
    if tokio::time::timeout(timeout, closing).await.is_err() {
        tracing::warn!(%group, "a member's consumer did not close within the session timeout; it closes in the background");
    }
}

/// The reading loop of [`pump`]: returns once the member is closed and
/// its deliveries are settled (or its partitions handed over).
async fn read(consumer: &StreamConsumer<Context>, shared: &Shared, topics: &[String]) {
    let mut stream = consumer.stream();
    let mut failures = 0u32;
    let mut paused = false;
    // Since when the member is full without pausing.
    let mut full_since: Option<Instant> = None;
    let mut last_commit = Instant::now();
    // When a member that left the group to hand its partitions over joins
    // again.
    let mut rejoin = Rejoin::new(&shared.broker.inner.options);
    // When to look for the starting offsets of newly assigned partitions.
    let mut start_at: Option<Instant> = None;
    let mut topic = TopicName::default();
    let mut batch = Vec::with_capacity(READ_BATCH);
    // One timer for the earliest of the deadlines above, moved only when
    // that changes (not registered again per record).
    let timer = tokio::time::sleep_until(Instant::now());
    tokio::pin!(timer);
    loop {
        let woken = shared.pump.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let now = Instant::now();
        if now >= last_commit + COMMIT_INTERVAL {
            if let Some(commits) = shared.take_commits() {
                last_commit = now;
                if let Err(error) = consumer.commit(&commits, CommitMode::Async) {
                    tracing::debug!(%error, group = %shared.group, "could not commit offsets");
                }
            }
        }
        let view = shared.view();
        if view.release {
            // A delivery passed its ack wait: every partition is committed
            // up to its first unsettled record and handed over (the
            // commit waits for the broker: a rare event, and the next
            // owner must find it).
            if hand_back::all(consumer, &mut stream, shared).await {
                last_commit = Instant::now();
            }
            if view.closing {
                return;
            }
            if !rejoin.is_out() {
                // Leave now, join again once the group has rebalanced
                // without this member (see `Rejoin`).
                consumer.unsubscribe();
                rejoin.left(Instant::now());
                paused = false;
            }
            // Look at the state again, as the handover left it.
            continue;
        }
        if view.closing && view.outstanding == 0 {
            return;
        }
        if view.closing {
            // No look at the group's state for a member that will not
            // join again.
            rejoin.stay_out();
        } else if rejoin.due(now, consumer, &shared.group) {
            let names: Vec<&str> = topics.iter().map(String::as_str).collect();
            if let Err(error) = consumer.subscribe(&names) {
                tracing::warn!(%error, group = %shared.group, "could not join the group again");
            }
        }
        if view.unstarted && !view.closing {
            // Looked for at once, then every START_POLL until every
            // partition has its start.
            let at = *start_at.get_or_insert(now);
            if now >= at {
                blocking(|| commit_starts(consumer, shared));
                start_at = Some(Instant::now() + START_POLL);
            }
        } else {
            start_at = None;
        }
        // Full: stop taking records, which stay in the consumer's own
        // queue. Only when nothing goes out for STALL_PAUSE are the
        // partitions paused, so that the consumer is polled again for the
        // group's rebalances: pausing drops what the consumer fetched
        // ahead, and resuming fetches it again, too slow to do each time
        // the member fills up.
        let full = view.buffered >= shared.max_buffered;
        let stalled = match (full, full_since) {
            (false, _) => {
                full_since = None;
                false
            }
            (true, None) => {
                full_since = Some(now);
                false
            }
            (true, Some(since)) => now >= since + STALL_PAUSE,
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
                    if !pause {
                        blocking(|| wake_fetchers(consumer, &assignment, shared));
                    }
                }
            }
        }
        let holding = full && !paused;
        let deadline = [
            full_since
                .filter(|_| holding)
                .map(|since| since + STALL_PAUSE),
            view.commits_waiting
                .then_some(last_commit + COMMIT_INTERVAL),
            rejoin.deadline(),
            start_at,
        ]
        .into_iter()
        .flatten()
        .min();
        if let Some(deadline) = deadline {
            if timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
            }
        }
        tokio::select! {
            biased;
            () = &mut woken => {}
            () = &mut timer, if deadline.is_some() => {}
            received = stream.next(), if !holding => {
                let error = match received {
                    Some(Ok(record)) => {
                        failures = 0;
                        if view.closing {
                            continue;
                        }
                        batch.extend(entry(&record, &mut topic, shared, view.unstarted));
                        // What else the consumer has at hand, up to the
                        // room left, goes in under the same lock.
                        let room = shared
                            .max_buffered
                            .saturating_sub(view.buffered)
                            .min(READ_BATCH);
                        let mut error = None;
                        while batch.len() < room {
                            match stream.next().now_or_never() {
                                Some(Some(Ok(record))) => {
                                    batch.extend(entry(&record, &mut topic, shared, view.unstarted));
                                }
                                Some(Some(Err(e))) => {
                                    error = Some(e);
                                    break;
                                }
                                Some(None) | None => break,
                            }
                        }
                        shared.push_all(&mut batch);
                        error
                    }
                    Some(Err(error)) => Some(error),
                    // The consumer's stream never ends.
                    None => None,
                };
                if let Some(error) = error {
                    failures += 1;
                    tracing::warn!(%error, group = %shared.group, "reading from Kafka failed; reading again");
                    tokio::time::sleep(backoff(failures, Duration::from_secs(2))).await;
                }
            }
        }
    }
}

/// The member's entry of a record just read; `None` for a record of a
/// partition not yet started (`unstarted`: some may not be), which is read
/// again after the seek to the partition's start.
fn entry(
    record: &BorrowedMessage<'_>,
    topic: &mut TopicName,
    shared: &Shared,
    unstarted: bool,
) -> Option<Entry> {
    let name = record.topic();
    let tp = (topic.of(name), record.partition());
    if unstarted && shared.is_unstarted(&tp) {
        return None;
    }
    let (mut message, attempt) =
        headers::from_kafka(name, record.key(), record.headers(), record.payload());
    if shared.from_oldest {
        // A dead letter keeps the topic it was published on.
        if let Some(original) = message.headers.get(DEAD_LETTER_TOPIC) {
            message.topic = original.to_owned();
        }
    }
    Some(Entry {
        tp,
        offset: record.offset(),
        epoch: 0,
        message: Arc::new(message),
        attempt,
        handed_out: false,
    })
}

/// The name of the topic records were last read from, shared by their
/// entries: records mostly come from one topic, and its name is not
/// copied per record.
#[derive(Default)]
struct TopicName(Option<Arc<str>>);

impl TopicName {
    fn of(&mut self, name: &str) -> Arc<str> {
        match &self.0 {
            Some(topic) if **topic == *name => topic.clone(),
            _ => self.0.insert(name.into()).clone(),
        }
    }
}

/// The most records the reading task takes from the consumer per wake-up
/// (within the room [`KafkaOptions::max_buffered`] leaves): what the
/// consumer has at hand is taken in under one lock of the member's state,
/// and the handlers are woken once for it.
///
/// [`KafkaOptions::max_buffered`]: super::super::KafkaOptions::max_buffered
const READ_BATCH: usize = 64;

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

/// Makes the consumer fetch the resumed partitions now. librdkafka does
/// not wake its fetchers when partitions are resumed (their fetch state
/// never left "active"), so a resumed member would wait for each leader's
/// next wake-up, up to a second, for its first record; a request sent to
/// a leader wakes its fetcher. So the member reads its topics' leaders
/// and asks each leader of an assigned partition for one partition's
/// watermarks: a few round trips, each bounded by
/// [`KafkaOptions::admin_timeout`], and only after a pause, which is rare
/// (a member pauses only when nothing went out for [`STALL_PAUSE`]).
///
/// [`KafkaOptions::admin_timeout`]: super::super::KafkaOptions::admin_timeout
fn wake_fetchers(
    consumer: &StreamConsumer<Context>,
    assignment: &TopicPartitionList,
    shared: &Shared,
) {
    let timeout = shared.broker.inner.options.admin_timeout;
    // One partition per leader broker.
    let mut leaders: HashMap<i32, (String, i32)> = HashMap::new();
    let mut topics: Vec<String> = Vec::new();
    for element in assignment.elements() {
        let topic = element.topic();
        if topics.iter().any(|t| t == topic) {
            continue;
        }
        topics.push(topic.to_owned());
        let metadata = match consumer.fetch_metadata(Some(topic), timeout) {
            Ok(metadata) => metadata,
            Err(error) => {
                tracing::debug!(%error, %topic, "could not read a topic's leaders after resuming");
                continue;
            }
        };
        for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
            let assigned = assignment.find_partition(topic, partition.id()).is_some();
            if assigned {
                leaders
                    .entry(partition.leader())
                    .or_insert_with(|| (topic.to_owned(), partition.id()));
            }
        }
    }
    for (topic, partition) in leaders.values() {
        if let Err(error) = consumer.fetch_watermarks(topic, *partition, timeout) {
            tracing::debug!(%error, %topic, partition, "could not wake a partition's fetcher");
        }
    }
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
