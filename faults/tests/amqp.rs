//! Fault tests of the RabbitMQ backend. Each test starts a RabbitMQ node of
//! its own ([`RabbitNode`]), never the shared broker on the standard port,
//! and prints what it counted.
//!
//! - A broker killed (SIGKILL) in the middle of a 20,000-event stream and
//!   restarted on the same data loses no confirmed event, and each is
//!   handled once after the subscriber's dedupe.
//! - A subscriber process killed while its handlers run hands its events
//!   to another member of the group.
//! - A poison event ends in the group's dead letters with its reason.
//!
//! Where `rabbitmq-server` is not installed the tests say so and pass,
//! except on CI (`CI` set), where they fail. They run one at a time: each
//! node takes a core while it boots.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use accord::broker::amqp::{AmqpBroker, AmqpOptions};
use accord::broker::{
    Delivery, Message, Publish, Subscribe, SubscribeOptions, Subscription, DEAD_LETTER_ATTEMPTS,
    DEAD_LETTER_GROUP, DEAD_LETTER_REASON, DEAD_LETTER_TOPIC,
};
use accord::events::{Backoff, MemoryDedupe};
use accord::Subscriber;
use accord_faults::rabbit_server::{self, RabbitNode};
use accord_faults::support::{
    event_with_id, handlers, load, publish_until_confirmed, stop, wait_until, Worker,
};

/// One node at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A node of the test's own, or `None` (after saying why) where RabbitMQ is
/// not installed, outside CI.
async fn node(label: &str) -> Option<RabbitNode> {
    if let Err(missing) = rabbit_server::available() {
        if std::env::var_os("CI").is_some() {
            panic!("CI needs RabbitMQ installed to start a node of its own: {missing}");
        }
        println!("skipped: cannot start a RabbitMQ node: {missing}");
        return None;
    }
    Some(
        RabbitNode::start(label)
            .await
            .unwrap_or_else(|e| panic!("starting a RabbitMQ node: {e}")),
    )
}

async fn connect(node: &RabbitNode, role: &str) -> AmqpBroker {
    let options = AmqpOptions::default()
        .connection_name(format!("accord faults {role}"))
        .max_reconnect_delay(Duration::from_secs(1));
    AmqpBroker::connect_with(&node.url(), options)
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", node.url()))
}

/// An event named `name` on `topic`: its id is `name` and its payload the
/// JSON string `name`.
fn event(topic: &str, name: &str) -> Message {
    event_with_id(topic, name, name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_killed_mid_stream_loses_no_confirmed_event() {
    const EVENTS: usize = 20_000;
    const PUBLISHERS: usize = 16;
    const MEMBERS: usize = 2;
    const TOPIC: &str = "faults.stream";
    const GROUP: &str = "stream";
    let _serial = SERIAL.lock().await;
    let Some(node) = node("stream").await else {
        return;
    };
    let started = Instant::now();
    let publishing = connect(&node, "publisher").await;
    publishing.declare_group(GROUP, &[TOPIC]).await.unwrap();

    // Two members of the group, in their own connections, sharing the
    // dedupe store as the members of one service would share Redis.
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
        let handle = Subscriber::new(connect(&node, "subscriber").await, GROUP)
            .concurrency(32)
            .dedupe(dedupe.clone())
            .start(handlers(TOPIC, record))
            .await
            .unwrap();
        members.push(handle);
    }

    // Publishers: each event is published until the broker confirms it,
    // always with the same event id.
    let confirmed: Arc<Vec<AtomicBool>> =
        Arc::new((0..EVENTS).map(|_| AtomicBool::new(false)).collect());
    let confirms = Arc::new(AtomicU64::new(0));
    let publish_calls = Arc::new(AtomicU64::new(0));
    let publish_failures = Arc::new(AtomicU64::new(0));
    let mut publishers = Vec::new();
    for p in 0..PUBLISHERS {
        let broker = publishing.clone();
        let (confirmed, confirms) = (confirmed.clone(), confirms.clone());
        let (calls, failures) = (publish_calls.clone(), publish_failures.clone());
        publishers.push(tokio::spawn(async move {
            for n in (p..EVENTS).step_by(PUBLISHERS) {
                let message = event(TOPIC, &format!("ev-{n}"));
                publish_until_confirmed(&broker, &message, &calls, &failures).await;
                confirmed[n].store(true, Ordering::SeqCst);
                confirms.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }

    // The crash, with about 30 % of the stream confirmed.
    let state = || {
        format!(
            "confirmed {}, publish calls {}, failed {}",
            load(&confirms),
            load(&publish_calls),
            load(&publish_failures)
        )
    };
    wait_until(
        Duration::from_secs(30),
        "30 % of the stream confirmed",
        || load(&confirms) as usize >= EVENTS * 3 / 10,
        state,
    )
    .await;
    let confirmed_at_kill = load(&confirms);
    node.kill().await.expect("killing the broker");
    let killed_at = Instant::now();
    node.restart().await.expect("restarting the broker");
    let down_for = killed_at.elapsed();

    wait_until(
        Duration::from_secs(60),
        "every event confirmed after the restart",
        || load(&confirms) as usize == EVENTS,
        state,
    )
    .await;
    for publisher in publishers {
        publisher.await.unwrap();
    }
    let handled_events = || {
        calls
            .iter()
            .filter(|c| c.load(Ordering::SeqCst) > 0)
            .count()
    };
    wait_until(
        Duration::from_secs(60),
        "every confirmed event handled",
        || handled_events() == EVENTS,
        || format!("{} of {EVENTS} events handled", handled_events()),
    )
    .await;
    // Anything delivered again arrives now or not at all.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let stats: Vec<_> = members.iter().map(|m| m.stats_handle()).collect();
    let sum = |f: fn(&accord::events::SubscriberStats) -> &AtomicU64| -> u64 {
        stats.iter().map(|s| load(f(s))).sum()
    };
    let handled = sum(|s| &s.handled);
    let deduplicated = sum(|s| &s.duplicates);
    let dead_lettered = sum(|s| &s.dead_lettered);
    for member in members {
        stop(member).await;
    }
    let (published, failed) = (load(&publish_calls), load(&publish_failures));
    println!(
        "RabbitMQ killed mid-stream: {EVENTS} events; publish calls {published} \
         ({failed} failed while the broker was down and were published again with the same id); \
         confirmed {} ({confirmed_at_kill} before the kill); broker down {down_for:.1?}; \
         handled {handled}; deduplicated {deduplicated}; dead-lettered {dead_lettered}; \
         in {:.1?}",
        load(&confirms),
        started.elapsed()
    );

    let not_confirmed = confirmed
        .iter()
        .filter(|c| !c.load(Ordering::SeqCst))
        .count();
    assert_eq!(not_confirmed, 0, "every event was eventually confirmed");
    assert_eq!(
        published,
        EVENTS as u64 + failed,
        "each publish call was confirmed or failed"
    );
    assert!(
        failed > 0 && (confirmed_at_kill as usize) < EVENTS,
        "the broker went down in the middle of the stream"
    );
    let twice: Vec<usize> = (0..EVENTS)
        .filter(|n| calls[*n].load(Ordering::SeqCst) > 1)
        .collect();
    assert!(
        twice.is_empty(),
        "events handled more than once: {} (first {:?})",
        twice.len(),
        &twice[..twice.len().min(10)]
    );
    assert_eq!(handled, EVENTS as u64, "every confirmed event handled once");
    assert_eq!(dead_lettered, 0, "no event was dead-lettered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_subscriber_process_hands_its_events_to_another_member() {
    const IN_FLIGHT: usize = 8;
    const LATER: usize = 12;
    const TOPIC: &str = "faults.handover";
    const GROUP: &str = "handover";
    let _serial = SERIAL.lock().await;
    let Some(node) = node("handover").await else {
        return;
    };
    let broker = connect(&node, "test").await;
    broker.declare_group(GROUP, &[TOPIC]).await.unwrap();

    let mut worker = Worker::start(
        env!("CARGO_BIN_EXE_fault-worker"),
        &[
            node.url(),
            GROUP.to_owned(),
            TOPIC.to_owned(),
            IN_FLIGHT.to_string(),
            // RabbitMQ keeps a killed consumer's deliveries until its
            // connection closes; the ack wait never comes into play.
            "30000".to_owned(),
        ],
    )
    .await;

    let mut published = 0;
    for n in 0..IN_FLIGHT {
        broker
            .publish(event(TOPIC, &format!("ev-{n}")))
            .await
            .unwrap();
        published += 1;
    }
    let mut in_worker = BTreeSet::new();
    while in_worker.len() < IN_FLIGHT {
        let line = worker.next_line().await;
        let name = line
            .strip_prefix("handling ")
            .unwrap_or_else(|| panic!("unexpected worker output {line:?}"));
        in_worker.insert(name.to_owned());
    }
    for n in IN_FLIGHT..IN_FLIGHT + LATER {
        broker
            .publish(event(TOPIC, &format!("ev-{n}")))
            .await
            .unwrap();
        published += 1;
    }

    // Another member joins; the worker dies with all its handlers running.
    let mut survivor = broker
        .subscribe(SubscribeOptions::new(GROUP, [TOPIC]).max_in_flight(32))
        .await
        .unwrap();
    worker.kill();

    let mut received = BTreeMap::<String, Vec<u32>>::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.len() < IN_FLIGHT + LATER {
        let delivery = tokio::time::timeout_at(deadline, survivor.next())
            .await
            .unwrap_or_else(|_| panic!("the survivor got only {received:?} within 30 s"))
            .expect("the subscription is open");
        let name = String::from_utf8_lossy(&delivery.message().payload)
            .trim_matches('"')
            .to_owned();
        received.entry(name).or_default().push(delivery.attempt());
        delivery.ack().await.unwrap();
    }
    if let Ok(Some(extra)) = tokio::time::timeout(Duration::from_secs(1), survivor.next()).await {
        panic!("an event came a second time: {:?}", extra.message());
    }

    let redelivered: BTreeSet<String> = received
        .iter()
        .filter(|(_, attempts)| attempts.iter().any(|a| *a >= 2))
        .map(|(name, _)| name.clone())
        .collect();
    println!(
        "subscriber process killed mid-handler: published {published}, confirmed {published}; \
         in flight in the killed worker {}; handled by the other member {} \
         (of which redelivered from the killed worker {}); deduplicated 0 (no event came \
         twice); dead-lettered 0",
        in_worker.len(),
        received.len(),
        redelivered.len()
    );
    let expected: BTreeSet<String> = (0..IN_FLIGHT + LATER).map(|n| format!("ev-{n}")).collect();
    assert_eq!(
        received.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "the other member got every event"
    );
    assert!(
        received.values().all(|attempts| attempts.len() == 1),
        "each event reached the other member once: {received:?}"
    );
    assert_eq!(
        redelivered, in_worker,
        "exactly the events in the killed worker's handlers came again, as attempt 2"
    );
    assert_eq!(
        published,
        in_worker.len() + (received.len() - redelivered.len())
    );
    drop(survivor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_event_ends_in_the_dead_letters_with_its_reason() {
    const GOOD: usize = 50;
    const MAX_ATTEMPTS: u32 = 3;
    const TOPIC: &str = "faults.poison";
    const GROUP: &str = "poison";
    let _serial = SERIAL.lock().await;
    let Some(node) = node("poison").await else {
        return;
    };
    let broker = connect(&node, "test").await;
    let poison_calls = Arc::new(AtomicU32::new(0));
    let handler = {
        let poison_calls = poison_calls.clone();
        move |name: String| {
            let poison_calls = poison_calls.clone();
            async move {
                if name == "poison" {
                    poison_calls.fetch_add(1, Ordering::SeqCst);
                    return Err("poison pill: cannot be handled".to_owned());
                }
                Ok(())
            }
        }
    };
    let handle = Subscriber::new(broker.clone(), GROUP)
        .max_attempts(MAX_ATTEMPTS)
        .backoff(Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(100),
            multiplier: 2.0,
        })
        .start(handlers(TOPIC, handler))
        .await
        .unwrap();

    let mut published = 0;
    for n in 0..GOOD {
        broker
            .publish(event(TOPIC, &format!("ev-{n}")))
            .await
            .unwrap();
        published += 1;
    }
    broker.publish(event(TOPIC, "poison")).await.unwrap();
    published += 1;
    let mut undecodable = event(TOPIC, "undecodable");
    undecodable.payload = r#"{"not": "a string"}"#.into();
    broker.publish(undecodable).await.unwrap();
    published += 1;

    let mut dead = broker.dead_letters(GROUP).await.unwrap();
    let mut letters = BTreeMap::new();
    while letters.len() < 2 {
        let letter = tokio::time::timeout(Duration::from_secs(30), dead.next())
            .await
            .expect("the dead letters within 30 s")
            .expect("the subscription is open");
        let message = letter.message().clone();
        letter.ack().await.unwrap();
        letters.insert(message.id().unwrap_or_default().to_owned(), message);
    }
    let stats = handle.stats_handle();
    wait_until(
        Duration::from_secs(30),
        "every good event handled",
        || load(&stats.handled) as usize == GOOD,
        || format!("handled {}", load(&stats.handled)),
    )
    .await;
    if let Ok(Some(extra)) = tokio::time::timeout(Duration::from_millis(500), dead.next()).await {
        panic!("an unexpected dead letter: {:?}", extra.message());
    }
    let (handled, retried, deduplicated, dead_lettered) = (
        load(&stats.handled),
        load(&stats.retried),
        load(&stats.duplicates),
        load(&stats.dead_lettered),
    );
    stop(handle).await;

    let poison = &letters["poison"];
    let reason = poison.header(DEAD_LETTER_REASON).unwrap_or_default();
    let broken = &letters["undecodable"];
    let broken_reason = broken.header(DEAD_LETTER_REASON).unwrap_or_default();
    println!(
        "poison event: published {published}, confirmed {published}; handled {handled}; \
         retried {retried}; deduplicated {deduplicated}; dead-lettered {dead_lettered}: \
         \"poison\" after {} attempts ({reason:?}), \"undecodable\" after {} ({broken_reason:?})",
        poison.header(DEAD_LETTER_ATTEMPTS).unwrap_or_default(),
        broken.header(DEAD_LETTER_ATTEMPTS).unwrap_or_default(),
    );

    assert!(
        reason.contains("poison pill: cannot be handled") && reason.contains("attempt 3 of 3"),
        "the reason names the failure and the attempts: {reason:?}"
    );
    assert_eq!(poison.header(DEAD_LETTER_ATTEMPTS), Some("3"));
    assert_eq!(poison.header(DEAD_LETTER_TOPIC), Some(TOPIC));
    assert_eq!(poison.header(DEAD_LETTER_GROUP), Some(GROUP));
    assert_eq!(&poison.payload[..], b"\"poison\"", "the payload is kept");
    assert_eq!(poison.topic, TOPIC);
    assert!(
        broken_reason.contains("undecodable payload"),
        "the reason says why: {broken_reason:?}"
    );
    assert_eq!(broken.header(DEAD_LETTER_ATTEMPTS), Some("1"));
    assert_eq!(poison_calls.load(Ordering::SeqCst), MAX_ATTEMPTS);
    assert_eq!(handled as usize, GOOD);
    assert_eq!(dead_lettered, 2);
    assert_eq!(retried, u64::from(MAX_ATTEMPTS - 1));
    assert_eq!(
        published as u64,
        handled + dead_lettered,
        "every event published is handled or dead-lettered"
    );
}
