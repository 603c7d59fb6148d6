//! The inbox: dedupe shared by a group's members and across restarts, and
//! the handled mark in the handler's own transaction.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use accord::broker::{Message, Publish};
use accord::events::dedupe::{Begin, DedupeStore};
use accord::events::{envelope, event_handler, Backoff, EventHandlers, EventRoute};
use accord::trace::TraceContext;
use accord::{Context, MemoryBroker, Subscriber, SubscriberHandle};
use accord_postgres::{Inbox, PgDedupe};
use common::*;
use sqlx::PgPool;

/// An event on `topic` with the id `id`, whose payload is the string `name`.
fn event(topic: &str, id: &str, name: &str) -> Message {
    Message {
        topic: topic.to_owned(),
        key: None,
        headers: envelope::headers(id, "/orders", topic, &TraceContext::new_root().to_string()),
        payload: format!("\"{name}\"").into(),
    }
}

fn quick() -> Backoff {
    Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
        multiplier: 2.0,
    }
}

/// A member of `group` counting each event it handles by name.
async fn member(
    broker: &MemoryBroker,
    group: &str,
    route: &'static EventRoute,
    store: PgDedupe,
    handled: Arc<AtomicU64>,
) -> SubscriberHandle {
    let handler = event_handler(
        handled,
        |handled: Arc<AtomicU64>, _name: String, _: Context| async move {
            // Long enough that a duplicate reaches the other member while
            // this one still handles it.
            tokio::time::sleep(Duration::from_millis(100)).await;
            handled.fetch_add(1, Ordering::SeqCst);
            Ok::<(), String>(())
        },
    );
    Subscriber::new(broker.clone(), group)
        .backoff(quick())
        .dedupe(Arc::new(store))
        .start(EventHandlers::new("orders", vec![(route, handler)]))
        .await
        .expect("start a member")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_is_handled_once_across_members_and_restarts() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let inbox = tables.inbox(&pool).await;
    let topic = unique("orders.placed");
    let route = route(&topic);
    let broker = MemoryBroker::new();
    let handled = Arc::new(AtomicU64::new(0));
    let first = member(
        &broker,
        "billing",
        route,
        PgDedupe::in_inbox(inbox.clone()),
        handled.clone(),
    )
    .await;
    let second = member(
        &broker,
        "billing",
        route,
        PgDedupe::in_inbox(inbox.clone()),
        handled.clone(),
    )
    .await;

    let duplicate = event(&topic, "evt-1", "placed");
    broker.publish(duplicate.clone()).await.unwrap();
    broker.publish(duplicate.clone()).await.unwrap();
    wait_until(
        Duration::from_secs(10),
        "both copies settled by the group",
        || {
            first.stats().duplicates.load(Ordering::SeqCst)
                + second.stats().duplicates.load(Ordering::SeqCst)
                == 1
        },
        || format!("handled {}", handled.load(Ordering::SeqCst)),
    )
    .await;
    assert_eq!(
        handled.load(Ordering::SeqCst),
        1,
        "handled once across two members"
    );
    within("a member shutting down", first.shutdown()).await;
    within("a member shutting down", second.shutdown()).await;

    // A restart: a new member with a new store on the same table.
    let restarted = member(
        &broker,
        "billing",
        route,
        PgDedupe::in_inbox(inbox.clone()),
        handled.clone(),
    )
    .await;
    broker.publish(duplicate).await.unwrap();
    broker
        .publish(event(&topic, "evt-2", "placed"))
        .await
        .unwrap();
    wait_until(
        Duration::from_secs(10),
        "the new event handled after the restart",
        || handled.load(Ordering::SeqCst) == 2,
        || format!("handled {}", handled.load(Ordering::SeqCst)),
    )
    .await;
    wait_until(
        Duration::from_secs(10),
        "the old duplicate skipped after the restart",
        || restarted.stats().duplicates.load(Ordering::SeqCst) == 1,
        || {
            format!(
                "duplicates {}",
                restarted.stats().duplicates.load(Ordering::SeqCst)
            )
        },
    )
    .await;
    assert_eq!(
        handled.load(Ordering::SeqCst),
        2,
        "evt-1 was not handled again"
    );
    within("the restarted member shutting down", restarted.shutdown()).await;
}

struct Shipping {
    pool: PgPool,
    inbox: Inbox,
    shipments: String,
    attempts: AtomicU64,
    claims: std::sync::Mutex<Vec<bool>>,
}

impl Shipping {
    /// Claims the event and records a shipment in one transaction; the
    /// first attempt fails after both writes, so the transaction rolls back.
    async fn handle(&self, context: &Context) -> Result<(), String> {
        let event = context.event().expect("event attributes");
        let mut tx = self.pool.begin().await.map_err(|e| e.to_string())?;
        let first = self
            .inbox
            .claim(&mut tx, event)
            .await
            .map_err(|e| e.to_string())?;
        self.claims.lock().unwrap().push(first);
        if !first {
            return Ok(());
        }
        sqlx::query(&format!(
            "INSERT INTO \"{}\" (event_id) VALUES ($1)",
            self.shipments
        ))
        .bind(&event.id)
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
        if self.attempts.fetch_add(1, Ordering::SeqCst) == 0 {
            tx.rollback().await.map_err(|e| e.to_string())?;
            return Err("the carrier is down".into());
        }
        tx.commit().await.map_err(|e| e.to_string())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_rolled_back_with_its_transaction_is_handled_again() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let inbox = tables.inbox(&pool).await;
    let shipments = tables.name("shipments");
    sqlx::query(&format!(
        "CREATE TABLE \"{shipments}\" (event_id text NOT NULL)"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let topic = unique("orders.placed");
    let route = route(&topic);
    let broker = MemoryBroker::new();
    let shipping = Arc::new(Shipping {
        pool: pool.clone(),
        inbox,
        shipments: shipments.clone(),
        attempts: AtomicU64::new(0),
        claims: Default::default(),
    });
    let handler = event_handler(
        shipping.clone(),
        |shipping: Arc<Shipping>, _name: String, context: Context| async move {
            shipping.handle(&context).await
        },
    );
    // The in-memory dedupe of each member forgets on restart; the inbox
    // claim is what makes the effect happen once.
    let subscriber = Subscriber::new(broker.clone(), "shipping")
        .backoff(quick())
        .start(EventHandlers::new("orders", vec![(route, handler)]))
        .await
        .unwrap();
    broker
        .publish(event(&topic, "evt-9", "placed"))
        .await
        .unwrap();
    let rows = format!("SELECT count(*) FROM \"{shipments}\"");
    within("the shipment recorded on the second attempt", async {
        while count(&pool, &rows).await < 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(
        *shipping.claims.lock().unwrap(),
        [true, true],
        "the rolled-back claim did not count"
    );
    within("the subscriber shutting down", subscriber.shutdown()).await;

    // Redelivered to a member that remembers nothing: the inbox says no.
    let handler = event_handler(
        shipping.clone(),
        |shipping: Arc<Shipping>, _name: String, context: Context| async move {
            shipping.handle(&context).await
        },
    );
    let restarted = Subscriber::new(broker.clone(), "shipping")
        .start(EventHandlers::new("orders", vec![(route, handler)]))
        .await
        .unwrap();
    broker
        .publish(event(&topic, "evt-9", "placed"))
        .await
        .unwrap();
    wait_until(
        Duration::from_secs(10),
        "the redelivery handled",
        || shipping.claims.lock().unwrap().len() == 3,
        || format!("claims {:?}", shipping.claims.lock().unwrap()),
    )
    .await;
    assert!(
        !shipping.claims.lock().unwrap()[2],
        "a duplicate sees false"
    );
    assert_eq!(count(&pool, &rows).await, 1, "one shipment");
    within("the subscriber shutting down", restarted.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_expire_long_ids_are_digested_and_handled_ids_are_pruned() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let inbox = tables.inbox(&pool).await;
    let store = PgDedupe::in_inbox(inbox.clone()).claim_ttl(Duration::from_millis(300));

    assert_eq!(store.begin("g", "a").await, Begin::New);
    assert_eq!(store.begin("g", "a").await, Begin::InProgress);
    assert_eq!(
        store.begin("h", "a").await,
        Begin::New,
        "groups are separate"
    );
    store.abort("g", "a").await;
    assert_eq!(
        store.begin("g", "a").await,
        Begin::New,
        "an aborted claim frees the id"
    );
    store.complete("g", "a").await;
    assert_eq!(store.begin("g", "a").await, Begin::Duplicate);

    // A member that crashed holding a claim: another takes it once it expired.
    assert_eq!(store.begin("g", "crashed").await, Begin::New);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        store.begin("g", "crashed").await,
        Begin::New,
        "the expired claim was taken over"
    );

    let long = "x".repeat(10_000);
    let replay = "evt-1\u{0}replay 1";
    for id in [long.as_str(), replay] {
        assert_eq!(store.begin("g", id).await, Begin::New);
        store.complete("g", id).await;
        assert_eq!(store.begin("g", id).await, Begin::Duplicate, "{:.20}", id);
    }
    let longest: i32 = sqlx::query_scalar(&format!(
        "SELECT max(octet_length(event_id)) FROM \"{}\"",
        inbox.table_name()
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        longest <= 256,
        "a long id is stored as its digest ({longest} bytes)"
    );

    tokio::time::sleep(Duration::from_millis(50)).await;
    let pruned = inbox.prune(Duration::from_millis(10)).await.unwrap();
    assert!(
        pruned >= 3,
        "handled ids past the retention are pruned ({pruned})"
    );
    assert_eq!(
        store.begin("g", "a").await,
        Begin::New,
        "a pruned id is new again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_gone_begin_answers_in_progress() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let inbox = tables.inbox(&pool).await;
    let store = PgDedupe::in_inbox(inbox);
    assert_eq!(store.begin("g", "a").await, Begin::New);
    pool.close().await;
    assert_eq!(
        within("begin with the pool closed", store.begin("g", "b")).await,
        Begin::InProgress,
        "an event that cannot be checked is delivered again later, not handled unchecked"
    );
    within("complete with the pool closed", store.complete("g", "a")).await;
    within("abort with the pool closed", store.abort("g", "b")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_duplicate_waits_for_the_first_transaction_to_end() {
    let Some(pool) = pool().await else { return };
    let mut tables = Tables::default();
    let inbox = tables.inbox(&pool).await;
    for commit in [true, false] {
        let id = format!("evt-{commit}");
        let mut first = pool.begin().await.unwrap();
        assert!(inbox.claim_id(&mut first, "billing", &id).await.unwrap());
        let (pool2, inbox2, id2) = (pool.clone(), inbox.clone(), id.clone());
        let mut second = tokio::spawn(async move {
            let mut tx = pool2.begin().await.unwrap();
            let claimed = inbox2.claim_id(&mut tx, "billing", &id2).await.unwrap();
            tx.commit().await.unwrap();
            claimed
        });
        let waited = tokio::time::timeout(Duration::from_millis(300), &mut second).await;
        assert!(
            waited.is_err(),
            "the duplicate waits while the first is open"
        );
        if commit {
            first.commit().await.unwrap();
        } else {
            first.rollback().await.unwrap();
        }
        let claimed = within("the duplicate's claim", second).await.unwrap();
        assert_eq!(
            claimed, !commit,
            "after a commit the duplicate sees false; after a rollback it claims the event"
        );
    }
}
