//! What the PostgreSQL tests share: a pool on the local server, unique
//! table names dropped at the end, events, a recording subscription and
//! bounded waits.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::broker::{
    Delivery, KeyOrder, Message, Publish, Subscribe, SubscribeOptions, Subscription,
};
use accord::events::{EventPublisher, EventRoute};
use accord::MemoryBroker;
use accord_postgres::{Inbox, Outbox, RelayOptions, Staged, VERSION_TABLE};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::time::Instant;

/// The server the tests use; `ACCORD_TEST_POSTGRES` overrides it.
pub fn url() -> String {
    std::env::var("ACCORD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// How long any single step of a test may take before it counts as a hang.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Awaits `future`, failing the test if it takes longer than [`DEADLINE`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(DEADLINE, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not finish within {DEADLINE:?}"),
    }
}

/// Waits until `condition` holds, or panics naming `what` and `state()`.
pub async fn wait_until(
    limit: Duration,
    what: &str,
    mut condition: impl FnMut() -> bool,
    state: impl Fn() -> String,
) {
    let deadline = Instant::now() + limit;
    while !condition() {
        if Instant::now() >= deadline {
            panic!("{what}: not the case within {limit:?}; {}", state());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A pool on the test server, or `None` (the test is skipped) when there
/// is none here; on CI (`CI` set) a missing server fails the test.
pub async fn pool() -> Option<PgPool> {
    let connected = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&url())
        .await;
    match connected {
        Ok(pool) => Some(pool),
        Err(error) if std::env::var_os("CI").is_some() => {
            panic!("CI needs PostgreSQL at {}: {error}", url())
        }
        Err(error) => {
            println!("skipped: no PostgreSQL at {}: {error}", url());
            None
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A table name no other test or run uses: `prefix`, the process id and a
/// counter.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// Tables a test created, dropped (with their schema versions) when it
/// ends, whether it passed or not.
#[derive(Debug, Default)]
pub struct Tables {
    names: Vec<String>,
}

impl Tables {
    /// A unique outbox table (migrated) with `partitions` partitions.
    pub async fn outbox(&mut self, pool: &PgPool, partitions: u16) -> Outbox {
        let name = self.name("outbox");
        let outbox = Outbox::new(pool.clone())
            .table(&name)
            .expect("a valid name")
            .partitions(partitions);
        within("migrating the outbox", outbox.migrate())
            .await
            .expect("migrate the outbox");
        outbox
    }

    /// A unique inbox table (migrated).
    pub async fn inbox(&mut self, pool: &PgPool) -> Inbox {
        let name = self.name("inbox");
        let inbox = Inbox::new(pool.clone()).table(&name).expect("a valid name");
        within("migrating the inbox", inbox.migrate())
            .await
            .expect("migrate the inbox");
        inbox
    }

    /// A unique table name, dropped at the end.
    pub fn name(&mut self, prefix: &str) -> String {
        let name = unique(prefix);
        self.names.push(name.clone());
        name
    }
}

impl Drop for Tables {
    fn drop(&mut self) {
        let names = std::mem::take(&mut self.names);
        // A runtime of its own: this may run while the test's runtime
        // unwinds.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let mut conn = PgConnection::connect(&url()).await?;
                for name in &names {
                    sqlx::query(&format!("DROP TABLE IF EXISTS \"{name}\""))
                        .execute(&mut conn)
                        .await?;
                    sqlx::query(&format!(
                        "DELETE FROM {VERSION_TABLE} WHERE component IN ($1, $2)"
                    ))
                    .bind(format!("outbox:{name}"))
                    .bind(format!("inbox:{name}"))
                    .execute(&mut conn)
                    .await?;
                }
                conn.close().await
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop the test tables: {error}");
        }
    }
}

/// A route for events on `topic`, living as long as the test process.
pub fn route(topic: &str) -> &'static EventRoute {
    Box::leak(Box::new(EventRoute {
        service: "orders",
        operation: "event",
        topic: Box::leak(topic.to_owned().into_boxed_str()),
    }))
}

/// Publishes `{"key": key, "n": n}` with `key` through a publisher on
/// `sink`, as generated code does; returns the event id.
pub async fn publish_keyed<P: Publish>(
    sink: &P,
    route: &'static EventRoute,
    key: &str,
    n: u64,
) -> String {
    EventPublisher::new(sink.clone(), "orders")
        .publish(
            route,
            Some(key.to_owned()),
            &serde_json::json!({"key": key, "n": n}),
        )
        .await
        .expect("publish into the sink")
}

/// Every message a group received, in delivery order, each acked.
#[derive(Debug, Clone, Default)]
pub struct Received {
    messages: Arc<Mutex<Vec<Message>>>,
}

impl Received {
    /// Subscribes `group` to `topics` on `broker` (ordered by key) and
    /// records what arrives, on a task of its own.
    pub async fn start(broker: &MemoryBroker, group: &str, topics: &[&str]) -> Self {
        let options = SubscribeOptions::new(group, topics.iter().copied())
            .max_in_flight(512)
            .key_order(KeyOrder::ByKey);
        let mut subscription = broker.subscribe(options).await.expect("subscribe");
        let received = Received::default();
        let messages = received.messages.clone();
        tokio::spawn(async move {
            while let Some(delivery) = subscription.next().await {
                messages
                    .lock()
                    .unwrap()
                    .push(Message::clone(delivery.message()));
                delivery.ack().await.expect("ack");
            }
        });
        received
    }

    /// What arrived so far.
    pub fn messages(&self) -> Vec<Message> {
        self.messages.lock().unwrap().clone()
    }

    /// How many arrived so far.
    pub fn len(&self) -> usize {
        self.messages.lock().unwrap().len()
    }

    /// Whether an event with `id` arrived.
    pub fn has(&self, id: &str) -> bool {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.id() == Some(id))
    }
}

/// The `(key, n)` of a message [`publish_keyed`] made.
pub fn key_and_n(message: &Message) -> (String, u64) {
    let body: serde_json::Value = serde_json::from_slice(&message.payload).expect("JSON payload");
    (
        body["key"].as_str().expect("a key").to_owned(),
        body["n"].as_u64().expect("an n"),
    )
}

/// Counts a query's single `bigint` result.
pub async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Waits until no row of `outbox` waits to be published.
pub async fn drained(outbox: &Outbox) {
    within("the outbox draining", async {
        loop {
            let pending = outbox.pending().await.expect("count pending rows");
            if pending == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// Relay options for tests: batches of 50, looking every 100 ms.
pub fn fast() -> RelayOptions {
    RelayOptions::default()
        .batch_size(50)
        .poll_interval(Duration::from_millis(100))
        .rebalance_interval(Duration::from_millis(100))
}

/// Writes `per_key` events for each of `keys` keys, `per_tx` per
/// transaction, the keys interleaved; returns their ids.
pub async fn write_keyed(
    pool: &PgPool,
    outbox: &Outbox,
    route: &'static EventRoute,
    keys: u64,
    per_key: u64,
    per_tx: usize,
) -> Vec<String> {
    let mut ids = Vec::new();
    let events: Vec<(String, u64)> = (0..per_key)
        .flat_map(|n| (0..keys).map(move |k| (format!("key-{k}"), n)))
        .collect();
    for chunk in events.chunks(per_tx) {
        let mut tx = pool.begin().await.unwrap();
        let staged = Staged::new();
        for (key, n) in chunk {
            ids.push(publish_keyed(&staged, route, key, *n).await);
        }
        outbox.write(&mut tx, &staged).await.unwrap();
        tx.commit().await.unwrap();
    }
    ids
}

/// Checks that every id arrived, and that per key the first arrival of
/// each event came in publish order; returns how many arrivals were
/// repeats.
pub fn check_delivery(received: &[Message], ids: &[String]) -> usize {
    let mut seen = HashSet::new();
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    let mut repeats = 0;
    for message in received {
        let id = message.id().expect("an id").to_owned();
        if !seen.insert(id) {
            repeats += 1;
            continue;
        }
        let (key, n) = key_and_n(message);
        assert_eq!(
            message.key.as_deref(),
            Some(key.as_str()),
            "the key travels"
        );
        if let Some(previous) = last.insert(key.clone(), n) {
            assert_eq!(
                n,
                previous + 1,
                "per-key order broken on {key}: {previous} then {n}"
            );
        } else {
            assert_eq!(n, 0, "the first event of {key} came first");
        }
    }
    let missing: Vec<_> = ids.iter().filter(|id| !seen.contains(*id)).collect();
    assert!(missing.is_empty(), "{} events never arrived", missing.len());
    repeats
}
