//! The outbox relay and the PostgreSQL dedupe store in front of a database
//! that stalls: the connections stay open and nothing is answered (a
//! [`StallProxy`] between them and the local PostgreSQL holds every byte).
//! sqlx bounds acquiring a connection, not a statement; accord-postgres
//! bounds each statement (`RelayOptions::statement_timeout`,
//! `Inbox::statement_timeout`), so the relay gives up its session and can
//! be shut down, the store answers "in progress", and both go on once the
//! database answers again.

use std::net::SocketAddr;
use std::time::Duration;

use accord::events::dedupe::{Begin, DedupeStore};
use accord::MemoryBroker;
use accord_faults::outbox::{pool, postgres_url, relay_options, sent, write_keyed, Tables};
use accord_faults::stall_proxy::StallProxy;
use accord_faults::support::until_ok;
use accord_postgres::{Inbox, Outbox, PgDedupe, Relay};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokio::time::Instant;

/// The statement bound the tests set.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(1);

/// The local PostgreSQL's address, from its URL.
async fn postgres_address() -> SocketAddr {
    let options: PgConnectOptions = postgres_url().parse().expect("a PostgreSQL URL");
    tokio::net::lookup_host((options.get_host(), options.get_port()))
        .await
        .ok()
        .and_then(|mut found| found.next())
        .expect("the PostgreSQL host resolves")
}

/// A pool whose connections go through `proxy`, with one connection kept
/// open, so that a statement meets the stall rather than a connect does.
/// Its `acquire_timeout` bounds connecting, and also a connection's test
/// before it is lent, which a stall meets first unless `tested` is false.
async fn pool_through(proxy: &StallProxy, acquire_timeout: Duration, tested: bool) -> PgPool {
    let options: PgConnectOptions = postgres_url().parse().expect("a PostgreSQL URL");
    let options = options.host("127.0.0.1").port(proxy.address().port());
    PgPoolOptions::new()
        .max_connections(4)
        .min_connections(1)
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(tested)
        .connect_with(options)
        .await
        .expect("a pool through the proxy")
}

/// `Ok` once `outbox` has `n` rows sent, or how many it has.
async fn all_sent(outbox: &Outbox, n: i64) -> Result<(), String> {
    match sent(outbox).await {
        count if count == n => Ok(()),
        count => Err(format!("{count} of {n} rows sent")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_on_a_stalled_database_gives_up_its_session_and_goes_on_once_it_answers() {
    let Some(direct) = pool().await else {
        return;
    };
    let proxy = StallProxy::start(postgres_address().await)
        .await
        .expect("a proxy in front of PostgreSQL");
    let through = pool_through(&proxy, Duration::from_secs(2), true).await;
    let mut tables = Tables::default();
    let outbox = tables.outbox(&direct, 4).await;
    let relayed = Outbox::new(through.clone())
        .table(outbox.table_name())
        .expect("a valid table name")
        .partitions(outbox.partition_count());
    let broker = MemoryBroker::new();
    let relay = Relay::new(
        &relayed,
        broker.clone(),
        relay_options().statement_timeout(STATEMENT_TIMEOUT),
    )
    .spawn();

    write_keyed(&direct, &outbox, "stalled.events", 4, 5, 10).await;
    until_ok(
        Duration::from_secs(20),
        "the first 20 events relayed",
        async || all_sent(&outbox, 20).await,
    )
    .await;

    // Stalled: the relay's next statement waits in vain, fails after its
    // bound, and the relay drops the session and tries to connect again.
    proxy.stall();
    write_keyed(&direct, &outbox, "stalled.events", 4, 5, 10).await;
    tokio::time::sleep(STATEMENT_TIMEOUT * 3).await;
    assert_eq!(sent(&outbox).await, 20, "nothing is relayed while stalled");

    // Answering again: the events written meanwhile are relayed.
    proxy.resume();
    let what = "the events written during the stall relayed";
    until_ok(Duration::from_secs(30), what, async || {
        all_sent(&outbox, 40).await
    })
    .await;

    // A shutdown while the database stalls ends within the statement bound
    // (and the pool's acquire timeout for a reconnection in progress).
    proxy.stall();
    write_keyed(&direct, &outbox, "stalled.events", 4, 1, 10).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), relay.shutdown())
        .await
        .expect("the relay's shutdown waited past 10 s on a stalled database");
    println!("shutdown on a stalled database in {:?}", started.elapsed());
    proxy.resume();
    drop(through);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dedupe_store_on_a_stalled_database_answers_in_progress_within_its_bound() {
    let Some(direct) = pool().await else {
        return;
    };
    let proxy = StallProxy::start(postgres_address().await)
        .await
        .expect("a proxy in front of PostgreSQL");
    // Untested and with a long acquire timeout, so that only the statement
    // bound can end the wait.
    let through = pool_through(&proxy, Duration::from_secs(30), false).await;
    let mut tables = Tables::default();
    let name = tables.dedupe(&direct).await.inbox().table_name().to_owned();
    let inbox = Inbox::new(through.clone())
        .table(&name)
        .expect("a valid table name")
        .statement_timeout(STATEMENT_TIMEOUT);
    let store = PgDedupe::in_inbox(inbox);
    assert_eq!(store.begin("g", "before").await, Begin::New);
    store.complete("g", "before").await;

    proxy.stall();
    let started = Instant::now();
    let begun = tokio::time::timeout(STATEMENT_TIMEOUT * 5, store.begin("g", "during"))
        .await
        .expect("a claim waited past five times its statement timeout");
    let waited = started.elapsed();
    assert_eq!(
        begun,
        Begin::InProgress,
        "a claim not answered is in progress"
    );
    assert!(
        waited >= STATEMENT_TIMEOUT && waited < STATEMENT_TIMEOUT * 3,
        "the claim gave up after {waited:?}, not after its bound of {STATEMENT_TIMEOUT:?}"
    );
    tokio::time::timeout(STATEMENT_TIMEOUT * 5, store.abort("g", "during"))
        .await
        .expect("releasing a claim waited past five times its statement timeout");

    proxy.resume();
    until_ok(
        Duration::from_secs(20),
        "the store answering again",
        async || match store.begin("g", "before").await {
            Begin::Duplicate => Ok(()),
            other => Err(format!("the handled event is {other:?}")),
        },
    )
    .await;
}
