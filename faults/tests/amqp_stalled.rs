//! A RabbitMQ node that stops taking work, with its connections still
//! open, makes accord's calls fail within their bounds, naming what they
//! waited for, instead of hanging; once the node takes work again, the
//! same broker handle works again.
//!
//! - A node that blocks publishing (a memory or disk alarm) fails a publish
//!   within `AmqpOptions::confirm_timeout`.
//! - A node that stops answering at all (its process stopped: a stalled
//!   node, a frozen machine) fails every other operation within
//!   `AmqpOptions::operation_timeout`: declaring a group, joining one,
//!   browsing dead letters, deleting, closing.

use std::future::Future;
use std::time::Duration;

use accord::broker::amqp::{AmqpBroker, AmqpOptions};
use accord::broker::{BrokerError, DeadLetters, Publish, Subscribe, SubscribeOptions};
use accord_faults::rabbit_server::{self, RabbitNode};
use accord_faults::support::{event_with_id, runnable, until_ok};
use accord_tests::{within, DEADLINE as STEP};
use tokio::time::Instant;

const CONFIRM_TIMEOUT: Duration = Duration::from_secs(2);

/// A RabbitMQ node of the test's own and a broker handle on it with
/// `options` under a prefix of the test's own; `None` (after saying why)
/// where no node can be started.
async fn node_and_broker(label: &str, options: AmqpOptions) -> Option<(RabbitNode, AmqpBroker)> {
    if !runnable("RabbitMQ node", rabbit_server::available()) {
        return None;
    }
    // Not under the step's deadline: booting a node takes longer on a busy
    // machine, and `start` has its own bound (rabbit_server::START_TIMEOUT).
    let node = RabbitNode::start(label)
        .await
        .expect("a RabbitMQ node of the test's own");
    let broker = within(
        "connecting",
        AmqpBroker::connect_with(
            &node.url(),
            options.prefix(format!("{label}{}", std::process::id())),
        ),
    )
    .await
    .expect("a connection to the node");
    Some((node, broker))
}

const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs `operation` against the stalled node: it must fail, after `limit`
/// and well before three of them, with a connection error that says each
/// of `parts`.
async fn fails_in_time<T: std::fmt::Debug>(
    what: &str,
    limit: Duration,
    parts: &[&str],
    operation: impl Future<Output = Result<T, BrokerError>>,
) {
    let started = Instant::now();
    let outcome = tokio::time::timeout(limit * 5, operation)
        .await
        .unwrap_or_else(|_| panic!("{what} waited past five times its limit of {limit:?}"));
    let waited = started.elapsed();
    let message = match outcome {
        Err(BrokerError::Connection(message)) => message,
        other => panic!("{what}: expected a failure for want of an answer, got {other:?}"),
    };
    assert!(
        waited >= limit && waited < limit * 3,
        "{what} failed after {waited:?}, not after its limit of {limit:?}"
    );
    for part in parts {
        assert!(
            message.contains(part),
            "the error of {what} does not say `{part}`: {message}"
        );
    }
}

/// [`fails_in_time`] for an operation bounded by
/// `AmqpOptions::operation_timeout`, whose error names it as `what`.
async fn unanswered<T: std::fmt::Debug>(
    what: &str,
    operation: impl Future<Output = Result<T, BrokerError>>,
) {
    let parts = [what, "did not answer within 2s", "operation_timeout"];
    fails_in_time(what, OPERATION_TIMEOUT, &parts, operation).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_blocked_by_an_alarm_fails_within_the_confirm_timeout() {
    let options = AmqpOptions::default().confirm_timeout(CONFIRM_TIMEOUT);
    let Some((node, broker)) = node_and_broker("alarm", options).await else {
        return;
    };
    let topic = "alarm.events";
    within(
        "publishing before the alarm",
        broker.publish(event_with_id(topic, "before", "e-1")),
    )
    .await
    .expect("a publish before the alarm is confirmed");

    // A watermark of 0 sets the memory alarm at once: RabbitMQ stops reading
    // from every publishing connection.
    within(
        "setting the memory alarm",
        node.ctl(&["set_vm_memory_high_watermark", "0"]),
    )
    .await
    .expect("rabbitmqctl sets the alarm");
    fails_in_time(
        "the publish",
        CONFIRM_TIMEOUT,
        &[
            "did not confirm the publish within 2s",
            "blocked publishing",
            "alarm",
        ],
        broker.publish(event_with_id(topic, "during", "e-2")),
    )
    .await;

    within(
        "clearing the memory alarm",
        node.ctl(&["set_vm_memory_high_watermark", "0.4"]),
    )
    .await
    .expect("rabbitmqctl clears the alarm");
    until_ok(STEP, "publishing after the alarm", async || {
        broker.publish(event_with_id(topic, "after", "e-3")).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_on_a_node_that_stopped_answering_fail_within_the_operation_timeout() {
    let options = AmqpOptions::default().operation_timeout(OPERATION_TIMEOUT);
    let Some((node, broker)) = node_and_broker("unanswered", options).await else {
        return;
    };
    within(
        "declaring a group before the pause",
        broker.declare_group("before", &["unanswered.events"]),
    )
    .await
    .expect("the node declares a group while it answers");
    // The consuming connection opens with the first member.
    let member = within(
        "joining a group before the pause",
        broker.subscribe(SubscribeOptions::new("joined", ["unanswered.events"])),
    )
    .await
    .expect("a member joins while the node answers");
    drop(member);

    // A failure below drops the node, which kills it, stopped or not.
    node.pause().expect("the node's process stops");
    unanswered(
        "declaring the group `during`",
        broker.declare_group("during", &["unanswered.events"]),
    )
    .await;
    unanswered(
        "consuming the queue",
        broker.subscribe(SubscribeOptions::new("during", ["unanswered.events"])),
    )
    .await;
    unanswered(
        "counting the dead letters of `before`",
        broker.count_dead_letters("before"),
    )
    .await;
    unanswered("deleting the group `before`", broker.delete_group("before")).await;
    node.resume().expect("the node's process runs again");

    // The same handle declares again once the node answers: a connection
    // the node kept is used again, one it dropped is opened again.
    until_ok(STEP, "declaring after the pause", async || {
        broker.declare_group("after", &["unanswered.events"]).await
    })
    .await;
    within("deleting what the test declared", broker.delete_topology())
        .await
        .expect("the node deletes what the test declared");

    // Closing a handle whose node stopped answering ends within one
    // operation timeout per connection.
    node.pause().expect("the node's process stops again");
    let started = Instant::now();
    let closed = tokio::time::timeout(OPERATION_TIMEOUT * 5, broker.close()).await;
    let waited = started.elapsed();
    node.resume().expect("the node's process runs again");
    assert!(
        closed.is_ok() && waited < OPERATION_TIMEOUT * 3,
        "closing against a stopped node took {waited:?}, past two operation timeouts of {OPERATION_TIMEOUT:?}"
    );
}
