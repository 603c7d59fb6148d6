//! The consumer's rebalance callbacks: a revoked partition is handed over
//! (committed up to its first unsettled record) before it moves, an
//! assigned one gets its start (see the `start` module) and a new epoch of
//! the member's state.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::ClientContext;

use super::super::window::{Resume, Window};
use super::start::{set_starts, Start};
use super::{PartitionState, Shared, Tp};

/// The consumer's callbacks: rebalances update the member's state.
pub(in crate::broker::kafka) struct Context {
    shared: Arc<Shared>,
    /// The starts found for the partitions being assigned, from before the
    /// assignment to after it.
    starts: Mutex<HashMap<Tp, Start>>,
}

impl Context {
    pub(in crate::broker::kafka) fn new(shared: Arc<Shared>) -> Context {
        Context {
            shared,
            starts: Mutex::default(),
        }
    }
}

impl ClientContext for Context {}

impl ConsumerContext for Context {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let list = match rebalance {
            Rebalance::Assign(list) => {
                // Each partition is assigned at its start, so that the
                // consumer fetches nothing before it.
                let starts = set_starts(consumer, &self.shared, list);
                *self.starts.lock().expect("starts poisoned") = starts;
                return;
            }
            Rebalance::Revoke(list) => list,
            Rebalance::Error(_) => return,
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
        let mut starts = std::mem::take(&mut *self.starts.lock().expect("starts poisoned"));
        let mut state = self.shared.lock();
        for element in list.elements() {
            let tp: Tp = (element.topic().into(), element.partition());
            state.next_epoch += 1;
            let epoch = state.next_epoch;
            // A partition assigned without its start waits for the
            // reading task to find it.
            let resume = match starts.remove(&tp) {
                Some(start) => start.resume,
                None => {
                    state.unstarted.insert(tp.clone());
                    Resume::default()
                }
            };
            state.partitions.insert(
                tp,
                PartitionState {
                    epoch,
                    window: Window::default(),
                    resume,
                    keys: HashMap::new(),
                },
            );
        }
        drop(state);
        self.shared.pump.notify_one();
        self.shared.rebalances.send_modify(|n| *n += 1);
    }
}
