//! The conformance suite against RabbitMQ, on the broker at
//! `ACCORD_AMQP_URL` (default `amqp://guest:guest@127.0.0.1:5672/%2f`).
//!
//! Without a reachable broker each test says why on one line and passes,
//! except on CI (`CI` set), where it fails. Each test declares everything
//! under a name prefix of its own (`accord-conformance-<id>`: exchanges,
//! group, retry and dead-letter queues) and deletes it when it ends, also
//! when it fails. `ACCORD_AMQP_QUEUE_TYPE=quorum` runs it on quorum queues.

use std::future::Future;

use accord::broker::amqp::{AmqpBroker, AmqpOptions, QueueType, DEFAULT_URL};
use accord_conformance::{chaos, quiet_chaos_panics, ChaosConfig};
use futures_util::FutureExt;

fn url() -> String {
    std::env::var("ACCORD_AMQP_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A broker under a name prefix of its own, or `None` (after saying why)
/// when there is no RabbitMQ to test against outside CI.
async fn connect() -> Option<AmqpBroker> {
    let url = url();
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(12);
    let queue_type = match std::env::var("ACCORD_AMQP_QUEUE_TYPE").as_deref() {
        Ok("quorum") => QueueType::Quorum,
        Ok("classic") | Err(_) => QueueType::Classic,
        Ok(other) => panic!("ACCORD_AMQP_QUEUE_TYPE is `classic` or `quorum`, not `{other}`"),
    };
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
    let Some(broker) = connect().await else {
        return;
    };
    let outcome = std::panic::AssertUnwindSafe(check(broker.clone()))
        .catch_unwind()
        .await;
    let deleted = broker.delete_topology().await;
    broker.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    if let Err(error) = deleted {
        panic!("deleting the queues and exchanges of the run: {error}");
    }
}

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

accord_conformance::for_each_check!(checks);

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
