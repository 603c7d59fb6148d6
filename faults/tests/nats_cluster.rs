//! A node of a three-node NATS cluster ([`NatsCluster`]) killed with
//! SIGKILL in the middle of a 2,000-event stream.
//!
//! With three replicas (`NatsOptions::replicas(3)`) the stream survives:
//! the two nodes left elect a new stream leader, the publishes after the
//! kill go through once the client reaches it, and every confirmed event
//! is handled once. With one replica the stream lives on one node: killed,
//! publishing stops until that node comes back on its store, and then
//! nothing confirmed is lost either.
//!
//! Publishers publish each event until it is confirmed, always with the
//! same event id (JetStream stores a repeat within the duplicate window
//! once); the group's two members share a dedupe store, which absorbs the
//! deliveries whose acks the kill lost.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use accord::broker::nats::{NatsBroker, NatsOptions};
use accord::events::{envelope, MemoryDedupe, SubscriberStats};
use accord::Subscriber;
use accord_faults::nats_cluster::NatsCluster;
use accord_faults::nats_server;
use accord_faults::support::{
    event_with_id, handlers, load, publish_until_confirmed, runnable, stop, wait_until,
};
use tokio::time::Instant;

const EVENTS: usize = 2_000;
const KILL_AFTER: usize = 500;
const PUBLISHERS: usize = 8;
const MEMBERS: usize = 2;
const TOPIC: &str = "faults.cluster";
const GROUP: &str = "cluster";
/// How long a delivery whose ack the kill lost waits to come again.
const ACK_WAIT: Duration = Duration::from_secs(5);
/// The longest wait for the stream to recover and the events to settle.
const RECOVERY: Duration = Duration::from_secs(90);

/// What the run saw.
struct Outcome {
    killed: String,
    leader_after: Option<String>,
    confirmed_at_kill: u64,
    confirmed_while_down: Option<u64>,
    publish_calls: u64,
    publish_failures: u64,
    stored: u64,
    handled: u64,
    duplicates: u64,
    retried: u64,
    dead_lettered: u64,
    handled_twice: Vec<usize>,
}

/// The node leading the topic's stream, by server name.
async fn stream_leader(broker: &NatsBroker) -> Option<String> {
    let name = broker.topic_stream_name(TOPIC);
    let mut stream =
        tokio::time::timeout(Duration::from_secs(5), broker.jetstream().get_stream(&name))
            .await
            .ok()?
            .ok()?;
    let info = tokio::time::timeout(Duration::from_secs(5), stream.info())
        .await
        .ok()?
        .ok()?;
    info.cluster.as_ref().and_then(|c| c.leader.clone())
}

/// How many messages the topic's stream holds.
async fn stored(broker: &NatsBroker) -> u64 {
    let name = broker.topic_stream_name(TOPIC);
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

/// Streams `EVENTS` events into a stream of `replicas` replicas on a
/// cluster of its own, kills the node leading the stream after
/// `KILL_AFTER` are confirmed, and, when `down_for` is given, starts it
/// again after that long. `None` where no cluster can be started here.
async fn kill_the_stream_leader_mid_stream(
    replicas: usize,
    down_for: Option<Duration>,
) -> Option<Outcome> {
    if !runnable("three-node NATS cluster", nats_server::available()) {
        return None;
    }
    let mut cluster = NatsCluster::start(&format!("r{replicas}"))
        .await
        .unwrap_or_else(|e| panic!("starting a three-node NATS cluster: {e}"));
    let options = NatsOptions::new().replicas(replicas);
    let urls = cluster.urls();
    let connect = || async {
        tokio::time::timeout(
            Duration::from_secs(30),
            NatsBroker::connect_with(&urls, options.clone()),
        )
        .await
        .unwrap_or_else(|_| panic!("no connection to the cluster at {urls} within 30 s"))
        .unwrap_or_else(|e| panic!("connecting to the cluster at {urls}: {e}"))
    };
    let publishing = connect().await;

    let calls: Arc<Vec<AtomicU32>> = Arc::new((0..EVENTS).map(|_| AtomicU32::new(0)).collect());
    let dedupe = Arc::new(MemoryDedupe::default());
    let mut members = Vec::new();
    for _ in 0..MEMBERS {
        let calls = calls.clone();
        let record = move |name: String| {
            let calls = calls.clone();
            async move {
                let n: usize = name
                    .strip_prefix("ev-")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("unexpected event {name}"))?;
                calls[n].fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        };
        let member = Subscriber::new(connect().await, GROUP)
            .concurrency(32)
            .ack_wait(ACK_WAIT)
            .dedupe(dedupe.clone())
            .start(handlers(TOPIC, record))
            .await
            .unwrap_or_else(|e| panic!("a member joining {GROUP}: {e}"));
        members.push(member);
    }

    let confirmed: Arc<Vec<AtomicBool>> =
        Arc::new((0..EVENTS).map(|_| AtomicBool::new(false)).collect());
    let ids: Arc<Vec<String>> = Arc::new((0..EVENTS).map(|_| envelope::new_id()).collect());
    let confirms = Arc::new(AtomicU64::new(0));
    let publish_calls = Arc::new(AtomicU64::new(0));
    let publish_failures = Arc::new(AtomicU64::new(0));
    let mut publishers = Vec::new();
    for p in 0..PUBLISHERS {
        let broker = publishing.clone();
        let (confirmed, confirms, ids) = (confirmed.clone(), confirms.clone(), ids.clone());
        let (calls, failures) = (publish_calls.clone(), publish_failures.clone());
        publishers.push(tokio::spawn(async move {
            for n in (p..EVENTS).step_by(PUBLISHERS) {
                let message = event_with_id(TOPIC, &format!("ev-{n}"), &ids[n]);
                publish_until_confirmed(&broker, &message, &calls, &failures).await;
                confirmed[n].store(true, Ordering::SeqCst);
                confirms.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    let state = || {
        format!(
            "confirmed {}, publish calls {}, failed {}",
            load(&confirms),
            load(&publish_calls),
            load(&publish_failures)
        )
    };
    wait_until(
        Duration::from_secs(60),
        "the first 500 events confirmed",
        || load(&confirms) as usize >= KILL_AFTER,
        state,
    )
    .await;

    let leader = stream_leader(&publishing)
        .await
        .expect("the stream names its leader");
    let node = cluster
        .node_named(&leader)
        .unwrap_or_else(|| panic!("the stream leader `{leader}` is not a node of the cluster"));
    let confirmed_at_kill = load(&confirms);
    cluster
        .kill(node)
        .unwrap_or_else(|e| panic!("killing node {leader}: {e}"));
    let killed_at = Instant::now();

    let mut confirmed_while_down = None;
    if let Some(down_for) = down_for {
        // Publishes already on their way may still be confirmed just
        // after the kill; count from a moment later.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = load(&confirms);
        tokio::time::sleep(down_for).await;
        confirmed_while_down = Some(load(&confirms) - before);
        cluster
            .restart(node)
            .await
            .unwrap_or_else(|e| panic!("restarting node {leader}: {e}"));
    }

    wait_until(
        RECOVERY,
        "every event confirmed after the kill",
        || load(&confirms) as usize == EVENTS,
        state,
    )
    .await;
    let recovered_in = killed_at.elapsed();
    for publisher in publishers {
        publisher.await.expect("a publisher task");
    }
    let handled_events = || {
        calls
            .iter()
            .filter(|c| c.load(Ordering::SeqCst) > 0)
            .count()
    };
    wait_until(
        RECOVERY,
        "every confirmed event handled",
        || handled_events() == EVENTS,
        || format!("{} of {EVENTS} events handled", handled_events()),
    )
    .await;

    // Deliveries whose acks the kill lost come again after the ack wait;
    // wait until nothing more settles for longer than that.
    let stats: Vec<Arc<SubscriberStats>> = members.iter().map(|m| m.stats_handle()).collect();
    let sum =
        |f: fn(&SubscriberStats) -> &AtomicU64| -> u64 { stats.iter().map(|s| load(f(s))).sum() };
    let settled = || sum(|s| &s.handled) + sum(|s| &s.duplicates) + sum(|s| &s.dead_lettered);
    let quiet_deadline = Instant::now() + RECOVERY;
    let mut last = settled();
    loop {
        tokio::time::sleep(ACK_WAIT + Duration::from_secs(1)).await;
        let now = settled();
        if now == last {
            break;
        }
        assert!(
            Instant::now() < quiet_deadline,
            "deliveries still settling {RECOVERY:?} after every event was handled"
        );
        last = now;
    }

    let outcome = Outcome {
        killed: leader,
        leader_after: stream_leader(&publishing).await,
        confirmed_at_kill,
        confirmed_while_down,
        publish_calls: load(&publish_calls),
        publish_failures: load(&publish_failures),
        stored: stored(&publishing).await,
        handled: sum(|s| &s.handled),
        duplicates: sum(|s| &s.duplicates),
        retried: sum(|s| &s.retried),
        dead_lettered: sum(|s| &s.dead_lettered),
        handled_twice: (0..EVENTS)
            .filter(|n| calls[*n].load(Ordering::SeqCst) > 1)
            .collect(),
    };
    for member in members {
        stop(member).await;
    }
    let not_confirmed = confirmed
        .iter()
        .filter(|c| !c.load(Ordering::SeqCst))
        .count();
    assert_eq!(not_confirmed, 0, "every event was eventually confirmed");
    println!(
        "NATS cluster, R{replicas}: {EVENTS} events; stream leader {} killed at {} confirmed; \
         confirmed while it was down {}; every event confirmed {recovered_in:.1?} after the kill; \
         publish calls {} ({} failed and were published again with the same id); stored {}; \
         handled {}; deduplicated by the members {}; new stream leader {}",
        outcome.killed,
        outcome.confirmed_at_kill,
        outcome
            .confirmed_while_down
            .map_or_else(|| "not measured".to_owned(), |n| n.to_string()),
        outcome.publish_calls,
        outcome.publish_failures,
        outcome.stored,
        outcome.handled,
        outcome.duplicates,
        outcome.leader_after.as_deref().unwrap_or("none"),
    );
    Some(outcome)
}

/// The common verdict: nothing confirmed lost, nothing handled twice.
fn assert_nothing_lost_or_doubled(outcome: &Outcome) {
    assert!(
        (outcome.confirmed_at_kill as usize) < EVENTS,
        "the node died in the middle of the stream"
    );
    assert_eq!(
        outcome.publish_calls,
        EVENTS as u64 + outcome.publish_failures,
        "each publish call was confirmed or failed"
    );
    assert_eq!(
        outcome.stored, EVENTS as u64,
        "the stream holds each event once, the publishes repeated after the kill included"
    );
    assert!(
        outcome.handled_twice.is_empty(),
        "events handled more than once: {} (first {:?})",
        outcome.handled_twice.len(),
        &outcome.handled_twice[..outcome.handled_twice.len().min(10)]
    );
    assert_eq!(
        outcome.handled, EVENTS as u64,
        "every confirmed event handled once"
    );
    assert_eq!(outcome.retried, 0, "no handler failed");
    assert_eq!(outcome.dead_lettered, 0, "no event was dead-lettered");
}

/// Three replicas: the stream's leader dies and the stream carries on
/// under a new one, on the two nodes left, without the dead node coming
/// back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r3_stream_loses_no_confirmed_event_when_its_leader_node_dies() {
    let Some(outcome) = kill_the_stream_leader_mid_stream(3, None).await else {
        return;
    };
    assert_nothing_lost_or_doubled(&outcome);
    let after = outcome
        .leader_after
        .as_deref()
        .expect("the stream has a leader after the kill");
    assert_ne!(after, outcome.killed, "another node leads the stream");
}

/// One replica: the stream lives on one node. While that node is down no
/// publish is confirmed; once it is back on its store the stream carries
/// on, and nothing confirmed before the kill is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r1_stream_stops_while_its_node_is_down_and_loses_nothing_once_it_is_back() {
    let down_for = Duration::from_secs(4);
    let Some(outcome) = kill_the_stream_leader_mid_stream(1, Some(down_for)).await else {
        return;
    };
    assert_nothing_lost_or_doubled(&outcome);
    assert_eq!(
        outcome.confirmed_while_down,
        Some(0),
        "no publish is confirmed while the only replica is down"
    );
    assert!(
        outcome.publish_failures > 0,
        "publishes failed while the node was down"
    );
    assert_eq!(
        outcome.leader_after.as_deref(),
        Some(outcome.killed.as_str()),
        "the stream is back on its node"
    );
}
