//! When a member that left its group to hand its partitions over (it held
//! a delivery past its ack wait) joins again.
//!
//! Joining at once would put the member in the very rebalance its leaving
//! starts, where it may be given its partitions back; once another member
//! holds them, the sticky assignor leaves them there. So the member waits
//! [`Rejoin::delay`], then joins as soon as its group's coordinator says
//! the group is not in a rebalance (the other members have joined and
//! been given the partitions), looking every heartbeat interval, and
//! joins anyway once the group has not settled within a session timeout
//! more.

use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use tokio::time::Instant;

use super::super::KafkaOptions;
use super::blocking::blocking;
use super::Context;

pub(super) struct Rejoin {
    /// While the member is out of its group: when to look again, and when
    /// it joins whatever the group's state.
    out: Option<(Instant, Instant)>,
    delay: Duration,
    /// How often the group's state is looked at, and how long one look may
    /// take.
    poll: Duration,
    session_timeout: Duration,
}

impl Rejoin {
    pub(super) fn new(options: &KafkaOptions) -> Rejoin {
        Rejoin {
            out: None,
            delay: Rejoin::delay(options),
            poll: options.heartbeat_interval,
            session_timeout: options.session_timeout,
        }
    }

    /// The least time a member stays out of its group: two heartbeat
    /// intervals, in which the other members learn of the rebalance and
    /// join it, and a second for the join and sync round trips (1.6 s with
    /// a 300 ms heartbeat; 7 s with Kafka's default 3 s).
    fn delay(options: &KafkaOptions) -> Duration {
        options.heartbeat_interval * 2 + Duration::from_secs(1)
    }

    /// The member left its group at `now`.
    pub(super) fn left(&mut self, now: Instant) {
        let at = now + self.delay;
        self.out = Some((at, at + self.session_timeout));
    }

    /// The member is closing: it does not join again.
    pub(super) fn stay_out(&mut self) {
        self.out = None;
    }

    /// Whether the member is out of its group.
    pub(super) fn is_out(&self) -> bool {
        self.out.is_some()
    }

    /// When to call [`due`](Rejoin::due) next.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.out.map(|(at, _)| at)
    }

    /// Whether the member joins its group again now; if not, the next
    /// look is due at [`deadline`](Rejoin::deadline).
    pub(super) fn due(
        &mut self,
        now: Instant,
        consumer: &StreamConsumer<Context>,
        group: &str,
    ) -> bool {
        let Some((at, latest)) = self.out else {
            return false;
        };
        if now < at {
            return false;
        }
        if now < latest && blocking(|| rebalancing(consumer, group, self.poll)) {
            self.out = Some((now + self.poll, latest));
            return false;
        }
        self.out = None;
        true
    }
}

/// Whether `group` is in a rebalance, as its coordinator says: in any state
/// but `Stable`, `Empty` or `Dead` (Kafka names its rebalance states
/// `PreparingRebalance` and `CompletingRebalance`; a broker that names a
/// state otherwise, as tansu does with `Unknown`, is waited for too).
/// `false` when the coordinator does not answer within `timeout`.
fn rebalancing(consumer: &StreamConsumer<Context>, group: &str, timeout: Duration) -> bool {
    match consumer.fetch_group_list(Some(group), timeout) {
        Ok(list) => list.groups().iter().any(|g| {
            tracing::debug!(
                group,
                state = g.state(),
                members = g.members().len(),
                "the group's state before joining it again"
            );
            !matches!(g.state(), "Stable" | "Empty" | "Dead")
        }),
        Err(error) => {
            tracing::debug!(%error, group, "could not read the group's state before joining it again");
            false
        }
    }
}
