//! What a backend supplies to the fault scenarios: how to start, kill and
//! restart a broker process of the test's own, how to connect to it, and
//! the few ways its broker differs that a scenario can notice.
//!
//! A scenario in [`crate::scenarios`] is written once against
//! [`FaultBackend`]; each backend's test file implements the trait and runs
//! every scenario with [`for_each_scenario!`](crate::for_each_scenario).

use std::future::Future;
use std::time::Duration;

use accord::broker::{ConsumeEvents, Publish};

/// A broker process started for one test, and how to reach it.
pub trait FaultBackend: Sized + Send + Sync + 'static {
    /// The broker handle the scenarios use.
    type Broker: Publish + ConsumeEvents;

    /// The broker's name in the reports the scenarios print.
    const NAME: &'static str;

    /// Whether this machine can start the broker; `Err` says what is
    /// missing.
    fn available() -> Result<(), String>;

    /// Starts a broker process of the test's own, named after `label`,
    /// and waits until it accepts connections.
    fn start(label: &str) -> impl Future<Output = Result<Self, String>> + Send;

    /// The URL a separate process (the `fault-worker`) connects to.
    fn url(&self) -> String;

    /// A new connection, for `role` (named in the broker's connection list
    /// where it has one).
    fn connect(&self, role: &str) -> impl Future<Output = Self::Broker> + Send;

    /// Kills the broker process with SIGKILL.
    fn kill(&mut self) -> impl Future<Output = Result<(), String>> + Send;

    /// Starts the broker again on the same data and port, and waits until
    /// it accepts connections.
    fn restart(&mut self) -> impl Future<Output = Result<(), String>> + Send;

    /// Declares `group` on `topics`, so that it collects events before any
    /// member runs, where subscribing is not the only way to do so.
    fn declare_group(
        broker: &Self::Broker,
        group: &str,
        topics: &[&str],
    ) -> impl Future<Output = ()> + Send {
        let _ = (broker, group, topics);
        async {}
    }

    /// How many messages the broker stores for `topic`, where it can say.
    fn stored(broker: &Self::Broker, topic: &str) -> impl Future<Output = Option<u64>> + Send {
        let _ = (broker, topic);
        async { None }
    }

    /// The bounds and waits the scenarios use with this broker.
    fn timing() -> Timing;

    /// Whether stored events and dead letters outlive a SIGKILL of the
    /// broker. A broker that keeps them only in memory skips the
    /// scenarios that count on it, saying so.
    fn keeps_data_across_a_kill() -> bool {
        true
    }

    /// Whether a delivery held by a member that crashed comes to the next
    /// member as a later attempt. Where the broker keeps no count of
    /// deliveries (Kafka: the next member reads again from the group's
    /// committed offset), it comes as attempt 1, and the hand-over
    /// scenario checks only that it comes once.
    fn counts_attempts_across_a_crash() -> bool {
        true
    }
}

/// The bounds and waits of the scenarios with one broker.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long the broker stays down after the kill in the stream
    /// scenario, before it is restarted.
    pub down_for: Duration,
    /// Whether `down_for` is longer than a publish waits for its confirm,
    /// so that every publisher has a publish fail during the outage.
    pub every_publisher_fails: bool,
    /// The members' ack wait in the stream scenario (`None`: the default).
    pub stream_ack_wait: Option<Duration>,
    /// How long after a restart every event must be confirmed, and handled.
    pub recovery: Duration,
    /// The ack wait of the group in the hand-over scenario.
    pub handover_ack_wait: Duration,
    /// How long a delivery that is to come again may take to do so: the
    /// scenarios watch this long for deliveries they do not expect.
    pub redelivery_within: Duration,
}
