//! How a member hands its partitions back: the commit, made again when a
//! rebalance fenced it, and, when the member closes, leaving the group.
//!
//! A member commits synchronously before it gives its partitions up: when
//! it closes and when a delivery passed its ack wait. If the group is
//! rebalancing at that moment (other members joining or leaving, as in a
//! rolling deploy), the coordinator may refuse the commit because the
//! member's generation is no longer the group's (`ILLEGAL_GENERATION`) or
//! a rebalance is under way (`REBALANCE_IN_PROGRESS`). The member is still
//! in the group: once its consumer has joined the new generation (which it
//! does while polled), the same commit is accepted. Given up, the
//! partitions' next owners would start from the last commit that went
//! through and deliver what this member settled since a second time.
//!
//! So a fenced commit is made again, with backoff, while the consumer is
//! polled (what it reads meanwhile is dropped: the member's partitions are
//! already handed over, and their next owner reads it), for at most the
//! session timeout: a member not back in the group by then has been
//! removed from it. Committing late never skips a record: what is
//! committed is the first record the member did not settle.
//!
//! A closing member then leaves its group while its reading task still
//! polls the consumer ([`leave`]), so the revocation that leaving starts
//! is served there, within a bound, and dropping the consumer finds the
//! member out of the group already.

use std::time::Duration;

use futures_util::StreamExt;
use rdkafka::consumer::{CommitMode, Consumer, MessageStream, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::TopicPartitionList;
use tokio::time::Instant;

use super::super::KafkaOptions;
use super::blocking::blocking;
use super::{Context, Shared};
use crate::broker::reconnect::backoff;

/// Hands every partition of the member over: commits each up to its
/// first unsettled record, with the notes for the next owners
/// (`Shared::hand_over`), through [`commit`]. Whether there was anything
/// to commit.
pub(super) async fn all(
    consumer: &StreamConsumer<Context>,
    stream: &mut MessageStream<'_, Context>,
    shared: &Shared,
) -> bool {
    let Some(commits) = shared.hand_over(|_| true) else {
        return false;
    };
    let options = &shared.broker.inner.options;
    if let Err(error) = commit(consumer, stream, &commits, options).await {
        tracing::warn!(%error, group = %shared.group, "could not commit before handing the partitions over; their next owners read from the last commit");
    }
    true
}

/// Commits `commits` synchronously; when a rebalance fences the commit,
/// polls the consumer through `stream` and commits again (at most a
/// heartbeat interval apart), until it goes through, fails otherwise, or
/// the session timeout has passed.
async fn commit(
    consumer: &StreamConsumer<Context>,
    stream: &mut MessageStream<'_, Context>,
    commits: &TopicPartitionList,
    options: &KafkaOptions,
) -> KafkaResult<()> {
    let deadline = Instant::now() + options.session_timeout;
    let mut failures = 0u32;
    loop {
        let error = match blocking(|| consumer.commit(commits, CommitMode::Sync)) {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        failures += 1;
        let wait = backoff(failures, options.heartbeat_interval);
        if !fenced(&error) || Instant::now() + wait >= deadline {
            return Err(error);
        }
        tracing::debug!(%error, attempt = failures, "a rebalance fenced a handover commit; committing again once the member has rejoined");
        // Polling serves the rebalance that lets the member rejoin.
        poll_until(stream, Instant::now() + wait).await;
    }
}

/// Leaves the group: unsubscribes and polls the consumer through `stream`
/// until it holds no partition, for at most the session timeout (a `warn`
/// says which it could not do). Leaving revokes the member's partitions
/// through the rebalance callback, which only the consumer's poll serves.
pub(super) async fn leave(
    consumer: &StreamConsumer<Context>,
    stream: &mut MessageStream<'_, Context>,
    shared: &Shared,
) {
    let deadline = Instant::now() + shared.broker.inner.options.session_timeout;
    consumer.unsubscribe();
    loop {
        match consumer.assignment() {
            Ok(assignment) if assignment.count() == 0 => return,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, group = %shared.group, "could not read the leaving member's partitions; closing its consumer, which leaves the group");
                return;
            }
        }
        let until = Instant::now() + LEAVE_POLL;
        if until > deadline {
            tracing::warn!(group = %shared.group, "the member still held partitions a session timeout after leaving its group; closing its consumer");
            return;
        }
        poll_until(stream, until).await;
    }
}

/// Polls the consumer through `stream` until `until`, which serves the
/// group's rebalance callbacks; the records it reads are dropped (the
/// member's partitions are handed over: their next owner reads them).
async fn poll_until(stream: &mut MessageStream<'_, Context>, until: Instant) {
    while let Ok(Some(_)) = tokio::time::timeout_at(until, stream.next()).await {}
}

/// How long a leaving member polls its consumer between two looks at
/// whether it still holds partitions.
const LEAVE_POLL: Duration = Duration::from_millis(20);

/// Whether `error` is the coordinator refusing a commit because the group
/// is rebalancing, which the member's next generation resolves.
fn fenced(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::IllegalGeneration | RDKafkaErrorCode::RebalanceInProgress)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rebalance_refusals_are_committed_again() {
        assert!(fenced(&KafkaError::ConsumerCommit(
            RDKafkaErrorCode::IllegalGeneration
        )));
        assert!(fenced(&KafkaError::ConsumerCommit(
            RDKafkaErrorCode::RebalanceInProgress
        )));
        // A member removed from its group has lost its partitions to
        // others: its commit must not go through later.
        assert!(!fenced(&KafkaError::ConsumerCommit(
            RDKafkaErrorCode::UnknownMemberId
        )));
        assert!(!fenced(&KafkaError::ConsumerCommit(
            RDKafkaErrorCode::BrokerTransportFailure
        )));
    }
}
