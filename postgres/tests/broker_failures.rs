//! The relay against a broker that fails: transiently, for good, and on
//! one partition only.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::broker::limits::{MessagePart, TooLarge};
use accord::broker::{BrokerError, Message, Publish};
use accord::events::Backoff;
use accord::MemoryBroker;
use accord_postgres::{Relay, Staged};
use common::*;
use tokio::time::Instant;

/// A broker that refuses the first `failures` publishes as if it were
/// down, and records when each publish was tried.
#[derive(Debug, Clone)]
struct Flaky {
    inner: MemoryBroker,
    failures: Arc<AtomicU32>,
    tries: Arc<Mutex<Vec<Instant>>>,
}

impl Publish for Flaky {
    async fn publish(&self, message: Message) -> Result<(), BrokerError> {
        self.tries.lock().unwrap().push(Instant::now());
        let failed = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failed {
            return Err(BrokerError::Connection("connection refused".into()));
        }
        self.inner.publish(message).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_broker_is_retried_with_backoff_then_published() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let outbox = tables.outbox(&pool, 4).await;
    let topic = unique("orders.placed");
    let route = route(&topic);
    let broker = MemoryBroker::new();
    let received = Received::start(&broker, "audit", &[&topic]).await;
    let flaky = Flaky {
        inner: broker.clone(),
        failures: Arc::new(AtomicU32::new(3)),
        tries: Arc::default(),
    };
    let backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_secs(2),
        multiplier: 2.0,
    };
    let relay = Relay::new(&outbox, flaky.clone(), fast().backoff(backoff)).spawn();

    let ids = write_keyed(&pool, &outbox, route, 1, 2, 2).await;
    within("the events arriving once the broker is back", async {
        while received.len() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    check_delivery(&received.messages(), &ids);
    drained(&outbox).await;
    assert_eq!(relay.stats().retried(), 3);
    let tries = flaky.tries.lock().unwrap().clone();
    assert_eq!(tries.len(), 5, "three refused tries, then the two events");
    // Delays of 100, 200 and 400 ms, each at least half of that.
    let gaps: Vec<_> = tries.windows(2).map(|w| w[1] - w[0]).collect();
    for (i, minimum) in [50, 100, 200].into_iter().enumerate() {
        assert!(
            gaps[i] >= Duration::from_millis(minimum),
            "retry {} came after {:?}, before its backoff of at least {minimum} ms: {gaps:?}",
            i + 1,
            gaps[i]
        );
    }
    let row: (i32, Option<String>) = sqlx::query_as(&format!(
        "SELECT attempts, last_error FROM \"{}\" WHERE event_id = $1",
        outbox.table_name()
    ))
    .bind(&ids[0])
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        row,
        (4, None),
        "four attempts recorded; sent clears the error"
    );
    within("the relay shutting down", relay.shutdown()).await;
}

/// Picks the messages to refuse, and the error to refuse them with.
type Refusal = Arc<dyn Fn(&Message) -> Option<BrokerError> + Send + Sync>;

/// A broker that refuses for good what `refuse` picks.
#[derive(Clone)]
struct Refusing {
    inner: MemoryBroker,
    refuse: Refusal,
}

impl std::fmt::Debug for Refusing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Refusing")
    }
}

impl Publish for Refusing {
    async fn publish(&self, message: Message) -> Result<(), BrokerError> {
        if let Some(error) = (self.refuse)(&message) {
            return Err(error);
        }
        self.inner.publish(message).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_event_is_marked_failed_and_later_events_go_on() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let outbox = tables.outbox(&pool, 4).await;
    let topic = unique("orders.placed");
    let route = route(&topic);
    let broker = MemoryBroker::new();
    let received = Received::start(&broker, "audit", &[&topic]).await;
    let refusing = Refusing {
        inner: broker.clone(),
        refuse: Arc::new(|message: &Message| match key_and_n(message).1 {
            1 => Some(BrokerError::Rejected("no such stream".into())),
            3 => Some(BrokerError::TooLarge(Box::new(TooLarge {
                part: MessagePart::Message,
                size: 2_000_000,
                limit: 1_048_576,
                limit_name: "the server's max_payload".into(),
            }))),
            _ => None,
        }),
    };
    let relay = Relay::new(&outbox, refusing, fast()).spawn();

    let ids = write_keyed(&pool, &outbox, route, 1, 5, 5).await;
    within("the three accepted events arriving", async {
        while received.len() < 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let arrived: Vec<u64> = received.messages().iter().map(|m| key_and_n(m).1).collect();
    assert_eq!(
        arrived,
        [0, 2, 4],
        "the events after each refusal went on, in order"
    );
    wait_until(
        Duration::from_secs(5),
        "two events counted failed",
        || relay.stats().failed() == 2,
        || format!("failed {}", relay.stats().failed()),
    )
    .await;
    let failed: Vec<(String, String)> = sqlx::query_as(&format!(
        "SELECT event_id, last_error FROM \"{}\" WHERE failed_at IS NOT NULL AND sent_at IS NULL ORDER BY seq",
        outbox.table_name()
    ))
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[0].0, ids[1]);
    assert!(failed[0].1.contains("no such stream"), "{}", failed[0].1);
    assert_eq!(failed[1].0, ids[3]);
    assert!(failed[1].1.contains("max_payload"), "{}", failed[1].1);
    drained(&outbox).await;
    within("the relay shutting down", relay.shutdown()).await;
}

/// A broker that is unreachable for messages with one key while `down`.
#[derive(Debug, Clone)]
struct DownForKey {
    inner: MemoryBroker,
    key: String,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl Publish for DownForKey {
    async fn publish(&self, message: Message) -> Result<(), BrokerError> {
        if self.down.load(Ordering::SeqCst) && message.key.as_deref() == Some(self.key.as_str()) {
            return Err(BrokerError::Timeout(Duration::from_millis(1)));
        }
        self.inner.publish(message).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_the_broker_fails_on_holds_back_only_itself() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let outbox = tables.outbox(&pool, 4).await;
    let topic = unique("orders.placed");
    let route = route(&topic);
    let broker = MemoryBroker::new();
    let received = Received::start(&broker, "audit", &[&topic]).await;
    // Two keys in different partitions.
    let stuck = "key-0".to_owned();
    let free = (1..)
        .map(|k| format!("key-{k}"))
        .find(|key| {
            accord_postgres::partition_of(Some(key), "", 4)
                != accord_postgres::partition_of(Some(&stuck), "", 4)
        })
        .unwrap();
    let down = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let failing = DownForKey {
        inner: broker.clone(),
        key: stuck.clone(),
        down: down.clone(),
    };
    let relay = Relay::new(&outbox, failing, fast()).spawn();

    let mut tx = pool.begin().await.unwrap();
    let staged = Staged::new();
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(publish_keyed(&staged, route, &stuck, n).await);
        ids.push(publish_keyed(&staged, route, &free, n).await);
    }
    outbox.write(&mut tx, &staged).await.unwrap();
    tx.commit().await.unwrap();
    within("the free key's events arriving past the stuck one", async {
        while received.len() < 5 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        received
            .messages()
            .iter()
            .all(|m| m.key.as_deref() == Some(free.as_str())),
        "nothing of the stuck key went through while its broker was down"
    );
    assert!(
        relay.stats().retried() >= 2,
        "the stuck partition was tried again"
    );

    down.store(false, Ordering::SeqCst);
    within(
        "the stuck key's events arriving once the broker is back",
        async {
            while received.len() < 10 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        },
    )
    .await;
    check_delivery(&received.messages(), &ids);
    drained(&outbox).await;
    within("the relay shutting down", relay.shutdown()).await;
}
