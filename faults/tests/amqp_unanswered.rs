//! A RabbitMQ node that keeps its connections open but stops answering (its
//! process stopped: a stalled node, a frozen machine) makes each operation
//! other than a publish fail within `AmqpOptions::operation_timeout`,
//! naming the operation, instead of hanging it: declaring a group, joining
//! one, browsing dead letters, deleting, closing. Once the node answers
//! again, the same handle works.

use std::future::Future;
use std::time::Duration;

use accord::broker::amqp::{AmqpBroker, AmqpOptions};
use accord::broker::{BrokerError, DeadLetters, Subscribe, SubscribeOptions};
use accord_faults::rabbit_server::{self, RabbitNode};
use accord_faults::support::runnable;
use accord_tests::{within, DEADLINE as STEP};
use tokio::time::Instant;

const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs `operation` against the stopped node: it must fail, after the
/// operation timeout and well before three of them, with an error that
/// names `what` and the setting.
async fn fails_in_time<T: std::fmt::Debug>(
    what: &str,
    operation: impl Future<Output = Result<T, BrokerError>>,
) {
    let started = Instant::now();
    let outcome = tokio::time::timeout(OPERATION_TIMEOUT * 5, operation)
        .await
        .unwrap_or_else(|_| panic!("{what} waited past five times its operation timeout"));
    let waited = started.elapsed();
    let message = match outcome {
        Err(BrokerError::Connection(message)) => message,
        other => panic!("{what}: expected a failure for want of an answer, got {other:?}"),
    };
    assert!(
        waited >= OPERATION_TIMEOUT && waited < OPERATION_TIMEOUT * 3,
        "{what} failed after {waited:?}, not after its operation timeout of {OPERATION_TIMEOUT:?}"
    );
    for part in [what, "did not answer within 2s", "operation_timeout"] {
        assert!(
            message.contains(part),
            "the error does not say `{part}`: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_on_a_node_that_stopped_answering_fail_within_the_operation_timeout() {
    if !runnable("RabbitMQ node", rabbit_server::available()) {
        return;
    }
    // Not under the step's deadline: booting a node takes longer on a busy
    // machine, and `start` has its own bound (rabbit_server::START_TIMEOUT).
    let node = RabbitNode::start("unanswered")
        .await
        .expect("a RabbitMQ node of the test's own");
    let broker = within(
        "connecting",
        AmqpBroker::connect_with(
            &node.url(),
            AmqpOptions::default()
                .prefix(format!("unanswered{}", std::process::id()))
                .operation_timeout(OPERATION_TIMEOUT),
        ),
    )
    .await
    .expect("a connection to the node");
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
    fails_in_time(
        "declaring the group `during`",
        broker.declare_group("during", &["unanswered.events"]),
    )
    .await;
    fails_in_time(
        "consuming the queue",
        broker.subscribe(SubscribeOptions::new("during", ["unanswered.events"])),
    )
    .await;
    fails_in_time(
        "counting the dead letters of `before`",
        broker.count_dead_letters("before"),
    )
    .await;
    fails_in_time("deleting the group `before`", broker.delete_group("before")).await;
    node.resume().expect("the node's process runs again");

    // The same handle declares again once the node answers: a connection
    // the node kept is used again, one it dropped is opened again.
    let deadline = Instant::now() + STEP;
    loop {
        match broker.declare_group("after", &["unanswered.events"]).await {
            Ok(()) => break,
            Err(error) if Instant::now() < deadline => {
                eprintln!("declaring after the pause: {error}; trying again");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("declaring still fails once the node answers: {error}"),
        }
    }
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
