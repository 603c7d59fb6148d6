//! Writing events in the business transaction, the schema, and pruning.

mod common;

use std::sync::Arc;
use std::time::Duration;

use accord::broker::{Message, Publish};
use accord::events::{event_handler, EventHandlers};
use accord::{Context, MemoryBroker, Subscriber};
use accord_postgres::{Outbox, Relay, Staged, VERSION_TABLE};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_write_is_published_with_its_id_headers_and_key() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let outbox = tables.outbox(&pool, 16).await;
    let orders = tables.name("orders");
    sqlx::query(&format!(
        "CREATE TABLE \"{orders}\" (id bigint PRIMARY KEY)"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let topic = unique("orders.placed");
    let route = route(&topic);
    let broker = MemoryBroker::new();
    let received = Received::start(&broker, "audit", &[&topic]).await;

    let handled = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = handled.clone();
    let handler = event_handler(
        Arc::new(()),
        move |_: Arc<()>, body: serde_json::Value, context: Context| {
            let seen = seen.clone();
            async move {
                let event = context.event().expect("event attributes").clone();
                seen.lock().unwrap().push((event.id, event.key, body));
                Ok::<(), String>(())
            }
        },
    );
    let subscriber = Subscriber::new(broker.clone(), "shipping")
        .start(EventHandlers::new("orders", vec![(route, handler)]))
        .await
        .expect("start the subscriber");

    let mut tx = pool.begin().await.unwrap();
    sqlx::query(&format!("INSERT INTO \"{orders}\" (id) VALUES (42)"))
        .execute(&mut *tx)
        .await
        .unwrap();
    let staged = Staged::new();
    let id = publish_keyed(&staged, route, "customer-7", 1).await;
    let staged_message = staged.messages().remove(0);
    assert_eq!(outbox.write(&mut tx, &staged).await.unwrap(), 1);
    assert!(staged.is_empty(), "written messages leave the recording");
    tx.commit().await.unwrap();

    let relay = Relay::new(&outbox, broker.clone(), fast()).spawn();
    within("the event reaching the audit group", async {
        while received.len() < 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let published = received.messages().remove(0);
    assert_eq!(published, staged_message, "published exactly as staged");
    assert_eq!(published.id(), Some(id.as_str()));
    assert_eq!(published.key.as_deref(), Some("customer-7"));
    wait_until(
        Duration::from_secs(10),
        "the subscriber handling the event",
        || !handled.lock().unwrap().is_empty(),
        || "nothing handled".into(),
    )
    .await;
    let (handled_id, key, body) = handled.lock().unwrap()[0].clone();
    assert_eq!(handled_id, id);
    assert_eq!(key.as_deref(), Some("customer-7"));
    assert_eq!(body, serde_json::json!({"key": "customer-7", "n": 1}));

    drained(&outbox).await;
    let sent = count(
        &pool,
        &format!(
            "SELECT count(*) FROM \"{}\" WHERE sent_at IS NOT NULL AND attempts = 1",
            outbox.table_name()
        ),
    )
    .await;
    assert_eq!(sent, 1, "the row is marked sent after one attempt");
    wait_until(
        Duration::from_secs(5),
        "the relay counting the event published",
        || relay.stats().published() == 1,
        || format!("counted {}", relay.stats().published()),
    )
    .await;
    within("the relay shutting down", relay.shutdown()).await;
    within("the subscriber shutting down", subscriber.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_write_is_never_published() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let outbox = tables.outbox(&pool, 4).await;
    let topic = unique("orders.placed");
    let route = route(&topic);
    let broker = MemoryBroker::new();
    let received = Received::start(&broker, "audit", &[&topic]).await;
    let relay = Relay::new(&outbox, broker.clone(), fast()).spawn();

    let mut tx = pool.begin().await.unwrap();
    let staged = Staged::new();
    let rolled_back = publish_keyed(&staged, route, "k", 1).await;
    outbox.write(&mut tx, &staged).await.unwrap();
    tx.rollback().await.unwrap();

    // A later committed event on the same key: once it has arrived, the
    // relay has looked past where the rolled-back one would have been.
    let mut tx = pool.begin().await.unwrap();
    let committed = publish_keyed(&staged, route, "k", 2).await;
    outbox.write(&mut tx, &staged).await.unwrap();
    tx.commit().await.unwrap();
    within("the committed event arriving", async {
        while !received.has(&committed) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    // And a little longer, for a publish that would come late.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !received.has(&rolled_back),
        "a rolled-back event was published"
    );
    assert_eq!(received.len(), 1);
    drained(&outbox).await;
    within("the relay shutting down", relay.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_twice_and_in_parallel_apply_once() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let name = tables.name("outbox");
    let outbox = Outbox::new(pool.clone()).table(&name).unwrap();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let outbox = outbox.clone();
            tokio::spawn(async move { outbox.migrate().await })
        })
        .collect();
    for run in runs {
        within("a parallel migration", run)
            .await
            .unwrap()
            .expect("every parallel migration succeeds");
    }
    within("migrating again", outbox.migrate())
        .await
        .expect("migrating again is a no-op");
    let versions = count(
        &pool,
        &format!("SELECT count(*) FROM {VERSION_TABLE} WHERE component = 'outbox:{name}'"),
    )
    .await;
    assert_eq!(versions, 1, "version 1 recorded once");
    let sqlx_table = count(
        &pool,
        &format!("SELECT count(*) FROM pg_tables WHERE tablename = '{name}'"),
    )
    .await;
    assert_eq!(sqlx_table, 1);
    let err = Outbox::new(pool.clone()).table("Bad-Name").unwrap_err();
    assert!(err.to_string().contains("lower-case identifier"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_without_an_event_id_is_refused_by_name() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let outbox = tables.outbox(&pool, 4).await;
    let mut conn = pool.acquire().await.unwrap();
    let err = outbox
        .publish_in(&mut conn, Message::new("orders.placed", "{}"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no event id") && err.to_string().contains("orders.placed"),
        "{err}"
    );
    outbox
        .publish_in(
            &mut conn,
            Message::new("orders.placed", "{}").with_header("ce-id", "e-1"),
        )
        .await
        .expect("one message with an id");
    assert_eq!(outbox.pending().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_rows_are_pruned_after_the_retention_and_others_are_kept() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let outbox = tables.outbox(&pool, 1).await;
    let table = outbox.table_name().to_owned();
    let topic = unique("orders.placed");
    let route = route(&topic);
    let broker = MemoryBroker::new();
    let received = Received::start(&broker, "audit", &[&topic]).await;

    let mut tx = pool.begin().await.unwrap();
    let staged = Staged::new();
    for n in 0..30 {
        publish_keyed(&staged, route, "k", n).await;
    }
    outbox.write(&mut tx, &staged).await.unwrap();
    tx.commit().await.unwrap();
    // A row marked failed (by hand, an hour ago): the prune keeps it.
    sqlx::query(&format!(
        "INSERT INTO \"{table}\" (event_id, topic, partition, headers, payload, failed_at, last_error)
         VALUES ('failed-1', 't', 0, '{{}}', '', now() - interval '1 hour', 'refused')"
    ))
    .execute(&pool)
    .await
    .unwrap();

    let options = fast()
        .retention(Duration::from_millis(200))
        .prune_interval(Duration::from_millis(100))
        .prune_batch(7);
    let relay = Relay::new(&outbox, broker.clone(), options).spawn();
    within("30 events arriving", async {
        while received.len() < 30 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let rows = format!("SELECT count(*) FROM \"{table}\"");
    within("the sent rows being pruned", async {
        while count(&pool, &rows).await > 1 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let failed = count(
        &pool,
        &format!(
            "SELECT count(*) FROM \"{}\" WHERE event_id = 'failed-1'",
            outbox.table_name()
        ),
    )
    .await;
    assert_eq!(failed, 1, "a failed row is kept");
    within("the relay shutting down", relay.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staged_recording_is_bounded_and_a_full_one_refuses_publishes() {
    let staged = Staged::with_limits(3, 1 << 20);
    let topic = unique("orders.placed");
    let route = route(&topic);
    for n in 0..3 {
        publish_keyed(&staged, route, "k", n).await;
    }
    let refused = accord::events::EventPublisher::new(staged.clone(), "orders")
        .publish(route, None, &1)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("bound of 3 messages"),
        "{refused}"
    );
    assert_eq!(staged.len(), 3, "the refused publish recorded nothing");
    staged.discard();
    staged
        .publish(Message::new("t", "{}").with_header("ce-id", "x"))
        .await
        .expect("room again once discarded");
    staged.discard();
}
