//! The fault scenarios, written once and run against every backend that
//! implements [`FaultBackend`] (see [`for_each_scenario!`](crate::for_each_scenario)).
//! Each starts a broker process of its own, never the shared one on the
//! standard port, and prints what it counted.
//!
//! Where the broker cannot be started here the scenarios say so and pass,
//! except on CI (`CI` set), where they fail. They run one at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use accord::broker::{
    Delivery, Message, Publish, Subscribe, SubscribeOptions, Subscription, DEAD_LETTER_ATTEMPTS,
    DEAD_LETTER_GROUP, DEAD_LETTER_REASON, DEAD_LETTER_TOPIC,
};
use accord::events::{envelope, Backoff, MemoryDedupe, SubscriberStats};
use accord::Subscriber;

use crate::backend::FaultBackend;
use crate::support::{
    event_with_id, handlers, load, publish_until_confirmed, runnable, stop, wait_until, Worker,
};

/// One broker at a time: the stream scenario wants both cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A broker of the scenario's own, or `None` (after saying why) where it
/// cannot be started here, outside CI.
async fn start<B: FaultBackend>(label: &str) -> Option<B> {
    if !runnable(B::NAME, B::available()) {
        return None;
    }
    Some(
        B::start(label)
            .await
            .unwrap_or_else(|e| panic!("starting a {}: {e}", B::NAME)),
    )
}

/// An event named `name` on `topic`: its id is a fresh event id and its
/// payload the JSON string `name`.
fn event(topic: &str, name: &str) -> Message {
    event_with_id(topic, name, &envelope::new_id())
}

/// A broker killed (SIGKILL) in the middle of a 20,000-event stream and
/// restarted on the same data loses no confirmed event: publishers publish
/// each event until it is confirmed, always with the same event id, and
/// each is handled once after the members' shared dedupe. Where the broker
/// says how many messages it stores, each event is stored once, and where
/// it dedupes publishes, events published again after the crash are not
/// stored again.
pub async fn broker_killed_mid_stream_loses_no_confirmed_event<B: FaultBackend>() {
    const EVENTS: usize = 20_000;
    const PUBLISHERS: usize = 16;
    const MEMBERS: usize = 2;
    const TOPIC: &str = "faults.stream";
    const GROUP: &str = "stream";
    let _serial = SERIAL.lock().await;
    if !B::keeps_data_across_a_kill() {
        println!(
            "skipped on {}: the broker keeps its data in memory, so a kill loses it",
            B::NAME
        );
        return;
    }
    let Some(mut server) = start::<B>("stream").await else {
        return;
    };
    let timing = B::timing();
    let started = Instant::now();
    let publishing = server.connect("publisher").await;
    B::declare_group(&publishing, GROUP, &[TOPIC]).await;

    // Two members of the group, each on its own connection, sharing the
    // dedupe store as the members of one service would share Redis. A
    // delivery whose ack the crash lost comes again after the ack wait.
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
        let mut subscriber = Subscriber::new(server.connect("subscriber").await, GROUP)
            .concurrency(32)
            .dedupe(dedupe.clone());
        if let Some(ack_wait) = timing.stream_ack_wait {
            subscriber = subscriber.ack_wait(ack_wait);
        }
        let handle = subscriber.start(handlers(TOPIC, record)).await.unwrap();
        members.push(handle);
    }

    // Publishers: each event is published until the broker confirms it,
    // always with the same event id.
    let confirmed: Arc<Vec<AtomicBool>> =
        Arc::new((0..EVENTS).map(|_| AtomicBool::new(false)).collect());
    let ids: Arc<Vec<String>> = Arc::new((0..EVENTS).map(|_| envelope::new_id()).collect());
    let confirms = Arc::new(AtomicU64::new(0));
    let publish_calls = Arc::new(AtomicU64::new(0));
    let publish_failures = Arc::new(AtomicU64::new(0));
    let mut publishers = Vec::new();
    for p in 0..PUBLISHERS {
        let broker = publishing.clone();
        let (confirmed, confirms) = (confirmed.clone(), confirms.clone());
        let (calls, failures) = (publish_calls.clone(), publish_failures.clone());
        let ids = ids.clone();
        publishers.push(tokio::spawn(async move {
            for n in (p..EVENTS).step_by(PUBLISHERS) {
                let message = event_with_id(TOPIC, &format!("ev-{n}"), &ids[n]);
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
    server
        .kill()
        .await
        .unwrap_or_else(|e| panic!("killing the broker: {e}"));
    let killed_at = Instant::now();
    // Publishes fail while the broker is down and are published again with
    // the same id, though some of those reached the broker before the crash
    // or are sent from the client's buffer after the restart.
    tokio::time::sleep(timing.down_for).await;
    server
        .restart()
        .await
        .unwrap_or_else(|e| panic!("restarting the broker: {e}"));
    let down_for = killed_at.elapsed();

    wait_until(
        timing.recovery,
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
        timing.recovery,
        "every confirmed event handled",
        || handled_events() == EVENTS,
        || format!("{} of {EVENTS} events handled", handled_events()),
    )
    .await;
    // Deliveries whose acks the crash lost come again (after the ack wait,
    // or when the broker sees the connection gone); wait for them to be
    // suppressed.
    let stats: Vec<Arc<SubscriberStats>> = members.iter().map(|m| m.stats_handle()).collect();
    let sum =
        |f: fn(&SubscriberStats) -> &AtomicU64| -> u64 { stats.iter().map(|s| load(f(s))).sum() };
    let settled = || sum(|s| &s.handled) + sum(|s| &s.duplicates) + sum(|s| &s.dead_lettered);
    let mut last = settled();
    loop {
        tokio::time::sleep(timing.redelivery_within).await;
        let now = settled();
        if now == last {
            break;
        }
        last = now;
    }

    let in_stream = B::stored(&publishing, TOPIC).await;

    // The broker's own dedupe, where it has one, across the crash: events
    // confirmed before the kill, published again with their ids, are not
    // stored again.
    const REPEATED: usize = 100;
    let dedupes = publishing.capabilities().dedupes_publishes;
    let mut stored_again = None;
    if let (Some(before), true) = (in_stream, dedupes) {
        for n in 0..REPEATED {
            publishing
                .publish(event_with_id(TOPIC, &format!("ev-{n}"), &ids[n]))
                .await
                .unwrap();
        }
        let after = B::stored(&publishing, TOPIC).await.unwrap_or(before);
        stored_again = Some(after - before);
        tokio::time::sleep(timing.redelivery_within).await;
    }

    let handled = sum(|s| &s.handled);
    let deduplicated = sum(|s| &s.duplicates);
    let retried = sum(|s| &s.retried);
    let dead_lettered = sum(|s| &s.dead_lettered);
    for member in members {
        stop(member).await;
    }
    let (published, failed) = (load(&publish_calls), load(&publish_failures));
    let shown = |n: Option<u64>| n.map_or_else(|| "not known".to_owned(), |n| n.to_string());
    println!(
        "{} killed mid-stream: {EVENTS} events; publish calls {published} \
         ({failed} failed while the broker was down and were published again with the same id); \
         confirmed {} ({confirmed_at_kill} before the kill); stored {}; \
         broker down {down_for:.1?}; handled {handled}; deduplicated by the subscribers \
         {deduplicated}; retried {retried}; dead-lettered {dead_lettered}; \
         {REPEATED} events confirmed before the kill published again after it: stored again {}; \
         in {:.1?}",
        B::NAME,
        load(&confirms),
        shown(in_stream),
        shown(stored_again),
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
    if timing.every_publisher_fails {
        assert!(
            failed >= PUBLISHERS as u64,
            "every publisher had a publish fail while the broker was down"
        );
    }
    if dedupes {
        if let Some(in_stream) = in_stream {
            assert_eq!(
                in_stream, EVENTS as u64,
                "the broker stored each event once, the publishes repeated after the crash included"
            );
        }
        if let Some(stored_again) = stored_again {
            assert_eq!(
                stored_again, 0,
                "a repeated event id is not stored again, also across the crash"
            );
        }
    }
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
    assert_eq!(retried, 0, "no handler failed");
    assert_eq!(dead_lettered, 0, "no event was dead-lettered");
}

/// A subscriber process (`worker`, the `fault-worker` binary) killed
/// while its handlers run hands its events to another member of the group:
/// exactly the events it held come again, as attempt 2, and every event
/// reaches the other member once.
pub async fn killed_subscriber_process_hands_its_events_to_another_member<B: FaultBackend>(
    worker: &str,
) {
    const IN_FLIGHT: usize = 8;
    const LATER: usize = 12;
    const TOPIC: &str = "faults.handover";
    const GROUP: &str = "handover";
    let _serial = SERIAL.lock().await;
    let Some(server) = start::<B>("handover").await else {
        return;
    };
    let timing = B::timing();
    let ack_wait = timing.handover_ack_wait;
    let broker = server.connect("test").await;
    B::declare_group(&broker, GROUP, &[TOPIC]).await;

    let mut worker = Worker::start(
        worker,
        &[
            server.url(),
            GROUP.to_owned(),
            TOPIC.to_owned(),
            IN_FLIGHT.to_string(),
            ack_wait.as_millis().to_string(),
        ],
    )
    .await;

    // The worker takes as many events as it handles at once, and no more.
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
        .subscribe(
            SubscribeOptions::new(GROUP, [TOPIC])
                .max_in_flight(32)
                .ack_wait(ack_wait),
        )
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
    if let Ok(Some(extra)) = tokio::time::timeout(timing.redelivery_within, survivor.next()).await {
        panic!("an event came a second time: {:?}", extra.message());
    }

    let redelivered: BTreeSet<String> = received
        .iter()
        .filter(|(_, attempts)| attempts.iter().any(|a| *a >= 2))
        .map(|(name, _)| name.clone())
        .collect();
    println!(
        "{}: subscriber process killed mid-handler: published {published}, \
         confirmed {published}; \
         in flight in the killed worker {}; handled by the other member {} \
         (of which redelivered from the killed worker {}); deduplicated 0 (no event reached \
         it twice); dead-lettered 0",
        B::NAME,
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
    if B::counts_attempts_across_a_crash() {
        assert_eq!(
            redelivered, in_worker,
            "exactly the events in the killed worker's handlers came again, as attempt 2"
        );
        assert_eq!(
            published,
            in_worker.len() + (received.len() - redelivered.len())
        );
    } else {
        assert!(
            redelivered.is_empty(),
            "{} keeps no count of deliveries across a crash, yet events came as later attempts: {redelivered:?}",
            B::NAME
        );
    }
}

/// Poison events (a handler that always fails, a payload that does not
/// decode) end in the group's dead letters with their reasons, attempts,
/// topic and group, and, where the broker keeps data across a kill, stay
/// there across a broker crash.
pub async fn poison_events_end_in_the_dead_letters_with_their_reasons<B: FaultBackend>() {
    const GOOD: usize = 50;
    const MAX_ATTEMPTS: u32 = 3;
    const TOPIC: &str = "faults.poison";
    const GROUP: &str = "poison";
    let _serial = SERIAL.lock().await;
    let Some(mut server) = start::<B>("poison").await else {
        return;
    };
    let broker = server.connect("test").await;
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

    let mut published = 0u64;
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
    let confirmed = published;

    let stats = handle.stats_handle();
    let counts = || {
        format!(
            "handled {}, retried {}, dead-lettered {}",
            load(&stats.handled),
            load(&stats.retried),
            load(&stats.dead_lettered)
        )
    };
    wait_until(
        Duration::from_secs(30),
        "the good events handled and both poison events dead-lettered",
        || load(&stats.handled) == GOOD as u64 && load(&stats.dead_lettered) == 2,
        counts,
    )
    .await;
    stop(handle).await;

    // Where the broker keeps its data, the dead letters outlive a crash.
    let crashed = B::keeps_data_across_a_kill();
    if crashed {
        server
            .kill()
            .await
            .unwrap_or_else(|e| panic!("killing the broker: {e}"));
        server
            .restart()
            .await
            .unwrap_or_else(|e| panic!("restarting the broker: {e}"));
    }
    let reader = server.connect("reader").await;
    let mut dead = reader.dead_letters(GROUP).await.unwrap();
    let mut letters = BTreeMap::new();
    while letters.len() < 2 {
        let letter = tokio::time::timeout(Duration::from_secs(30), dead.next())
            .await
            .unwrap_or_else(|_| panic!("only {} dead letters within 30 s", letters.len()))
            .expect("the dead letters are open");
        let message = letter.message().clone();
        letter.ack().await.unwrap();
        letters.insert(
            String::from_utf8_lossy(&message.payload).into_owned(),
            message,
        );
    }
    if let Ok(Some(extra)) = tokio::time::timeout(Duration::from_secs(1), dead.next()).await {
        panic!("an unexpected dead letter: {:?}", extra.message());
    }

    let handled = load(&stats.handled);
    let dead_lettered = letters.len() as u64;
    println!(
        "poison events on {}: published {published}, confirmed {confirmed}; handled {handled}; \
         deduplicated {}; dead-lettered {dead_lettered} (read back {}); \
         poison handler calls {}; retried {}",
        B::NAME,
        load(&stats.duplicates),
        if crashed {
            "after a broker crash"
        } else {
            "without a crash: the broker keeps them in memory"
        },
        poison_calls.load(Ordering::SeqCst),
        load(&stats.retried)
    );
    let poison = letters
        .get("\"poison\"")
        .unwrap_or_else(|| panic!("the poison event is not in the dead letters: {letters:?}"));
    let reason = poison.header(DEAD_LETTER_REASON).unwrap_or_default();
    assert!(
        reason.contains("poison pill: cannot be handled") && reason.contains("attempt 3 of 3"),
        "the reason names the failure and the attempts: {reason:?}"
    );
    assert_eq!(poison.header(DEAD_LETTER_ATTEMPTS), Some("3"));
    assert_eq!(poison.header(DEAD_LETTER_TOPIC), Some(TOPIC));
    assert_eq!(poison.header(DEAD_LETTER_GROUP), Some(GROUP));
    assert_eq!(poison.topic, TOPIC, "a dead letter keeps its topic");
    let bad = letters
        .get(r#"{"not": "a string"}"#)
        .unwrap_or_else(|| panic!("the undecodable event is not in the dead letters: {letters:?}"));
    let reason = bad.header(DEAD_LETTER_REASON).unwrap_or_default();
    assert!(
        reason.contains("undecodable payload"),
        "the reason says the payload does not decode: {reason:?}"
    );
    assert_eq!(bad.header(DEAD_LETTER_ATTEMPTS), Some("1"));
    assert_eq!(poison_calls.load(Ordering::SeqCst), MAX_ATTEMPTS);
    assert_eq!(load(&stats.retried), u64::from(MAX_ATTEMPTS - 1));
    assert_eq!(handled, GOOD as u64);
    assert_eq!(load(&stats.duplicates), 0);
    assert_eq!(
        handled + dead_lettered,
        published,
        "each published event is handled or dead-lettered"
    );
}

/// A subscriber shut down while its broker is gone, with a handler in
/// flight, returns within its shutdown grace and its close wait: what its
/// subscription's close waits for on the broker (a Kafka member's last
/// commits and LeaveGroup, a NATS member's acks, a RabbitMQ member's
/// consumer cancel) does not hold it longer.
pub async fn shutdown_with_the_broker_gone_returns_within_its_bounds<B: FaultBackend>() {
    const TOPIC: &str = "faults.gone";
    const GROUP: &str = "gone";
    const GRACE: Duration = Duration::from_secs(2);
    const CLOSE_WAIT: Duration = Duration::from_secs(3);
    /// Above the two bounds: the task hand-offs of a loaded machine.
    const SLACK: Duration = Duration::from_secs(2);
    let _serial = SERIAL.lock().await;
    let Some(mut server) = start::<B>("gone").await else {
        return;
    };
    let broker = server.connect("test").await;
    let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
    // The handler finishes once shutdown has begun, with the broker gone:
    // its settlement is one the close has to give up on.
    let (finish, finish_rx) = tokio::sync::watch::channel(false);
    let handler = move |name: String| {
        let started = started_tx.clone();
        let mut finish = finish_rx.clone();
        async move {
            let _ = started.send(name);
            let _ = tokio::time::timeout(Duration::from_secs(10), finish.wait_for(|f| *f)).await;
            Ok(())
        }
    };
    let handle = Subscriber::new(broker.clone(), GROUP)
        .shutdown_grace(GRACE)
        .close_wait(CLOSE_WAIT)
        .start(handlers(TOPIC, handler))
        .await
        .unwrap();
    broker.publish(event(TOPIC, "in-flight")).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), started.recv())
        .await
        .expect("the handler started within 30 s");
    server
        .kill()
        .await
        .unwrap_or_else(|e| panic!("killing the broker: {e}"));
    let began = Instant::now();
    let bound = GRACE + CLOSE_WAIT + SLACK;
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = finish.send(true);
    });
    tokio::time::timeout(bound, handle.shutdown())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "shutdown with the broker gone took longer than {bound:?} \
                 (grace {GRACE:?}, close wait {CLOSE_WAIT:?})"
            )
        });
    println!(
        "{}: shutdown with the broker gone took {:?}",
        B::NAME,
        began.elapsed()
    );
    // Back up, so that what goes on in the background (a Kafka consumer's
    // close) ends before the test's runtime does.
    server
        .restart()
        .await
        .unwrap_or_else(|e| panic!("restarting the broker: {e}"));
}
