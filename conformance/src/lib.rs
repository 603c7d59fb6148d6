//! The broker conformance suite: what every broker backend must do, written
//! once and run unchanged against each backend, check by check as far as
//! the backend's capabilities go ([`for_each_check!`]).
//!
//! Each check is a `pub async fn` generic over the broker. It takes the
//! broker and a name prefix, and names every topic and group it uses from
//! that prefix plus a random suffix, so checks can run concurrently and
//! repeatedly against one shared, long-lived broker. A check panics with a
//! message saying what a user would have noticed when the backend does not
//! conform. Every wait is bounded: a message must arrive within
//! [`ARRIVE`], and "nothing more arrives" is observed over [`QUIET`].
//!
//! ```
//! # async fn example() {
//! use accord::MemoryBroker;
//!
//! // One check against a fresh broker...
//! accord_conformance::fan_out_to_groups(&MemoryBroker::new(), "memory").await;
//! // ...and every check against one shared broker.
//! let shared = MemoryBroker::new();
//! accord_conformance::run_all(|| shared.clone()).await;
//! # }
//! ```
//!
//! [`run_all`] runs every check in turn; [`chaos`] is the randomized
//! end-to-end run of the subscriber runtime over a backend.

mod broker_checks;
mod chaos;
pub mod contract;
mod envelope_checks;
mod limit_checks;
mod order_checks;
mod request_checks;
mod size_checks;
mod subscriber_checks;

use std::future::Future;
use std::time::Duration;

use accord::broker::{Broker, ConsumeEvents, Message, Publish, RequestReply, Subscription};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use broker_checks::{
    competition_within_group, dead_letter_after_last_attempt, fan_out_to_groups,
    no_loss_when_member_dropped_mid_handler, redelivery_after_ack_wait, redelivery_after_release,
    redelivery_after_retry,
};
pub use chaos::{chaos, quiet_chaos_panics, ChaosConfig, ChaosReport, CHAOS_PANIC};
pub use envelope_checks::mislabelled_events_dead_lettered;
pub use limit_checks::{
    dead_letter_reason_capped, huge_undecodable_event_dead_lettered_once,
    refused_dead_letter_retried_with_backoff, undecodable_event_dead_lettered_once,
};
pub use order_checks::per_key_order;
pub use request_checks::request_reply;
pub use size_checks::oversized_messages_refused;
pub use subscriber_checks::{
    dedupe_through_subscriber, generated_contract_round_trip, shutdown_draining,
    subscriber_retries_then_dead_letters,
};

/// How long a message that should arrive may take.
pub const ARRIVE: Duration = Duration::from_secs(10);

/// How long a check watches to see that nothing (more) arrives.
pub const QUIET: Duration = Duration::from_millis(300);

/// Calls `$m!(check, ...)` with the name of every check a backend's
/// capabilities allow, so each backend's test file runs the whole suite it
/// can, and a new check reaches every backend that offers what it needs.
///
/// After the macro's name come the capabilities the backend offers:
/// - `events`: [`Publish`] and [`ConsumeEvents`] (subscribe with durable
///   groups, dead letters and delayed retry);
/// - `ordered`: per-key order for groups subscribing
///   [`KeyOrder::ByKey`](accord::broker::KeyOrder::ByKey), as the backend
///   declares in [`Capabilities::per_key_order`](accord::broker::Capabilities::per_key_order);
/// - `requests`: [`RequestReply`](accord::broker::RequestReply).
///
/// With no list, every capability.
///
/// ```text
/// macro_rules! checks {
///     ($($check:ident),*) => { $( #[tokio::test] async fn $check() { /* ... */ } )* };
/// }
/// accord_conformance::for_each_check!(checks: events, requests);
/// ```
#[macro_export]
macro_rules! for_each_check {
    ($m:ident) => {
        $crate::for_each_check!($m: events, ordered, requests);
    };
    ($m:ident : $($capability:ident),+ $(,)?) => {
        $( $crate::__checks_of!($m, $capability); )+
    };
}

/// The checks of one capability, for [`for_each_check!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __checks_of {
    ($m:ident, events) => {
        $m!(
            fan_out_to_groups,
            competition_within_group,
            redelivery_after_retry,
            redelivery_after_release,
            redelivery_after_ack_wait,
            dead_letter_after_last_attempt,
            no_loss_when_member_dropped_mid_handler,
            dedupe_through_subscriber,
            subscriber_retries_then_dead_letters,
            shutdown_draining,
            generated_contract_round_trip,
            huge_undecodable_event_dead_lettered_once,
            dead_letter_reason_capped,
            mislabelled_events_dead_lettered
        );
    };
    ($m:ident, ordered) => {
        $m!(per_key_order);
    };
    ($m:ident, requests) => {
        $m!(request_reply);
    };
    ($m:ident, $other:ident) => {
        compile_error!(concat!(
            "unknown broker capability `",
            stringify!($other),
            "`: expected one of `events`, `ordered`, `requests`"
        ));
    };
}

/// Runs every check against brokers made by `make`: a fresh broker per
/// check, or clones of one shared broker.
pub async fn run_all<B, F>(make: F)
where
    B: Broker,
    F: Fn() -> B,
{
    run_all_named(&format!("all-{}", short_id()), make).await;
}

/// [`run_all`] with the caller's name prefix, so the caller can find and
/// remove what this run declared, and only that.
pub async fn run_all_named<B, F>(prefix: &str, make: F)
where
    B: Broker,
    F: Fn() -> B,
{
    run_event_checks_named(prefix, &make).await;
    run_request_checks_named(prefix, &make).await;
}

/// Runs the `events` checks (see [`for_each_check!`]) in turn, and the
/// `ordered` one where the backend claims per-key order, with the caller's
/// name prefix.
pub async fn run_event_checks_named<B, F>(prefix: &str, make: F)
where
    B: Publish + ConsumeEvents,
    F: Fn() -> B,
{
    let prefix = prefix.to_owned();
    fan_out_to_groups(&make(), &prefix).await;
    competition_within_group(&make(), &prefix).await;
    if make().capabilities().per_key_order {
        per_key_order(&make(), &prefix).await;
    }
    redelivery_after_retry(&make(), &prefix).await;
    redelivery_after_release(&make(), &prefix).await;
    redelivery_after_ack_wait(&make(), &prefix).await;
    dead_letter_after_last_attempt(&make(), &prefix).await;
    no_loss_when_member_dropped_mid_handler(&make(), &prefix).await;
    dedupe_through_subscriber(&make(), &prefix).await;
    subscriber_retries_then_dead_letters(&make(), &prefix).await;
    shutdown_draining(&make(), &prefix).await;
    generated_contract_round_trip(&make(), &prefix).await;
    huge_undecodable_event_dead_lettered_once(&make(), &prefix).await;
    dead_letter_reason_capped(&make(), &prefix).await;
    mislabelled_events_dead_lettered(&make(), &prefix).await;
}

/// Runs the `requests` checks (see [`for_each_check!`]) in turn, with the
/// caller's name prefix.
pub async fn run_request_checks_named<B, F>(prefix: &str, make: F)
where
    B: RequestReply,
    F: Fn() -> B,
{
    request_reply(&make(), prefix).await;
}

/// Topic and group names for one check run: `prefix`, the check, what the
/// name is for, and a random suffix.
///
/// Topics are dot-separated (NATS subject tokens, AMQP routing key words);
/// groups use only letters, digits, `-` and `_` (valid as a JetStream
/// durable consumer name and an AMQP queue name).
#[derive(Debug, Clone)]
pub struct Names {
    base: String,
}

impl Names {
    /// Names for `check` under `prefix`, unique to this call.
    pub fn new(prefix: &str, check: &str) -> Self {
        Names {
            base: format!("{}-{}-{}", sanitize(prefix), sanitize(check), short_id()),
        }
    }

    /// A topic name.
    pub fn topic(&self, what: &str) -> String {
        format!("conformance.{}.{}", self.base, sanitize(what))
    }

    /// A group name.
    pub fn group(&self, what: &str) -> String {
        format!("{}-{}", self.base, sanitize(what))
    }

    /// A token identifying this run, for payloads.
    pub fn run(&self) -> &str {
        &self.base
    }
}

fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn short_id() -> String {
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(12);
    id
}

/// The payload as text.
pub(crate) fn text(message: &Message) -> String {
    String::from_utf8_lossy(&message.payload).into_owned()
}

/// The next delivery, or a panic naming `what` when none arrives within
/// [`ARRIVE`].
pub(crate) async fn expect_delivery<S: Subscription>(sub: &mut S, what: &str) -> S::Delivery {
    match tokio::time::timeout(ARRIVE, sub.next()).await {
        Ok(Some(delivery)) => delivery,
        Ok(None) => panic!("{what}: the subscription closed instead"),
        Err(_) => panic!("{what}: nothing arrived within {ARRIVE:?}"),
    }
}

/// Panics when a delivery arrives within `window`.
pub(crate) async fn expect_quiet_for<S: Subscription>(sub: &mut S, window: Duration, what: &str) {
    use accord::broker::Delivery;
    if let Ok(Some(delivery)) = tokio::time::timeout(window, sub.next()).await {
        panic!(
            "{what}: unexpected delivery of {:?} on `{}` (attempt {})",
            text(delivery.message()),
            delivery.message().topic,
            delivery.attempt()
        );
    }
}

/// Panics when a delivery arrives within [`QUIET`].
pub(crate) async fn expect_quiet<S: Subscription>(sub: &mut S, what: &str) {
    expect_quiet_for(sub, QUIET, what).await;
}

/// Awaits `future`, or panics naming `what` after `limit`.
pub(crate) async fn within<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: did not finish within {limit:?}"),
    }
}

/// Polls `condition` until it holds, or panics naming `what` after
/// [`ARRIVE`].
pub(crate) async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + ARRIVE;
    while !condition() {
        if tokio::time::Instant::now() >= deadline {
            panic!("{what}: not the case within {ARRIVE:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A spawned task, aborted when this is dropped (also when a check panics).
#[derive(Debug)]
pub(crate) struct Task(JoinHandle<()>);

impl Task {
    pub(crate) fn spawn(future: impl Future<Output = ()> + Send + 'static) -> Self {
        Task(tokio::spawn(future))
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs a group member in the background, passing each delivery, tagged
/// with `member`, to `to`.
pub(crate) fn forward<S: Subscription>(
    member: usize,
    mut sub: S,
    to: mpsc::UnboundedSender<(usize, S::Delivery)>,
) -> Task {
    Task::spawn(async move {
        while let Some(delivery) = sub.next().await {
            if to.send((member, delivery)).is_err() {
                break;
            }
        }
    })
}

/// The next forwarded delivery, or a panic naming `what`.
pub(crate) async fn expect_forwarded<D>(
    from: &mut mpsc::UnboundedReceiver<(usize, D)>,
    what: &str,
) -> (usize, D) {
    match tokio::time::timeout(ARRIVE, from.recv()).await {
        Ok(Some(delivery)) => delivery,
        Ok(None) => panic!("{what}: every member's subscription closed"),
        Err(_) => panic!("{what}: nothing arrived within {ARRIVE:?}"),
    }
}

/// Panics when a forwarded delivery arrives within [`QUIET`].
pub(crate) async fn expect_forwarded_quiet<D: accord::broker::Delivery>(
    from: &mut mpsc::UnboundedReceiver<(usize, D)>,
    what: &str,
) {
    if let Ok(Some((member, delivery))) = tokio::time::timeout(QUIET, from.recv()).await {
        panic!(
            "{what}: unexpected delivery of {:?} to member {member} (attempt {})",
            text(delivery.message()),
            delivery.attempt()
        );
    }
}
