//! The memory broker's own tests: its bounds and waits, per-key order at
//! a cost that does not depend on the keys, and request/reply.

mod bounds;
mod dead_letters;
mod delivery;
mod requests;

use std::future::Future;
use std::time::Duration;

use tokio::time::timeout;

use super::*;
use crate::broker::Subscription;

pub(super) fn msg(topic: &str, body: &str) -> Message {
    Message::new(topic, body.to_owned())
}

/// Fails the test, naming what hung, when `what` takes longer than `limit`.
pub(super) async fn within<T>(limit: Duration, what: &str, fut: impl Future<Output = T>) -> T {
    timeout(limit, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {limit:?}"))
}

/// How long a message that should arrive may take.
pub(super) const ARRIVE: Duration = Duration::from_secs(5);

/// Joins `group` on `topic`, with room for many deliveries at once.
pub(super) async fn join(broker: &MemoryBroker, group: &str, topic: &str) -> MemorySubscription {
    broker
        .subscribe(SubscribeOptions::new(group, [topic]).max_in_flight(1_000))
        .await
        .unwrap()
}

/// The next delivery, within [`ARRIVE`].
pub(super) async fn take(sub: &mut MemorySubscription) -> MemoryDelivery {
    within(ARRIVE, "a delivery", sub.next())
        .await
        .expect("the subscription is open")
}
