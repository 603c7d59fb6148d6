//! A RabbitMQ node that blocks publishing (a memory or disk alarm) makes a
//! publish fail within `AmqpOptions::confirm_timeout`, saying why, instead
//! of hanging; once the alarm clears, publishing works again on the same
//! broker handle.

use std::time::Duration;

use accord::broker::amqp::{AmqpBroker, AmqpOptions};
use accord::broker::{BrokerError, Publish};
use accord_faults::rabbit_server::{self, RabbitNode};
use accord_faults::support::{event_with_id, runnable};
use accord_tests::{within, DEADLINE as STEP};
use tokio::time::Instant;

const CONFIRM_TIMEOUT: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_blocked_by_an_alarm_fails_within_the_confirm_timeout() {
    if !runnable("RabbitMQ node", rabbit_server::available()) {
        return;
    }
    // Not under the step's deadline: booting a node takes longer on a busy
    // machine, and `start` has its own bound (rabbit_server::START_TIMEOUT).
    let node = RabbitNode::start("alarm")
        .await
        .expect("a RabbitMQ node of the test's own");
    let broker = within(
        "connecting",
        AmqpBroker::connect_with(
            &node.url(),
            AmqpOptions::default()
                .prefix(format!("alarm{}", std::process::id()))
                .confirm_timeout(CONFIRM_TIMEOUT),
        ),
    )
    .await
    .expect("a connection to the node");
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
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        CONFIRM_TIMEOUT * 5,
        broker.publish(event_with_id(topic, "during", "e-2")),
    )
    .await
    .expect("the publish waited past five times its confirm timeout");
    let waited = started.elapsed();
    let error = match outcome {
        Err(BrokerError::Connection(message)) => message,
        other => panic!("expected the publish to fail for want of a confirm, got {other:?}"),
    };
    assert!(
        waited >= CONFIRM_TIMEOUT && waited < CONFIRM_TIMEOUT * 3,
        "the publish failed after {waited:?}, not after its confirm timeout of {CONFIRM_TIMEOUT:?}"
    );
    for part in [
        "did not confirm the publish within 2s",
        "blocked publishing",
        "alarm",
    ] {
        assert!(
            error.contains(part),
            "the error does not say `{part}`: {error}"
        );
    }

    within(
        "clearing the memory alarm",
        node.ctl(&["set_vm_memory_high_watermark", "0.4"]),
    )
    .await
    .expect("rabbitmqctl clears the alarm");
    let deadline = Instant::now() + STEP;
    loop {
        match broker.publish(event_with_id(topic, "after", "e-3")).await {
            Ok(_) => break,
            Err(error) if Instant::now() < deadline => {
                eprintln!("publishing after the alarm: {error}; trying again");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("publishing still fails after the alarm cleared: {error}"),
        }
    }
}
