//! `accord dead-letters` against real brokers: an event dead-lettered by a
//! real subscriber is listed and shown by the CLI binary, replayed and
//! handled once with the same event id, and purge empties the dead
//! letters. NATS at `ACCORD_NATS_URL` (default `nats://127.0.0.1:4222`)
//! and RabbitMQ at `ACCORD_AMQP_URL` (default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`); without one, a test says why
//! and skips, except on CI (`CI` set), where it fails.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use accord::broker::amqp::AmqpBroker;
use accord::broker::nats::NatsBroker;
use accord::events::Backoff;
use accord::{Broker, Context, Subscriber};
use orders_contract::{
    OrderCancelled, OrderError, OrderId, OrderPlaced, OrdersPublisher, OrdersSubscriber,
};

/// The broker URL in `variable`, or `default`.
fn url(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_owned())
}

/// `connected`, or `None` after saying why, except on CI, where it fails.
fn or_skip<B, E: std::fmt::Display>(what: &str, connected: Result<B, E>) -> Option<B> {
    match connected {
        Ok(broker) => Some(broker),
        Err(error) if std::env::var_os("CI").is_some() => panic!("CI needs {what}: {error}"),
        Err(error) => {
            println!("skipped: no {what}: {error}");
            None
        }
    }
}

/// How long an event may take to be handled or dead-lettered.
const SETTLE: Duration = Duration::from_secs(20);

/// Fails cancellations while `failing`; records the event id of each
/// cancellation it handled.
#[derive(Clone, Default)]
struct Billing {
    failing: Arc<AtomicBool>,
    runs: Arc<AtomicU64>,
    handled: Arc<Mutex<Vec<(u64, String)>>>,
}

impl OrdersSubscriber for Billing {
    async fn order_placed(&self, _: OrderPlaced) {}

    async fn order_cancelled(&self, event: OrderCancelled) -> Result<(), OrderError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(OrderError::NotFound { id: event.order_id });
        }
        let id = Context::current()
            .and_then(|c| c.event().map(|e| e.id.clone()))
            .unwrap_or_default();
        self.handled.lock().unwrap().push((event.order_id.0, id));
        Ok(())
    }
}

fn unique(what: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{what}-{}-{nanos}", std::process::id())
}

/// Runs `accord dead-letters <args>`; its exit success and its stdout and
/// stderr together.
async fn cli(args: Vec<String>) -> (bool, String) {
    let run = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_accord"))
            .arg("dead-letters")
            .args(&args)
            .env_remove("ACCORD_BROKER")
            .output()
            .expect("the accord binary runs")
    });
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("`accord dead-letters` did not finish within 60 s")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn args(command: &str, url: &str, group: &str, rest: &[&str]) -> Vec<String> {
    [command, "--broker", url, "--group", group]
        .iter()
        .chain(rest)
        .map(|s| (*s).to_owned())
        .collect()
}

async fn until(what: &str, condition: impl Fn() -> bool) {
    tokio::time::timeout(SETTLE, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} did not happen within {SETTLE:?}"));
}

/// The whole round on one broker.
async fn dead_letter_round<B: Broker>(broker: B, url: &str) -> String {
    let group = unique("billing");
    let billing = Billing::default();
    billing.failing.store(true, Ordering::SeqCst);
    let subscriber = Subscriber::new(broker.clone(), group.clone())
        .max_attempts(2)
        .backoff(Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(20),
            multiplier: 2.0,
        })
        .start(billing.clone().into_event_handlers())
        .await
        .expect("the subscriber starts");
    let stats = subscriber.stats_handle();
    let publisher = OrdersPublisher::new(broker.clone());
    let order = 4_000_000 + u64::from(fastrand_u16());
    let id = publisher
        .order_cancelled(&OrderCancelled {
            order_id: OrderId(order),
            reason: Some("customer changed their mind".into()),
        })
        .await
        .expect("the event is published");
    until("the event being dead-lettered", || {
        stats.dead_lettered.load(Ordering::SeqCst) == 1
    })
    .await;

    let (ok, listed) = cli(args("list", url, &group, &[])).await;
    assert!(ok, "{listed}");
    assert!(listed.contains("has 1 dead letter;"), "{listed}");
    assert!(
        listed.contains(&id),
        "the list names the event id: {listed}"
    );
    assert!(listed.contains("orders.cancelled"), "{listed}");

    let (ok, shown) = cli(args("show", url, &group, &[&id])).await;
    assert!(ok, "{shown}");
    assert!(shown.contains("attempt 2 of 2"), "the reason: {shown}");
    assert!(shown.contains(&order.to_string()), "the payload: {shown}");
    assert!(shown.contains("customer changed their mind"), "{shown}");

    billing.failing.store(false, Ordering::SeqCst);
    let (ok, replayed) = cli(args("replay", url, &group, &["--id", &id])).await;
    assert!(ok, "{replayed}");
    assert!(replayed.contains("replayed 1 dead letter"), "{replayed}");
    until("the replayed event being handled", || {
        stats.handled.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(
        *billing.handled.lock().unwrap(),
        [(order, id.clone())],
        "handled once, with the original event id"
    );
    assert_eq!(
        billing.runs.load(Ordering::SeqCst),
        3,
        "two failures, one replay"
    );

    // The replay took it out of the dead letters: a second replay of the
    // same id finds nothing and says so.
    let (ok, again) = cli(args("replay", url, &group, &["--id", &id])).await;
    assert!(!ok, "{again}");
    assert!(again.contains("no dead letter with event id"), "{again}");

    // Another dead letter, then purge.
    billing.failing.store(true, Ordering::SeqCst);
    publisher
        .order_cancelled(&OrderCancelled {
            order_id: OrderId(order + 1),
            reason: None,
        })
        .await
        .unwrap();
    until("the second event being dead-lettered", || {
        stats.dead_lettered.load(Ordering::SeqCst) == 2
    })
    .await;
    let (ok, refused) = cli(args("purge", url, &group, &[])).await;
    assert!(!ok, "{refused}");
    assert!(refused.contains("--yes"), "{refused}");
    let (ok, purged) = cli(args("purge", url, &group, &["--yes"])).await;
    assert!(ok, "{purged}");
    assert!(purged.contains("purged 1 dead letter "), "{purged}");
    let (ok, empty) = cli(args("list", url, &group, &[])).await;
    assert!(ok, "{empty}");
    assert!(empty.contains("has 0 dead letters"), "{empty}");
    assert_eq!(billing.handled.lock().unwrap().len(), 1);

    let (ok, unknown) = cli(args("list", url, &unique("nobody"), &[])).await;
    assert!(!ok, "{unknown}");
    assert!(unknown.contains("there is no group `nobody-"), "{unknown}");
    subscriber.shutdown().await;
    group
}

fn fastrand_u16() -> u16 {
    (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        % 60_000) as u16
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_listed_shown_replayed_once_and_purged_on_nats() {
    let url = url("ACCORD_NATS_URL", "nats://127.0.0.1:4222");
    let connected = NatsBroker::connect(&url).await;
    let Some(broker) = or_skip(&format!("NATS at {url} (ACCORD_NATS_URL)"), connected) else {
        return;
    };
    dead_letter_round(broker, &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_listed_shown_replayed_once_and_purged_on_rabbitmq() {
    let url = url("ACCORD_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f");
    let connected = AmqpBroker::connect(&url).await;
    let Some(broker) = or_skip(&format!("RabbitMQ at {url} (ACCORD_AMQP_URL)"), connected) else {
        return;
    };
    let group = dead_letter_round(broker.clone(), &url).await;
    broker
        .delete_group(&group)
        .await
        .expect("the test's queues are deleted");
}

#[tokio::test]
async fn an_unreachable_broker_and_the_memory_broker_are_clear_errors() {
    let (ok, text) = cli(args("list", "nats://127.0.0.1:1", "g", &[])).await;
    assert!(!ok);
    assert!(
        text.contains("cannot reach the broker at nats://127.0.0.1:1"),
        "{text}"
    );
    let (ok, text) = cli(args("list", "amqp://guest:guest@127.0.0.1:1/%2f", "g", &[])).await;
    assert!(!ok);
    assert!(
        text.contains("cannot reach the broker at amqp://"),
        "{text}"
    );
    let (ok, text) = cli(args("list", "memory://", "g", &[])).await;
    assert!(!ok);
    assert!(text.contains("lives inside one process"), "{text}");
    let (ok, text) = cli(args("list", "mqtt://127.0.0.1:1883", "g", &[])).await;
    assert!(!ok);
    assert!(text.contains("not a broker URL accord knows"), "{text}");
    let (ok, text) = cli(args("list", "kafka://127.0.0.1:9092", "g", &[])).await;
    assert!(!ok);
    assert!(
        text.contains("does not cover Kafka") && text.contains("accord.dead-letter.g"),
        "{text}"
    );
}
