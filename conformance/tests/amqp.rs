//! The conformance suite against RabbitMQ, on the broker at
//! `ACCORD_AMQP_URL` (default `amqp://guest:guest@127.0.0.1:5672/%2f`).
//!
//! Without a reachable broker each test says why on one line and passes,
//! except on CI (`CI` set), where it fails. Each test declares everything
//! under a name prefix of its own (`accord-conformance-<id>`: exchanges,
//! group, retry and dead-letter queues) and deletes it when it ends, also
//! when it fails. `ACCORD_AMQP_QUEUE_TYPE=quorum` runs it on quorum queues;
//! `quorum_queues_carry_a_group_round_trip` runs on them always.

use std::future::Future;

use accord::broker::amqp::{AmqpBroker, AmqpOptions, QueueType, DEFAULT_URL};
use accord_conformance::{chaos, quiet_chaos_panics, ChaosConfig};
use futures_util::FutureExt;

fn url() -> String {
    std::env::var("ACCORD_AMQP_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// The queue type the suite runs on: `ACCORD_AMQP_QUEUE_TYPE`, classic by
/// default.
fn queue_type() -> QueueType {
    match std::env::var("ACCORD_AMQP_QUEUE_TYPE").as_deref() {
        Ok("quorum") => QueueType::Quorum,
        Ok("classic") | Err(_) => QueueType::Classic,
        Ok(other) => panic!("ACCORD_AMQP_QUEUE_TYPE is `classic` or `quorum`, not `{other}`"),
    }
}

/// A broker under a name prefix of its own declaring `queue_type` queues,
/// or `None` (after saying why) when there is no RabbitMQ to test against
/// outside CI.
async fn connect(queue_type: QueueType) -> Option<AmqpBroker> {
    let url = url();
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(12);
    let options = AmqpOptions::default()
        .prefix(format!("accord-conformance-{id}"))
        .queue_type(queue_type)
        .connection_name("accord conformance");
    match AmqpBroker::connect_with(&url, options).await {
        Ok(broker) => Some(broker),
        Err(error) if std::env::var_os("CI").is_some() => {
            panic!("CI needs RabbitMQ at {url} (ACCORD_AMQP_URL): {error}")
        }
        Err(error) => {
            println!("skipped: no RabbitMQ at {url} (set ACCORD_AMQP_URL): {error}");
            None
        }
    }
}

/// Runs `check` on a broker of its own, then deletes what it declared and
/// fails as the check did.
async fn run<F, Fut>(check: F)
where
    F: FnOnce(AmqpBroker) -> Fut,
    Fut: Future<Output = ()>,
{
    run_on(queue_type(), check).await;
}

/// [`run`] on `queue_type` queues.
async fn run_on<F, Fut>(queue_type: QueueType, check: F)
where
    F: FnOnce(AmqpBroker) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(broker) = connect(queue_type).await else {
        return;
    };
    let outcome = std::panic::AssertUnwindSafe(check(broker.clone()))
        .catch_unwind()
        .await;
    // Each operation has its own bound (AmqpOptions::operation_timeout);
    // the teardown as a whole has this one, so a check's own failure is
    // reported rather than a teardown's wait.
    let deleted = tokio::time::timeout(TEARDOWN, broker.delete_topology()).await;
    let closed = tokio::time::timeout(TEARDOWN, broker.close()).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    match deleted {
        Ok(Ok(())) => {}
        Ok(Err(error)) => panic!("deleting the queues and exchanges of the run: {error}"),
        Err(_) => panic!("deleting the queues and exchanges of the run took over {TEARDOWN:?}"),
    }
    assert!(closed.is_ok(), "closing the broker took over {TEARDOWN:?}");
}

/// The longest a test's teardown (deleting what it declared, closing) may
/// take.
const TEARDOWN: std::time::Duration = std::time::Duration::from_secs(40);

macro_rules! checks {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                run(|broker| async move {
                    accord_conformance::$check(&broker, "amqp").await;
                })
                .await;
            }
        )*
    };
}

accord_conformance::for_each_check!(checks: events, ordered, requests);

/// Every check on one broker, as a long-lived service shares it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_checks_on_one_shared_broker() {
    run(|broker| async move {
        accord_conformance::run_all(|| broker.clone()).await;
    })
    .await;
}

/// The chaos run: 10,000 events with failing and panicking handlers and
/// duplicate publishes, each handled once or dead-lettered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_ten_thousand_events() {
    quiet_chaos_panics();
    run(|broker| async move {
        let config = ChaosConfig::default();
        let report = chaos(&broker, "amqp", config).await;
        println!("chaos on RabbitMQ: {report}");
        assert_eq!(report.events, 10_000);
        assert_eq!(report.published, report.events + report.duplicate_publishes);
        assert!(
            report.handled + report.dead_lettered + report.duplicates_suppressed
                >= report.published,
            "each message published ends handled, dead-lettered or suppressed: {report}"
        );
    })
    .await;
}

/// A wrong-type string of 200 KB: its reason, quoting the string, was over
/// the frame size RabbitMQ negotiates (128 KiB) and closed the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_200_kb_event_dead_lettered_once() {
    run(|broker| async move {
        accord_conformance::undecodable_event_dead_lettered_once(&broker, "amqp", 200 * 1024).await;
    })
    .await;
}

/// A 5 MB undecodable event: dead-lettered once, not once per connection
/// the dead letter closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_5_mb_event_dead_lettered_once() {
    run(|broker| async move {
        accord_conformance::undecodable_event_dead_lettered_once(&broker, "amqp", 5 << 20).await;
    })
    .await;
}

/// Dead letters refused by the broker: the group's dead-letter queue is
/// replaced by one that holds nothing and rejects what is published to it
/// (`x-max-length` 0, `x-overflow` `reject-publish`), then deleted, after
/// which the backend declares it again as it should be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_dead_letter_retried_with_backoff() {
    use accord::broker::amqp::lapin::options::{QueueDeclareOptions, QueueDeleteOptions};
    use accord::broker::amqp::lapin::types::{AMQPValue, FieldTable, LongString};
    use accord::broker::amqp::lapin::{Channel, Connection, ConnectionProperties};

    async fn channel() -> (Connection, Channel) {
        let connection = Connection::connect(&url(), ConnectionProperties::default())
            .await
            .expect("a connection of the test's own");
        let channel = connection.create_channel().await.expect("a channel");
        (connection, channel)
    }

    run(|broker| async move {
        let names = broker.names().clone();
        let refuse = {
            let names = names.clone();
            move |group: String| async move {
                let queue = names.dead_letter_queue(&group);
                let (connection, channel) = channel().await;
                channel
                    .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                    .await
                    .expect("deleting the dead-letter queue");
                let mut arguments = FieldTable::default();
                arguments.insert("x-max-length".into(), AMQPValue::LongLongInt(0));
                arguments.insert(
                    "x-overflow".into(),
                    AMQPValue::LongString(LongString::from("reject-publish")),
                );
                channel
                    .queue_declare(
                        queue.as_str().into(),
                        QueueDeclareOptions::durable(),
                        arguments,
                    )
                    .await
                    .expect("declaring a dead-letter queue that refuses everything");
                let _ = connection.close(200, "OK".into()).await;
            }
        };
        let accept = move |group: String| async move {
            let queue = names.dead_letter_queue(&group);
            let (connection, channel) = channel().await;
            channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await
                .expect("deleting the refusing dead-letter queue");
            let _ = connection.close(200, "OK".into()).await;
        };
        accord_conformance::refused_dead_letter_retried_with_backoff(
            &broker, "amqp", refuse, accept,
        )
        .await;
    })
    .await;
}

/// A 200 KB `ce-id`, request header or reply header: refused before it is
/// sent, where RabbitMQ closed the connection (its frame size is 128 KiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_refused() {
    run(|broker| async move {
        let counted = broker.clone();
        accord_conformance::oversized_messages_refused(&broker, "amqp", move || {
            counted.connections_opened()
        })
        .await;
    })
    .await;
}

/// Quorum queues (`QueueType::Quorum`), whatever `ACCORD_AMQP_QUEUE_TYPE`
/// says, on the one shared node: a group's round trip through the
/// generated contract, members competing, a retry after its delay and a
/// dead letter after the last attempt all work as on classic queues, and
/// the group's queue is a quorum queue (RabbitMQ refuses to declare it
/// again as a classic one). That quorum queues survive losing a minority
/// of a cluster's nodes is RabbitMQ's promise (docs/amqp.md, "When a node
/// dies").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_queues_carry_a_group_round_trip() {
    use accord::broker::amqp::lapin::options::QueueDeclareOptions;
    use accord::broker::amqp::lapin::types::{AMQPValue, FieldTable, LongString};
    use accord::broker::amqp::lapin::{Connection, ConnectionProperties};
    use accord::broker::{Subscribe, SubscribeOptions};

    run_on(QueueType::Quorum, |broker| async move {
        let prefix = "amqp-quorum";
        accord_conformance::generated_contract_round_trip(&broker, prefix).await;
        accord_conformance::competition_within_group(&broker, prefix).await;
        accord_conformance::redelivery_after_retry(&broker, prefix).await;
        accord_conformance::dead_letter_after_last_attempt(&broker, prefix).await;

        let group = "quorum-kind";
        let subscription = broker
            .subscribe(SubscribeOptions::new(group, ["conformance.quorum-kind"]))
            .await
            .expect("a member joins the group");
        drop(subscription);
        let queue = broker.names().group_queue(group);
        let connection = Connection::connect(&url(), ConnectionProperties::default())
            .await
            .expect("a connection of the test's own");
        let channel = connection.create_channel().await.expect("a channel");
        let mut classic = FieldTable::default();
        classic.insert(
            "x-queue-type".into(),
            AMQPValue::LongString(LongString::from("classic")),
        );
        let refused = channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::durable(),
                classic,
            )
            .await
            .expect_err("RabbitMQ refuses to declare a quorum queue again as classic");
        let _ = connection.close(200, "OK".into()).await;
        let reason = refused.to_string();
        assert!(
            reason.contains("x-queue-type") && reason.contains("quorum"),
            "the group's queue `{queue}` is a quorum queue: {reason}"
        );
    })
    .await;
}
