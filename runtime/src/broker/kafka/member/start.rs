//! Where a member starts reading a partition newly assigned to it: at the
//! group's committed offset where it has one, otherwise at the partition's
//! end (or its oldest record, for dead letters), committed at once, so that
//! a group new to a partition receives every record published from then
//! on, also if this member leaves before reading one.
//!
//! The starts are looked for in the rebalance that assigns the partitions
//! and handed to the consumer with the assignment, so that it fetches from
//! there at once. Where that fails (the group's offsets could not be read
//! in time), the partition is assigned without a start and the reading
//! task looks again ([`commit_starts`]): it drops what it reads of the
//! partition until then, and seeks to the start once found.

use std::collections::HashMap;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};

use super::super::window::Resume;
use super::{Context, Shared, Tp};

/// A partition's start: the offset to read from, and what its previous
/// owner noted in the commit there.
pub(super) struct Start {
    pub(super) tp: Tp,
    pub(super) offset: i64,
    pub(super) resume: Resume,
}

/// The starts of `partitions` that could be found, each new one committed
/// (see the module's notes); none when the group's offsets could not be
/// read or the new starts not committed.
pub(super) fn find_starts<C: Consumer<Context>>(
    consumer: &C,
    shared: &Shared,
    partitions: &[Tp],
) -> Vec<Start> {
    let timeout = shared.broker.inner.options.admin_timeout;
    let mut list = TopicPartitionList::new();
    for (topic, partition) in partitions {
        list.add_partition(topic, *partition);
    }
    let committed = match consumer.committed_offsets(list, timeout) {
        Ok(committed) => committed,
        Err(error) => {
            tracing::debug!(%error, group = %shared.group, "could not read committed offsets");
            return Vec::new();
        }
    };
    let mut starts = Vec::new();
    let mut new = TopicPartitionList::new();
    for element in committed.elements() {
        let tp: Tp = (element.topic().into(), element.partition());
        let (offset, resume) = match element.offset() {
            Offset::Offset(offset) => {
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
                (offset, Resume::parse(offset, &note))
            }
            _ => match consumer.fetch_watermarks(element.topic(), element.partition(), timeout) {
                Ok((low, high)) => {
                    let start = if shared.from_oldest { low } else { high };
                    let _ = new.add_partition_offset(
                        element.topic(),
                        element.partition(),
                        Offset::Offset(start),
                    );
                    (start, Resume::default())
                }
                Err(error) => {
                    tracing::debug!(%error, "could not read the end of a partition");
                    continue;
                }
            },
        };
        starts.push(Start { tp, offset, resume });
    }
    if new.count() > 0 {
        if let Err(error) = consumer.commit(&new, CommitMode::Sync) {
            tracing::debug!(%error, group = %shared.group, "could not commit starting offsets");
            return Vec::new();
        }
    }
    starts
}

/// Sets the starts found for the partitions of an assignment (`list`) as
/// their offsets, so that the consumer fetches from there; returns them by
/// partition, for the member's state.
pub(super) fn set_starts<C: Consumer<Context>>(
    consumer: &C,
    shared: &Shared,
    list: &TopicPartitionList,
) -> HashMap<Tp, Start> {
    let partitions: Vec<Tp> = list
        .elements()
        .iter()
        .map(|e| (e.topic().into(), e.partition()))
        .collect();
    let mut starts: HashMap<Tp, Start> = find_starts(consumer, shared, &partitions)
        .into_iter()
        .map(|start| (start.tp.clone(), start))
        .collect();
    for mut element in list.elements() {
        let tp: Tp = (element.topic().into(), element.partition());
        let Some(start) = starts.get(&tp) else {
            continue;
        };
        if element.set_offset(Offset::Offset(start.offset)).is_err() {
            starts.remove(&tp);
        }
    }
    starts
}

/// Starts the member's partitions still without a start (assigned when
/// their starts could not be found): seeks each to its start, from where
/// the consumer reads it again.
pub(super) fn commit_starts(consumer: &StreamConsumer<Context>, shared: &Shared) {
    let timeout = shared.broker.inner.options.admin_timeout;
    let unstarted: Vec<Tp> = shared.lock().unstarted.iter().cloned().collect();
    for start in find_starts(consumer, shared, &unstarted) {
        let (topic, partition) = (&start.tp.0, start.tp.1);
        if let Err(error) = consumer.seek(topic, partition, Offset::Offset(start.offset), timeout) {
            tracing::debug!(%error, "could not seek to the start of a partition");
            continue;
        }
        shared.start(&start.tp, start.resume);
    }
}
