//! How a subscriber takes its deliveries and runs their handlers: a fixed
//! set of `concurrency` handling tasks, started with the subscriber, take
//! turns at the subscription, and each handles the delivery it took before
//! it takes another.
//!
//! Nothing is spawned per delivery: a task costs an allocation aligned to
//! a cache line and its release, which on the memory broker's benchmark
//! was about a tenth of the whole per-event cost. The bound is the same as
//! with a task per delivery: at most `concurrency` deliveries are held at
//! once, since a task takes the next one only once it is done with its
//! own. One task at a time waits at the subscription (behind a lock that
//! hands over in the order the tasks arrived), so waking on a delivery
//! wakes one task.
//!
//! The task whose turn it is keeps it while the handlers it runs finish
//! at their first poll (no handler waited on anything): it takes the next
//! delivery itself instead of handing the turn to the next task and
//! yielding, a task switch and two lock operations per delivery saved.
//! Once a handler has to wait, the turn goes to the next task, so slow
//! handlers still run `concurrency` at once. Keeping the turn counts
//! against the task's scheduling budget, so a steady stream of deliveries
//! does not keep the other tasks of its thread from running.
//!
//! Shutdown: once asked for, no task takes another delivery, and the
//! subscription is closed (what it had fetched and not handed out is
//! released). The handlers in flight get the grace period; those still
//! running then are dropped, which releases their deliveries for
//! redelivery. The run ends once both are done: the handlers, and the
//! subscription's close (see [`Subscription::close`]: on Kafka, the
//! member's last commits and its leaving the consumer group; on NATS, its
//! last acks sent; on RabbitMQ, its consumers cancelled), which is waited
//! for at most the subscriber's close wait once the handlers are done.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{oneshot, watch, Mutex};
use tokio::task::JoinSet;

use crate::broker::Subscription;

/// The subscription, while deliveries are taken from it.
type Shared<S> = Arc<Mutex<Option<S>>>;

/// Takes the deliveries of `subscription` with `concurrency` tasks, each
/// running `handle` on what it took, until shutdown is asked for on `stop`
/// or the subscription closes; then waits up to `grace` for the handlers
/// in flight while the subscription closes, and for the close at most
/// `close_wait` more. `group` names the subscriber in the log.
pub(super) async fn run<S, H, F>(
    subscription: S,
    handle: H,
    concurrency: usize,
    (grace, close_wait): (Duration, Duration),
    mut stop: watch::Receiver<bool>,
    group: Arc<str>,
) where
    S: Subscription,
    H: Fn(S::Delivery) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let shared: Shared<S> = Arc::new(Mutex::new(Some(subscription)));
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        tasks.spawn(take_and_handle(
            shared.clone(),
            handle.clone(),
            stop.clone(),
        ));
    }
    // A task ends only once there is nothing more to take: the
    // subscription closed (or shutdown, which is also waited for here).
    tokio::select! {
        _ = stop_requested(&mut stop) => {}
        _ = tasks.join_next() => {
            tracing::info!(group = %group, "subscription closed");
        }
    }
    // No task takes another delivery: those waiting at the subscription
    // gave up their turn when shutdown was asked for (or found it closed).
    // The subscription closes while the handlers in flight finish: a
    // backend may wait for their settlements before it leaves the group.
    // Once the handlers are done, it is waited for at most `close_wait`;
    // past that it goes on in the background (a broker that does not
    // answer, say).
    let closing = shared.lock().await.take().map(Subscription::close);
    let (handlers_done, handlers_gone) = oneshot::channel::<()>();
    let closed = async {
        let Some(closing) = closing else {
            return;
        };
        tokio::pin!(closing);
        tokio::select! {
            () = &mut closing => return,
            _ = handlers_gone => {}
        }
        if tokio::time::timeout(close_wait, closing).await.is_err() {
            tracing::warn!(
                group = %group,
                ?close_wait,
                "the subscription did not close within the close wait after its handlers (the \
                 broker did not answer in time); it closes in the background. \
                 Subscriber::close_wait sets how long shutdown waits for it"
            );
        }
    };
    let drained = async {
        let drained =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!(
                group = %group,
                remaining = tasks.len(),
                "handlers still running after the shutdown grace; their events are released for redelivery"
            );
            tasks.shutdown().await;
        }
        let _ = handlers_done.send(());
    };
    tokio::join!(closed, drained);
}

/// One handling task: takes its turn at the subscription, takes a
/// delivery and handles it, and again, until the subscription is closed
/// or gone or shutdown is asked for.
async fn take_and_handle<S, H, F>(shared: Shared<S>, handle: H, mut stop: watch::Receiver<bool>)
where
    S: Subscription,
    H: Fn(S::Delivery) -> F,
    F: Future<Output = ()>,
{
    loop {
        // Seen here while deliveries keep coming; waited for below while
        // none does.
        if matches!(stop.has_changed(), Ok(true)) {
            return;
        }
        let mut turn = tokio::select! {
            biased;
            turn = shared.lock() => turn,
            _ = stop_requested(&mut stop) => return,
        };
        loop {
            let delivery = tokio::select! {
                biased;
                delivery = next(&mut turn) => delivery,
                _ = stop_requested(&mut stop) => None,
            };
            let Some(delivery) = delivery else {
                return;
            };
            // The handler's own panics are caught where it runs; one
            // anywhere else ends this attempt (the delivery is released),
            // not the task.
            let handling = AssertUnwindSafe(handle(delivery)).catch_unwind();
            tokio::pin!(handling);
            let first = std::future::poll_fn(|cx| Poll::Ready(handling.as_mut().poll(cx))).await;
            if first.is_pending() {
                // It waits: the next task takes the next delivery meanwhile.
                drop(turn);
                let _ = handling.await;
                break;
            }
            tokio::task::coop::consume_budget().await;
            if matches!(stop.has_changed(), Ok(true)) {
                return;
            }
        }
    }
}

/// The next delivery of the subscription held; `None` once it is closed
/// (and then gone, for the other tasks) or was dropped at shutdown.
async fn next<S: Subscription>(subscription: &mut Option<S>) -> Option<S::Delivery> {
    let delivery = subscription.as_mut()?.next().await;
    if delivery.is_none() {
        *subscription = None;
    }
    delivery
}

/// Completes once shutdown is asked for; never, if the handle was dropped.
pub(super) async fn stop_requested(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|stopped| *stopped).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::broker::memory::MemorySubscription;
    use crate::broker::{MemoryBroker, Subscribe, SubscribeOptions};

    /// A subscription whose close takes `takes` (as a Kafka member's does:
    /// its last commits and LeaveGroup), or never completes (`None`: a
    /// broker that does not answer).
    struct SlowToClose {
        inner: MemorySubscription,
        takes: Option<Duration>,
        closed: Arc<AtomicBool>,
    }

    impl Subscription for SlowToClose {
        type Delivery = <MemorySubscription as Subscription>::Delivery;

        async fn next(&mut self) -> Option<Self::Delivery> {
            self.inner.next().await
        }

        async fn close(self) {
            match self.takes {
                Some(takes) => tokio::time::sleep(takes).await,
                None => std::future::pending().await,
            }
            self.closed.store(true, Ordering::SeqCst);
        }
    }

    /// Shuts a run down whose subscription's close `takes` that long, with
    /// a grace and a close wait of `close_wait`; whether the close had
    /// completed when the run ended (which it must within 5 s).
    async fn shut_down(takes: Option<Duration>, close_wait: Duration) -> bool {
        let broker = MemoryBroker::new();
        let inner = broker
            .subscribe(SubscribeOptions::new("closing", ["orders"]))
            .await
            .expect("subscribing");
        let closed = Arc::new(AtomicBool::new(false));
        let subscription = SlowToClose {
            inner,
            takes,
            closed: closed.clone(),
        };
        let (stop, stop_rx) = watch::channel(false);
        let run = tokio::spawn(run(
            subscription,
            |_delivery| async {},
            4,
            (Duration::from_secs(1), close_wait),
            stop_rx,
            Arc::from("closing"),
        ));
        stop.send(true).expect("the run is listening");
        tokio::time::timeout(Duration::from_secs(5), run)
            .await
            .expect("the run ended within 5 s")
            .expect("the run did not panic");
        closed.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn shutdown_ends_once_the_subscription_has_closed() {
        assert!(
            shut_down(Some(Duration::from_millis(200)), Duration::from_secs(1)).await,
            "the run ended before the subscription's close completed"
        );
    }

    #[tokio::test]
    async fn shutdown_waits_for_a_close_at_most_the_close_wait() {
        // Fails unless the run ends (within 5 s) although the close never
        // completes.
        shut_down(None, Duration::from_millis(200)).await;
    }
}
