//! The conformance suite against Kafka, on the broker at `ACCORD_KAFKA_URL`
//! (default `kafka://127.0.0.1:19092`, where the CI starts tansu, a broker
//! that speaks the Kafka protocol).
//!
//! Without a reachable broker each test says why on one line and passes,
//! except on CI (`CI` set), where it fails. Each test names its topics and
//! groups after a run id of its own and deletes the topics of that run
//! when it ends, also when it fails. The consumers use a 2 s session
//! timeout and a 300 ms heartbeat, so that a group forms in about a
//! second; see docs/kafka.md for the values a production cluster takes.

use std::future::Future;
use std::time::Duration;

use accord::broker::kafka::{KafkaBroker, KafkaOptions};
use futures_util::FutureExt;
use rdkafka::admin::AdminOptions;

const DEFAULT_URL: &str = "kafka://127.0.0.1:19092";

fn url() -> String {
    std::env::var("ACCORD_KAFKA_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// The options of the test runs: fast group joins.
fn options() -> KafkaOptions {
    KafkaOptions::new().group_timing(Duration::from_secs(2), Duration::from_millis(300))
}

/// The broker, or `None` (after saying why) when there is no Kafka broker
/// to test against outside CI.
async fn connect(options: KafkaOptions) -> Option<KafkaBroker> {
    let url = url();
    match KafkaBroker::connect_with(&url, options).await {
        Ok(broker) => Some(broker),
        Err(error) if std::env::var_os("CI").is_some() => {
            panic!("CI needs a Kafka broker at {url} (ACCORD_KAFKA_URL): {error}")
        }
        Err(error) => {
            println!("skipped: no Kafka broker at {url} (set ACCORD_KAFKA_URL): {error}");
            None
        }
    }
}

/// How long the members of a run may take to leave their groups.
const CLOSING: Duration = Duration::from_secs(30);

/// Deletes every topic whose name contains `prefix`, once the run's
/// consumers have closed.
///
/// A consumer still fetching a topic that is deleted on tansu may crash
/// librdkafka (docs/kafka.md, "tansu"), so the topics go only after the
/// run's members left their groups.
async fn remove_run(broker: &KafkaBroker, prefix: &str) {
    let deadline = tokio::time::Instant::now() + CLOSING;
    while broker.open_consumers() > 0 {
        if tokio::time::Instant::now() >= deadline {
            println!(
                "{} consumers of the run still open after {CLOSING:?}; its topics are kept",
                broker.open_consumers()
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lookup = broker.clone();
    let topics = tokio::task::spawn_blocking(move || {
        lookup
            .admin()
            .inner()
            .fetch_metadata(None, Duration::from_secs(10))
            .map(|m| {
                m.topics()
                    .iter()
                    .map(|t| t.name().to_owned())
                    .collect::<Vec<_>>()
            })
    })
    .await
    .expect("listing topics");
    let topics = match topics {
        Ok(topics) => topics,
        Err(error) => {
            println!("could not list the topics to delete: {error}");
            return;
        }
    };
    let ours: Vec<&str> = topics
        .iter()
        .map(String::as_str)
        .filter(|t| t.contains(prefix))
        .collect();
    if ours.is_empty() {
        return;
    }
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let deleting = broker.admin().delete_topics(&ours, &options);
    match tokio::time::timeout(Duration::from_secs(15), deleting).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => println!("could not delete the run's topics: {error}"),
        Err(_) => println!("deleting the run's topics took longer than 15 s"),
    }
}

/// Runs `check` with a fresh run id as the name prefix, then deletes the
/// run's topics, and fails as the check did.
async fn run<F, Fut>(options: KafkaOptions, check: F)
where
    F: FnOnce(KafkaBroker, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(broker) = connect(options).await else {
        return;
    };
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(8);
    let prefix = format!("kafka-{id}");
    let outcome = std::panic::AssertUnwindSafe(check(broker.clone(), prefix.clone()))
        .catch_unwind()
        .await;
    remove_run(&broker, &prefix).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The options a check runs with. Two checks start from a message taken
/// by a member they name, while another member of the group waits: in
/// Kafka a message goes to the member that owns its partition, so these
/// run on one-partition topics, which the first member to join keeps
/// (docs/kafka.md, "Conformance").
fn options_for(check: &str) -> KafkaOptions {
    match check {
        "redelivery_after_release" | "redelivery_after_ack_wait" => options().partitions(1),
        _ => options(),
    }
}

macro_rules! checks {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                run(options_for(stringify!($check)), |broker, prefix| async move {
                    accord_conformance::$check(&broker, &prefix).await;
                })
                .await;
            }
        )*
    };
}

// Request/reply is not offered by the Kafka backend (docs/kafka.md).
accord_conformance::for_each_check!(checks: events, ordered);
