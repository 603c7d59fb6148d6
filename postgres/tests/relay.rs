//! The relay: several at once, one dying, a failing broker, a refusal.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::broker::limits::{MessagePart, TooLarge};
use accord::broker::{BrokerError, Message, Publish};
use accord::events::{Backoff, EventRoute};
use accord::MemoryBroker;
use accord_postgres::{Outbox, Relay, RelayOptions, Staged};
use common::*;
use sqlx::PgPool;
use tokio::time::Instant;

fn fast() -> RelayOptions {
    RelayOptions::default()
        .batch_size(50)
        .poll_interval(Duration::from_millis(100))
        .rebalance_interval(Duration::from_millis(100))
}

/// Writes `per_key` events for each of `keys` keys, `per_tx` per
/// transaction, the keys interleaved; returns their ids.
async fn write_keyed(
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
fn check_delivery(received: &[Message], ids: &[String]) -> usize {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_relays_share_the_partitions_and_keep_per_key_order() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let outbox = tables.outbox(&pool, 16).await;
    let topic = unique("orders.placed");
    let route = route(&topic);
    let broker = MemoryBroker::new();
    let received = Received::start(&broker, "audit", &[&topic]).await;

    let relays: Vec<_> = (0..3)
        .map(|_| Relay::new(&outbox, broker.clone(), fast()).spawn())
        .collect();
    wait_until(
        Duration::from_secs(10),
        "each of three relays owning its share (at least 4 of 16 partitions)",
        || relays.iter().all(|r| r.stats().owned_partitions() >= 4),
        || {
            let owned: Vec<_> = relays
                .iter()
                .map(|r| r.stats().owned_partitions())
                .collect();
            format!("owned: {owned:?}")
        },
    )
    .await;

    let ids = within(
        "writing 2,000 events",
        write_keyed(&pool, &outbox, route, 50, 40, 20),
    )
    .await;
    within("2,000 events arriving", async {
        while received.len() < ids.len() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let repeats = check_delivery(&received.messages(), &ids);
    assert_eq!(repeats, 0, "no relay died, so no event was published twice");
    drained(&outbox).await;
    let published = || relays.iter().map(|r| r.stats().published()).sum::<u64>();
    wait_until(
        Duration::from_secs(5),
        "the relays counting 2,000 events published",
        || published() == 2_000,
        || format!("counted {}", published()),
    )
    .await;
    let owned: usize = relays.iter().map(|r| r.stats().owned_partitions()).sum();
    assert_eq!(owned, 16, "every partition has one owner");
    for relay in relays {
        within("a relay shutting down", relay.shutdown()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_run_hands_its_partitions_to_another() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let outbox = tables.outbox(&pool, 8).await;
    let topic = unique("orders.placed");
    let route = route(&topic);
    let broker = MemoryBroker::new();
    let received = Received::start(&broker, "audit", &[&topic]).await;

    let ids = within(
        "writing 1,000 events",
        write_keyed(&pool, &outbox, route, 20, 50, 50),
    )
    .await;
    // The doomed relay starts alone and owns every partition; the
    // survivor joins once it is publishing.
    let slow = Slow(broker.clone());
    let doomed = Relay::new(&outbox, slow, fast().batch_size(10)).spawn();
    wait_until(
        Duration::from_secs(10),
        "the first relay publishing 100 events",
        || doomed.stats().published() >= 100,
        || format!("published {}", doomed.stats().published()),
    )
    .await;
    let survivor = Relay::new(&outbox, broker.clone(), fast()).spawn();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let owned_when_killed = doomed.stats().owned_partitions();
    assert!(
        doomed.stats().published() < 1_000,
        "the first relay is killed mid-run"
    );
    doomed.abort();

    within("every event arriving after the kill", async {
        loop {
            let messages = received.messages();
            let arrived: HashSet<_> = messages.iter().filter_map(|m| m.id()).collect();
            if arrived.len() == ids.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let repeats = check_delivery(&received.messages(), &ids);
    assert!(
        repeats <= owned_when_killed,
        "{repeats} events published twice; at most one per partition the killed relay owned ({owned_when_killed})"
    );
    wait_until(
        Duration::from_secs(10),
        "the survivor owning all 8 partitions",
        || survivor.stats().owned_partitions() == 8,
        || format!("owned {}", survivor.stats().owned_partitions()),
    )
    .await;
    drained(&outbox).await;
    within("the survivor shutting down", survivor.shutdown()).await;
}

/// A broker taking a millisecond per publish, so a run takes a while.
#[derive(Debug, Clone)]
struct Slow(MemoryBroker);

impl Publish for Slow {
    async fn publish(&self, message: Message) -> Result<(), BrokerError> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        self.0.publish(message).await
    }
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_whose_connection_is_cut_reconnects_and_goes_on() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let outbox = tables.outbox(&pool, 4).await;
    let topic = unique("orders.placed");
    let route = route(&topic);
    let broker = MemoryBroker::new();
    let received = Received::start(&broker, "audit", &[&topic]).await;
    let relay = Relay::new(&outbox, broker.clone(), fast()).spawn();
    wait_until(
        Duration::from_secs(10),
        "the relay owning all 4 partitions",
        || relay.stats().owned_partitions() == 4,
        || format!("owned {}", relay.stats().owned_partitions()),
    )
    .await;

    let mut ids = write_keyed(&pool, &outbox, route, 4, 5, 10).await;
    drained(&outbox).await;
    // The database ends the relay's session, as a restart or a network
    // cut would: its locks go with it.
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_locks
         WHERE locktype = 'advisory' AND objsubid = 2 AND classid::bigint = $1
           AND objid::bigint = 2147483647",
    )
    .bind(i64::from(outbox.lock_space()))
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(terminated, [true], "one relay session to end");

    // Events of the same keys, continuing their numbering.
    let mut tx = pool.begin().await.unwrap();
    let staged = Staged::new();
    for n in 5..10 {
        for k in 0..4 {
            ids.push(publish_keyed(&staged, route, &format!("key-{k}"), n).await);
        }
    }
    outbox.write(&mut tx, &staged).await.unwrap();
    tx.commit().await.unwrap();
    within("every event arriving after the reconnection", async {
        while received.len() < ids.len() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    drained(&outbox).await;
    let repeats = check_delivery(&received.messages(), &ids);
    assert_eq!(
        repeats, 0,
        "the session ended between events, so none was sent twice"
    );
    wait_until(
        Duration::from_secs(10),
        "the relay owning its partitions again",
        || relay.stats().owned_partitions() == 4,
        || format!("owned {}", relay.stats().owned_partitions()),
    )
    .await;
    within("the relay shutting down", relay.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_returns_once_its_shutdown_completes() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let outbox = tables.outbox(&pool, 2).await;
    let topic = unique("orders.placed");
    let route = route(&topic);
    let broker = MemoryBroker::new();
    let received = Received::start(&broker, "audit", &[&topic]).await;
    let relay = Relay::new(&outbox, broker.clone(), fast());
    let stats = relay.stats();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(relay.run(async {
        let _ = stopped.await;
    }));
    let ids = write_keyed(&pool, &outbox, route, 2, 3, 6).await;
    within("the events arriving", async {
        while received.len() < ids.len() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    stop.send(()).unwrap();
    within("run returning after its shutdown", running)
        .await
        .expect("the relay task ends cleanly");
    assert_eq!(stats.published(), 6);
    assert_eq!(stats.owned_partitions(), 0, "a stopped relay owns nothing");
    let locks = format!(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND classid::bigint = {}",
        outbox.lock_space()
    );
    within("the stopped relay's locks being released", async {
        while count(&pool, &locks).await > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
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
