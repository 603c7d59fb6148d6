//! What the Redis store's tests share: the Redis they run against, a key
//! prefix of each test's own that is deleted when the test ends (also when
//! it fails), events with chosen ids, and bounded waits.

#![allow(dead_code)] // each test file uses its own part of it

pub mod proxy;

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use accord::broker::Message;
use accord::events::{envelope, event_handler, EventHandlers, EventRoute};
use accord::trace::TraceContext;
use accord_redis::{RedisDedupe, RedisDedupeOptions};

/// The Redis the tests use: `ACCORD_REDIS_URL`, default
/// `redis://127.0.0.1:6379`.
pub fn redis_url() -> String {
    std::env::var("ACCORD_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The longest any one wait in these tests may take.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Awaits `future` within [`DEADLINE`], or fails naming `what` hung.
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(DEADLINE, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not finish within {DEADLINE:?}"),
    }
}

/// Waits until `condition` holds, or fails naming `what` with `state()`.
pub async fn wait_until(
    what: &str,
    mut condition: impl FnMut() -> bool,
    state: impl Fn() -> String,
) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !condition() {
        if tokio::time::Instant::now() >= deadline {
            panic!("{what}: not the case within {DEADLINE:?}; {}", state());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A key prefix of one test's own on the test Redis; its keys are deleted
/// when it is dropped.
#[derive(Debug)]
pub struct TestPrefix {
    prefix: String,
}

impl TestPrefix {
    /// A fresh prefix naming `label`, the process and a counter, once the
    /// test Redis answered; `None` (after saying why) when it does not,
    /// outside CI. On CI (`CI` set) a missing Redis fails the test.
    pub async fn new(label: &str) -> Option<TestPrefix> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("accord-test-{label}-{}-{n}", std::process::id());
        let url = redis_url();
        let probe = RedisDedupe::with_options(&url, RedisDedupeOptions::new().key_prefix(&prefix))
            .unwrap_or_else(|e| panic!("{e}"));
        match within("a PING to the test Redis", probe.ping()).await {
            Ok(()) => Some(TestPrefix { prefix }),
            Err(error) if std::env::var_os("CI").is_some() => {
                panic!("CI needs Redis at {url} (ACCORD_REDIS_URL): {error}")
            }
            Err(error) => {
                println!("skipped: no Redis at {url} (set ACCORD_REDIS_URL): {error}");
                None
            }
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Options with this prefix and short timeouts.
    pub fn options(&self) -> RedisDedupeOptions {
        RedisDedupeOptions::new()
            .key_prefix(&self.prefix)
            .connect_timeout(Duration::from_secs(2))
            .response_timeout(Duration::from_secs(2))
    }

    /// A store of its own (as a member's process has) under this prefix.
    pub fn store(&self) -> RedisDedupe {
        RedisDedupe::with_options(&redis_url(), self.options()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The keys under this prefix, with their values.
    pub fn keys(&self) -> Vec<(String, Option<String>)> {
        let mut redis = connect_blocking();
        let keys = scan(&mut redis, &self.prefix);
        keys.into_iter()
            .map(|key| {
                let value = redis::cmd("GET")
                    .arg(&key)
                    .query::<Option<String>>(&mut redis)
                    .unwrap_or_else(|e| panic!("reading {key}: {e}"));
                (key, value)
            })
            .collect()
    }

    /// The remaining time to live of `key` in milliseconds (`-2` absent,
    /// `-1` without one).
    pub fn ttl_ms(&self, key: &str) -> i64 {
        redis::cmd("PTTL")
            .arg(key)
            .query(&mut connect_blocking())
            .unwrap_or_else(|e| panic!("reading the TTL of {key}: {e}"))
    }
}

impl Drop for TestPrefix {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(redis_url()) else {
            return;
        };
        let Ok(mut redis) = client.get_connection_with_timeout(Duration::from_secs(2)) else {
            return;
        };
        let _ = redis.set_read_timeout(Some(Duration::from_secs(2)));
        for key in scan(&mut redis, &self.prefix) {
            let _ = redis::cmd("DEL").arg(&key).query::<i64>(&mut redis);
        }
    }
}

/// A blocking connection to the test Redis, for looking at keys.
fn connect_blocking() -> redis::Connection {
    let client = redis::Client::open(redis_url()).expect("the test Redis URL");
    let redis = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .expect("a connection to the test Redis");
    redis
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("a read timeout");
    redis
}

/// Every key under `prefix`.
fn scan(redis: &mut redis::Connection, prefix: &str) -> Vec<String> {
    let pattern = format!("{prefix}:*");
    let mut keys = Vec::new();
    let mut cursor = 0u64;
    // SCAN visits every key once per pass; a pass ends at cursor 0.
    for _ in 0..100_000 {
        let (next, batch): (u64, Vec<String>) = match redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query(redis)
        {
            Ok(page) => page,
            Err(_) => break,
        };
        keys.extend(batch);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    keys
}

/// An event on `topic` named `name` (its payload is the JSON string) with
/// the event id `id`.
pub fn event_with_id(topic: &str, name: &str, id: &str) -> Message {
    let mut message = Message::new(topic, format!("\"{name}\""));
    message.headers = envelope::headers(id, "/tests", topic, &TraceContext::new_root().to_string());
    message
}

/// Handlers running `f` on the name of each event on `topic`.
pub fn handlers<F, Fut>(topic: &str, f: F) -> EventHandlers
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let route: &'static EventRoute = Box::leak(Box::new(EventRoute {
        service: "dedupe-tests",
        operation: "event",
        topic: Box::leak(topic.to_owned().into_boxed_str()),
    }));
    let handler = event_handler(Arc::new(f), |f: Arc<F>, name: String, _| f(name));
    EventHandlers::new("dedupe-tests", vec![(route, handler)])
}
