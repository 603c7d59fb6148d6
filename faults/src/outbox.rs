//! What the outbox fault tests share: a pool on the local PostgreSQL,
//! outbox and inbox tables of a test's own (dropped at the end), keyed
//! events written in transactions, the relay's settings, and a group's
//! record of what it handled, per event id and in order per key.
//!
//! An event is the JSON string `"<key>/<n>"`: its key and its place among
//! the events of that key, counted from 0 in the order they were written.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::broker::Message;
use accord::events::{envelope, event_handler, EventHandlers};
use accord::trace::TraceContext;
use accord::Context;
use accord_postgres::{Inbox, Outbox, PgDedupe, RelayOptions, Staged, VERSION_TABLE};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};

use crate::support::route;

/// The server the tests use; `ACCORD_TEST_POSTGRES` overrides it.
pub fn postgres_url() -> String {
    std::env::var("ACCORD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A pool of up to 16 connections on the test server, or `None` (after
/// saying why) where there is none here; on CI (`CI` set) a missing server
/// fails the test.
pub async fn pool() -> Option<PgPool> {
    let connected = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&postgres_url())
        .await;
    match connected {
        Ok(pool) => Some(pool),
        Err(error) if std::env::var_os("CI").is_some() => {
            panic!("CI needs PostgreSQL at {}: {error}", postgres_url())
        }
        Err(error) => {
            println!("skipped: no PostgreSQL at {}: {error}", postgres_url());
            None
        }
    }
}

/// Relay settings for the fault tests: batches of 100, looking every
/// 100 ms, sharing partitions every 200 ms, a broker failure tried again
/// after at most 1 s and a confirm awaited at most 5 s.
pub fn relay_options() -> RelayOptions {
    RelayOptions::default()
        .batch_size(100)
        .poll_interval(Duration::from_millis(100))
        .rebalance_interval(Duration::from_millis(200))
        .backoff(accord::events::Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            multiplier: 2.0,
        })
        .publish_timeout(Duration::from_secs(5))
}

/// Outbox and inbox tables of one test, named after the process so that no
/// other test or run shares them; dropped (with their schema versions)
/// when the test ends, whether it passed or not.
#[derive(Debug, Default)]
pub struct Tables {
    names: Vec<String>,
}

impl Tables {
    /// A name no other test or run uses, dropped at the end.
    pub fn name(&mut self, prefix: &str) -> String {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        self.names.push(name.clone());
        name
    }

    /// A fresh outbox table (migrated) with `partitions` partitions.
    pub async fn outbox(&mut self, pool: &PgPool, partitions: u16) -> Outbox {
        let name = self.name("faults_outbox");
        let outbox = Outbox::new(pool.clone())
            .table(&name)
            .expect("a valid table name")
            .partitions(partitions);
        tokio::time::timeout(Duration::from_secs(20), outbox.migrate())
            .await
            .expect("migrating the outbox within 20 s")
            .expect("migrating the outbox");
        outbox
    }

    /// A [`PgDedupe`] on a fresh inbox table (migrated).
    pub async fn dedupe(&mut self, pool: &PgPool) -> Arc<PgDedupe> {
        let name = self.name("faults_inbox");
        let inbox = Inbox::new(pool.clone())
            .table(&name)
            .expect("a valid table name");
        let dedupe = PgDedupe::in_inbox(inbox);
        tokio::time::timeout(Duration::from_secs(20), dedupe.migrate())
            .await
            .expect("migrating the inbox within 20 s")
            .expect("migrating the inbox");
        Arc::new(dedupe)
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
                let mut conn = PgConnection::connect(&postgres_url()).await?;
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

/// Event `n` of `key` on `topic`, with a fresh event id.
pub fn keyed_event(topic: &str, key: &str, n: u64) -> Message {
    let id = envelope::new_id();
    Message {
        topic: topic.to_owned(),
        key: Some(key.to_owned()),
        headers: envelope::headers(&id, "/faults", topic, &TraceContext::new_root().to_string()),
        payload: format!("\"{key}/{n}\"").into(),
    }
}

/// Writes `per_key` events for each of `keys` keys (`key-0`, `key-1`,
/// ...) into `outbox`, the keys interleaved, `per_tx` events per committed
/// transaction; returns their event ids.
pub async fn write_keyed(
    pool: &PgPool,
    outbox: &Outbox,
    topic: &str,
    keys: u64,
    per_key: u64,
    per_tx: usize,
) -> Vec<String> {
    let events: Vec<(String, u64)> = (0..per_key)
        .flat_map(|n| (0..keys).map(move |k| (format!("key-{k}"), n)))
        .collect();
    let mut ids = Vec::with_capacity(events.len());
    for chunk in events.chunks(per_tx) {
        let staged = Staged::new();
        for (key, n) in chunk {
            let message = keyed_event(topic, key, *n);
            ids.push(message.id().expect("an event id").to_owned());
            accord::Publish::publish(&staged, message)
                .await
                .expect("staging an event");
        }
        let written = tokio::time::timeout(Duration::from_secs(20), async {
            let mut tx = pool.begin().await?;
            outbox.write(&mut tx, &staged).await?;
            tx.commit().await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .await
        .expect("a transaction of the outbox commits within 20 s");
        written.unwrap_or_else(|e| panic!("writing events into the outbox: {e}"));
    }
    ids
}

/// How many rows of `outbox` the broker confirmed.
pub async fn sent(outbox: &Outbox) -> i64 {
    let sql = format!(
        "SELECT count(*) FROM \"{}\" WHERE sent_at IS NOT NULL",
        outbox.table_name()
    );
    sqlx::query_scalar(&sql)
        .fetch_one(outbox.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// How many rows `outbox` holds, sent or not.
pub async fn rows(outbox: &Outbox) -> i64 {
    let sql = format!("SELECT count(*) FROM \"{}\"", outbox.table_name());
    sqlx::query_scalar(&sql)
        .fetch_one(outbox.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// What a group handled: how often each event id, and whether the first
/// handling of the events of each key came in the order they were written.
#[derive(Debug, Default)]
pub struct Handled {
    state: Mutex<HandledState>,
}

#[derive(Debug, Default)]
struct HandledState {
    per_id: HashMap<String, u32>,
    last_per_key: HashMap<String, u64>,
    out_of_order: Vec<String>,
    handlings: u64,
}

impl Handled {
    /// Records that the event `id`, named `"<key>/<n>"`, was handled.
    pub fn record(&self, id: &str, name: &str) -> Result<(), String> {
        let (key, n) = name
            .rsplit_once('/')
            .and_then(|(key, n)| Some((key, n.parse::<u64>().ok()?)))
            .ok_or_else(|| format!("unexpected event {name}"))?;
        let mut state = self.state.lock().unwrap();
        state.handlings += 1;
        let count = state.per_id.entry(id.to_owned()).or_default();
        *count += 1;
        if *count > 1 {
            return Ok(());
        }
        let expected = state.last_per_key.get(key).map_or(0, |last| last + 1);
        if n != expected && state.out_of_order.len() < 10 {
            state
                .out_of_order
                .push(format!("{key}: {n} handled where {expected} was next"));
        }
        let last = state.last_per_key.entry(key.to_owned()).or_default();
        *last = (*last).max(n);
        Ok(())
    }

    /// How many distinct events were handled.
    pub fn events(&self) -> usize {
        self.state.lock().unwrap().per_id.len()
    }

    /// How many times a handler ran, repeats included.
    pub fn handlings(&self) -> u64 {
        self.state.lock().unwrap().handlings
    }

    /// Handlers recording each event on `topic` into `handled`.
    pub fn handlers(handled: &Arc<Handled>, topic: &str) -> EventHandlers {
        let handler = event_handler(
            handled.clone(),
            |handled: Arc<Handled>, name: String, context: Context| async move {
                let id = context
                    .event()
                    .map(|event| event.id.clone())
                    .ok_or_else(|| format!("event {name} handled without its attributes"))?;
                handled.record(&id, &name)
            },
        );
        EventHandlers::new("faults", vec![(route(topic), handler)])
    }

    /// Checks that every event of `ids` was handled exactly once, nothing
    /// else was, and (where `ordered`) that the events of each key were
    /// first handled in the order they were written.
    pub fn check(&self, ids: &[String], ordered: bool) {
        let state = self.state.lock().unwrap();
        let missing = ids
            .iter()
            .filter(|id| !state.per_id.contains_key(*id))
            .count();
        assert_eq!(
            missing,
            0,
            "{missing} of {} events never handled",
            ids.len()
        );
        let repeated: Vec<_> = state.per_id.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            repeated.is_empty(),
            "{} events handled more than once, such as {:?}",
            repeated.len(),
            repeated.iter().take(5).collect::<Vec<_>>()
        );
        assert_eq!(
            state.per_id.len(),
            ids.len(),
            "events handled that were never written"
        );
        if ordered {
            assert!(
                state.out_of_order.is_empty(),
                "per-key order broken: {:?}",
                state.out_of_order
            );
        }
    }
}
