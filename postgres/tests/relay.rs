//! The relay: several at once, one dying, its session ended, and
//! stopping.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::broker::{BrokerError, Message, Publish};
use accord::MemoryBroker;
use accord_postgres::{Outbox, Relay, Staged};
use common::*;

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

/// Log output, captured.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

// On one thread, so that the relay's tasks log to this test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn rows_written_with_another_partition_count_are_named() {
    let logs = Logs::default();
    let writer = logs.clone();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish(),
    );
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let writer_side = tables.outbox(&pool, 8).await;
    let relay_side = Outbox::new(pool.clone())
        .table(writer_side.table_name())
        .unwrap()
        .partitions(2);
    let topic = unique("orders.placed");
    let route = route(&topic);
    let broker = MemoryBroker::new();
    let received = Received::start(&broker, "audit", &[&topic]).await;
    let ids = write_keyed(&pool, &writer_side, route, 12, 1, 12).await;
    let reachable = (0..12)
        .filter(|k| accord_postgres::partition_of(Some(&format!("key-{k}")), "", 8) < 2)
        .count();
    let stranded = 12 - reachable;
    assert!(stranded > 0, "some keys fall beyond partition 1");

    let options = fast().prune_interval(Duration::from_millis(100));
    let relay = Relay::new(&relay_side, broker.clone(), options).spawn();
    within("the warning naming the stranded rows", async {
        while !logs.text().contains(&format!("stranded={stranded}")) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let text = logs.text();
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains("another partition count"), "{text}");
    within("the rows in its partitions arriving", async {
        while received.len() < reachable {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(received.len(), reachable, "only the rows in its partitions");
    assert_eq!(ids.len(), 12);
    within("the relay shutting down", relay.shutdown()).await;
}
