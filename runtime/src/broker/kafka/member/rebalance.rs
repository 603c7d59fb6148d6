//! The consumer's rebalance callbacks: a revoked partition is handed over
//! (committed up to its first unsettled record) before it moves, an
//! assigned one starts a new epoch of the member's state.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::ClientContext;

use super::super::window::{Resume, Window};
use super::blocking::blocking;
use super::{PartitionState, Shared, Tp};

/// The consumer's callbacks: rebalances update the member's state.
pub(in crate::broker::kafka) struct Context {
    pub(in crate::broker::kafka) shared: Arc<Shared>,
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
            // The callback runs where the consumer is polled: on the
            // reading task's worker, whose other tasks go on meanwhile.
            if let Err(error) = blocking(|| consumer.commit(&commits, CommitMode::Sync)) {
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
