//! The outbox relay under fault, on the local PostgreSQL and a NATS server
//! of each test's own ([`NatsServer`]), so the broker can be stopped
//! without touching the shared one.
//!
//! Events are written into an outbox table in committed transactions, and
//! a group of two members, ordered by key and sharing a [`PgDedupe`],
//! records how often it handled each event id and whether the events of
//! each key came in the order they were written. The relays are
//! `outbox-relay` processes (killed with SIGKILL) or relays in the test's
//! own process. Each test prints what it counted.
//!
//! [`PgDedupe`]: accord_postgres::PgDedupe

use std::sync::Arc;
use std::time::Duration;

use accord::broker::nats::NatsBroker;
use accord::broker::KeyOrder;
use accord::events::SubscriberStats;
use accord::{Subscriber, SubscriberHandle};
use accord_faults::nats_server::{self, NatsServer};
use accord_faults::outbox::{
    keyed_event, pool, postgres_url, relay_options, rows, sent, write_keyed, Handled, Tables,
};
use accord_faults::support::{load, runnable, stop, wait_until, Worker};
use accord_postgres::{Outbox, PgDedupe, Relay, Staged};
use sqlx::PgPool;
use tokio::time::Instant;

const RELAY: &str = env!("CARGO_BIN_EXE_outbox-relay");
/// Outbox partitions: how many relays can share the work.
const PARTITIONS: u16 = 16;
/// Members of the subscriber group.
const MEMBERS: usize = 2;
/// How long a delivery whose ack a broker restart lost waits to come again.
const ACK_WAIT: Duration = Duration::from_secs(5);
/// The longest wait for a stream of events to be handled.
const DRAIN: Duration = Duration::from_secs(90);

/// One test at a time: each wants both cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// PostgreSQL and a NATS server of the test's own, or `None` (after
/// saying why) where either is missing here, outside CI.
async fn services(label: &str) -> Option<(PgPool, NatsServer)> {
    if !runnable("NATS server", nats_server::available()) {
        return None;
    }
    let pool = pool().await?;
    let server = NatsServer::start(label)
        .await
        .unwrap_or_else(|e| panic!("starting a NATS server: {e}"));
    Some((pool, server))
}

async fn connect(url: &str) -> NatsBroker {
    NatsBroker::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}

/// The group `outbox` on `topic`: [`MEMBERS`] members, each on its own
/// connection, ordered by key, sharing `dedupe`, recording into `handled`.
async fn group(
    url: &str,
    topic: &str,
    dedupe: &Arc<PgDedupe>,
    handled: &Arc<Handled>,
) -> Vec<SubscriberHandle> {
    let mut members = Vec::new();
    for _ in 0..MEMBERS {
        let member = Subscriber::new(connect(url).await, "outbox")
            .key_order(KeyOrder::ByKey)
            .concurrency(32)
            .ack_wait(ACK_WAIT)
            .dedupe(dedupe.clone())
            .start(Handled::handlers(handled, topic))
            .await
            .unwrap_or_else(|e| panic!("joining the group on {topic}: {e}"));
        members.push(member);
    }
    members
}

/// Events the members' dedupe suppressed.
fn duplicates(members: &[SubscriberHandle]) -> u64 {
    let stats: Vec<Arc<SubscriberStats>> = members.iter().map(|m| m.stats_handle()).collect();
    stats.iter().map(|s| load(&s.duplicates)).sum()
}

/// Waits until no row of `outbox` waits to be published.
async fn drained(outbox: &Outbox, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let pending = outbox.pending().await.expect("counting pending rows");
        if pending == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox drained: not within {limit:?}; {pending} rows still pending"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many messages the broker stores on `topic`.
async fn stored(broker: &NatsBroker, topic: &str) -> u64 {
    let name = broker.topic_stream_name(topic);
    let mut stream = broker
        .jetstream()
        .get_stream(&name)
        .await
        .unwrap_or_else(|e| panic!("reading stream {name}: {e}"));
    let info = stream
        .info()
        .await
        .unwrap_or_else(|e| panic!("reading stream {name}: {e}"));
    info.state.messages
}

/// An `outbox-relay` process and what it said last.
struct RelayProcess {
    worker: Worker,
    owns: usize,
    published: u64,
}

impl RelayProcess {
    async fn start(outbox: &Outbox, nats_url: &str) -> RelayProcess {
        let args = [
            postgres_url(),
            outbox.table_name().to_owned(),
            outbox.partition_count().to_string(),
            nats_url.to_owned(),
        ];
        RelayProcess {
            worker: Worker::start(RELAY, &args).await,
            owns: 0,
            published: 0,
        }
    }

    fn read(&mut self, line: &str) {
        if let Some(n) = line.strip_prefix("owns ") {
            self.owns = n.parse().expect("a partition count");
        } else if let Some(n) = line.strip_prefix("published ") {
            self.published = n.parse().expect("an event count");
        }
    }

    /// Takes in what the relay printed so far, without waiting.
    fn update(&mut self) {
        for line in self.worker.lines_so_far() {
            self.read(&line);
        }
    }

    /// Reads the relay's lines until it has published `events`.
    async fn until_published(&mut self, events: u64) {
        while self.published < events {
            let line = self.worker.next_line().await;
            self.read(&line);
        }
    }
}

/// A relay process killed with SIGKILL a third of the way through 20,000
/// keyed events, and another started in its place: every event is handled
/// once, the events of each key in the order they were written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_killed_mid_stream_leaves_every_event_handled_once_in_key_order() {
    const KEYS: u64 = 100;
    const PER_KEY: u64 = 200;
    const EVENTS: usize = (KEYS * PER_KEY) as usize;
    let _serial = SERIAL.lock().await;
    let Some((pool, server)) = services("outbox-kill").await else {
        return;
    };
    let mut tables = Tables::default();
    let outbox = tables.outbox(&pool, PARTITIONS).await;
    let dedupe = tables.dedupe(&pool).await;
    let topic = format!("faults.outbox.kill{}", std::process::id());
    let handled = Arc::new(Handled::default());
    let members = group(&server.url(), &topic, &dedupe, &handled).await;

    let started = Instant::now();
    let ids = write_keyed(&pool, &outbox, &topic, KEYS, PER_KEY, 100).await;
    let written_in = started.elapsed();

    let started = Instant::now();
    let mut first = RelayProcess::start(&outbox, &server.url()).await;
    tokio::time::timeout(DRAIN, first.until_published(EVENTS as u64 / 3))
        .await
        .expect("the first relay published a third of the events within 90 s");
    first.worker.kill();
    first.update();
    let sent_at_kill = sent(&outbox).await;
    let handled_at_kill = handled.events();

    let mut second = RelayProcess::start(&outbox, &server.url()).await;
    wait_until(
        DRAIN,
        "every event handled after the relay was replaced",
        || handled.events() == EVENTS,
        || format!("{} of {EVENTS} events handled", handled.events()),
    )
    .await;
    let handled_in = started.elapsed();
    drained(&outbox, Duration::from_secs(20)).await;
    // Give a copy published again by the second relay time to arrive.
    tokio::time::sleep(Duration::from_secs(1)).await;
    second.update();

    handled.check(&ids, true);
    let broker = connect(&server.url()).await;
    println!(
        "{EVENTS} events over {KEYS} keys written in {written_in:?}; the first relay killed \
         with {} published by its count ({sent_at_kill} rows marked sent, {handled_at_kill} \
         handled); the second published {}; the broker stores {}; {} handlings of {} events, \
         {} duplicates suppressed; all handled {handled_in:?} after the first relay started \
         ({:.0} events/s)",
        first.published,
        second.published,
        stored(&broker, &topic).await,
        handled.handlings(),
        handled.events(),
        duplicates(&members),
        EVENTS as f64 / handled_in.as_secs_f64(),
    );
    assert!(
        first.published < EVENTS as u64 && second.published > 0,
        "the kill came mid-stream: the first relay published {}, the second {}",
        first.published,
        second.published
    );
    for member in members {
        stop(member).await;
    }
}

/// The broker killed while a relay publishes a backlog of 5,000 events, and
/// restarted on its store 3 s later: the backlog drains, every event is
/// handled once, the events of each key in the order they were written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_stopped_under_the_relay_then_the_backlog_drains_once() {
    const KEYS: u64 = 50;
    const PER_KEY: u64 = 100;
    const EVENTS: usize = (KEYS * PER_KEY) as usize;
    const DOWN_FOR: Duration = Duration::from_secs(3);
    let _serial = SERIAL.lock().await;
    let Some((pool, mut server)) = services("outbox-broker").await else {
        return;
    };
    let mut tables = Tables::default();
    let outbox = tables.outbox(&pool, PARTITIONS).await;
    let dedupe = tables.dedupe(&pool).await;
    let topic = format!("faults.outbox.broker{}", std::process::id());
    let handled = Arc::new(Handled::default());
    let members = group(&server.url(), &topic, &dedupe, &handled).await;
    let ids = write_keyed(&pool, &outbox, &topic, KEYS, PER_KEY, 100).await;

    let started = Instant::now();
    let relay = Relay::new(&outbox, connect(&server.url()).await, relay_options()).spawn();
    wait_until(
        Duration::from_secs(60),
        "the relay published 1,000 events",
        || relay.stats().published() >= 1_000,
        || format!("{} published", relay.stats().published()),
    )
    .await;
    server
        .kill()
        .unwrap_or_else(|e| panic!("killing the NATS server: {e}"));
    let published_at_kill = relay.stats().published();
    tokio::time::sleep(DOWN_FOR).await;
    let published_while_down = relay.stats().published() - published_at_kill;
    let retried_while_down = relay.stats().retried();
    server
        .restart()
        .await
        .unwrap_or_else(|e| panic!("restarting the NATS server: {e}"));
    let restarted = Instant::now();

    wait_until(
        DRAIN,
        "every event handled after the broker came back",
        || handled.events() == EVENTS,
        || {
            format!(
                "{} of {EVENTS} events handled, {} published, {} publishes retried",
                handled.events(),
                relay.stats().published(),
                relay.stats().retried()
            )
        },
    )
    .await;
    let drained_in = restarted.elapsed();
    drained(&outbox, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    handled.check(&ids, true);
    assert!(
        published_at_kill < EVENTS as u64,
        "the broker was killed with a backlog left: {published_at_kill} of {EVENTS} published"
    );
    println!(
        "broker killed with {published_at_kill} of {EVENTS} events published, down {DOWN_FOR:?} \
         ({published_while_down} confirmed meanwhile, {retried_while_down} publishes retried); \
         backlog handled {drained_in:?} after the restart ({:?} in all); relay published {}, \
         retried {}, failed {}; {} handlings of {} events, {} duplicates suppressed",
        started.elapsed(),
        relay.stats().published(),
        relay.stats().retried(),
        relay.stats().failed(),
        handled.handlings(),
        handled.events(),
        duplicates(&members),
    );
    assert_eq!(relay.stats().failed(), 0, "no event refused for good");
    tokio::time::timeout(Duration::from_secs(30), relay.shutdown())
        .await
        .expect("the relay shuts down within 30 s");
    for member in members {
        stop(member).await;
    }
}

/// Events staged in a transaction that rolls back are never published,
/// with a relay running; an event committed afterwards is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_transaction_publishes_nothing() {
    const ROLLED_BACK: u64 = 100;
    const SILENCE: Duration = Duration::from_secs(2);
    let _serial = SERIAL.lock().await;
    let Some((pool, server)) = services("outbox-rollback").await else {
        return;
    };
    let mut tables = Tables::default();
    let outbox = tables.outbox(&pool, PARTITIONS).await;
    let dedupe = tables.dedupe(&pool).await;
    let topic = format!("faults.outbox.rollback{}", std::process::id());
    let handled = Arc::new(Handled::default());
    let members = group(&server.url(), &topic, &dedupe, &handled).await;
    let relay = Relay::new(&outbox, connect(&server.url()).await, relay_options()).spawn();

    let staged = Staged::new();
    for n in 0..ROLLED_BACK {
        accord::Publish::publish(&staged, keyed_event(&topic, "rolled-back", n))
            .await
            .expect("staging an event");
    }
    let mut tx = pool.begin().await.expect("a transaction");
    let written = outbox
        .write(&mut tx, &staged)
        .await
        .expect("writing into the outbox");
    tx.rollback().await.expect("rolling back");
    assert_eq!(written, ROLLED_BACK as usize);
    tokio::time::sleep(SILENCE).await;
    let rows_after_rollback = rows(&outbox).await;
    let handled_after_rollback = handled.handlings();

    // A committed event arrives, so the silence was not a stalled relay.
    let ids = write_keyed(&pool, &outbox, &topic, 1, 1, 1).await;
    wait_until(
        Duration::from_secs(20),
        "the committed event handled",
        || handled.events() == 1,
        || format!("{} events handled", handled.events()),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!(
        "{ROLLED_BACK} events rolled back: {rows_after_rollback} rows, {handled_after_rollback} \
         handled after {SILENCE:?}; then 1 committed: {} row, {} handled, relay published {}",
        rows(&outbox).await,
        handled.handlings(),
        relay.stats().published()
    );
    assert_eq!(rows_after_rollback, 0, "a rolled-back write leaves no row");
    assert_eq!(
        handled_after_rollback, 0,
        "a rolled-back event is never handled"
    );
    handled.check(&ids, true);
    assert_eq!(
        relay.stats().published(),
        1,
        "only the committed event published"
    );
    tokio::time::timeout(Duration::from_secs(30), relay.shutdown())
        .await
        .expect("the relay shuts down within 30 s");
    for member in members {
        stop(member).await;
    }
}

/// Two relay processes over one outbox share its partitions, eight each,
/// and publish 5,000 events written while they run: each published once
/// and handled once, the events of each key in the order they were written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_at_once_publish_each_event_once() {
    const KEYS: u64 = 50;
    const PER_KEY: u64 = 100;
    const EVENTS: usize = (KEYS * PER_KEY) as usize;
    let _serial = SERIAL.lock().await;
    let Some((pool, server)) = services("outbox-two").await else {
        return;
    };
    let mut tables = Tables::default();
    let outbox = tables.outbox(&pool, PARTITIONS).await;
    let dedupe = tables.dedupe(&pool).await;
    let topic = format!("faults.outbox.two{}", std::process::id());
    let handled = Arc::new(Handled::default());
    let members = group(&server.url(), &topic, &dedupe, &handled).await;

    let mut relays = [
        RelayProcess::start(&outbox, &server.url()).await,
        RelayProcess::start(&outbox, &server.url()).await,
    ];
    let share = usize::from(PARTITIONS) / relays.len();
    let deadline = Instant::now() + Duration::from_secs(20);
    while relays.iter().any(|r| r.owns != share) {
        assert!(
            Instant::now() < deadline,
            "the relays share the partitions, {share} each: not within 20 s; they own {} and {}",
            relays[0].owns,
            relays[1].owns
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        relays.iter_mut().for_each(RelayProcess::update);
    }

    let started = Instant::now();
    let ids = write_keyed(&pool, &outbox, &topic, KEYS, PER_KEY, 100).await;
    wait_until(
        DRAIN,
        "every event handled with two relays",
        || handled.events() == EVENTS,
        || format!("{} of {EVENTS} events handled", handled.events()),
    )
    .await;
    let handled_in = started.elapsed();
    drained(&outbox, Duration::from_secs(20)).await;
    // The relays say what they published every 100 ms.
    tokio::time::sleep(Duration::from_secs(1)).await;
    relays.iter_mut().for_each(RelayProcess::update);

    handled.check(&ids, true);
    let broker = connect(&server.url()).await;
    println!(
        "two relays, {} and {} partitions, published {} and {} of {EVENTS} events; the broker \
         stores {}; {} handlings of {} events, {} duplicates suppressed; written and handled \
         in {handled_in:?} ({:.0} events/s)",
        relays[0].owns,
        relays[1].owns,
        relays[0].published,
        relays[1].published,
        stored(&broker, &topic).await,
        handled.handlings(),
        handled.events(),
        duplicates(&members),
        EVENTS as f64 / handled_in.as_secs_f64(),
    );
    assert!(
        relays.iter().all(|r| r.published > 0),
        "both relays published: {} and {}",
        relays[0].published,
        relays[1].published
    );
    assert_eq!(
        relays[0].published + relays[1].published,
        EVENTS as u64,
        "no relay died, so no event was published twice"
    );
    for member in members {
        stop(member).await;
    }
}
