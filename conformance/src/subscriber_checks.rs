//! Checks of the [`Subscriber`] runtime over a backend: dedupe, retries,
//! dead letters, shutdown, and the generated roles.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::broker::{
    ConsumeEvents, Delivery, Publish, DEAD_LETTER_ATTEMPTS, DEAD_LETTER_GROUP, DEAD_LETTER_REASON,
    DEAD_LETTER_TOPIC,
};
use accord::events::{Backoff, EventPublisher, MemoryDedupe, SubscriberStats};
use accord::{Subscriber, SubscriberHandle};
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::contract::{
    event_message, handlers, probe_handler, probe_payload, route, ConformancePublisher,
    ConformanceSubscriber, Probe,
};
use crate::{eventually, expect_delivery, expect_quiet, within, Names, ARRIVE, QUIET};

fn quick_backoff() -> Backoff {
    Backoff {
        initial: Duration::from_millis(5),
        max: Duration::from_millis(20),
        multiplier: 2.0,
    }
}

fn count(stat: &std::sync::atomic::AtomicU64) -> u64 {
    stat.load(Ordering::Relaxed)
}

fn stats_text(stats: &SubscriberStats) -> String {
    format!(
        "handled {}, retried {}, dead-lettered {}, duplicates {}",
        count(&stats.handled),
        count(&stats.retried),
        count(&stats.dead_lettered),
        count(&stats.duplicates)
    )
}

async fn start(
    subscriber: Subscriber<impl ConsumeEvents>,
    handlers: accord::events::EventHandlers,
) -> SubscriberHandle {
    within(ARRIVE, "starting a subscriber", subscriber.start(handlers))
        .await
        .unwrap_or_else(|e| panic!("starting a subscriber: {e}"))
}

async fn stop(handle: SubscriberHandle) {
    within(ARRIVE * 2, "shutting a subscriber down", handle.shutdown()).await;
}

/// Publishing the same event (same `ce-id`) twice runs its handler once:
/// the broker drops the repeat (when it dedupes publishes) or the
/// subscriber skips it and counts one duplicate. Another event with the same
/// payload and its own id is not suppressed.
pub async fn dedupe_through_subscriber<B: Publish + ConsumeEvents>(broker: &B, prefix: &str) {
    let names = Names::new(prefix, "dedupe");
    let topic = names.topic("probe");
    let probe_route = route("probe", &topic);
    let calls = Arc::new(AtomicUsize::new(0));
    let handler = {
        let calls = calls.clone();
        probe_handler(move |_probe: Probe| {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok::<(), String>(())
            }
        })
    };
    let handle = start(
        Subscriber::new(broker.clone(), names.group("g"))
            .concurrency(4)
            .backoff(quick_backoff()),
        handlers(vec![(probe_route, handler)]),
    )
    .await;

    let payload = probe_payload(&Probe {
        run: names.run().to_owned(),
        n: 1,
    });
    let id = uuid::Uuid::new_v4().to_string();
    let message = event_message(&topic, &id, payload.clone());
    for _ in 0..2 {
        within(
            ARRIVE,
            "publishing an event",
            broker.publish(message.clone()),
        )
        .await
        .expect("publishing an event");
    }
    let other = event_message(&topic, &uuid::Uuid::new_v4().to_string(), payload);
    within(ARRIVE, "publishing an event", broker.publish(other))
        .await
        .expect("publishing an event");

    // A broker that drops a repeated event id at publish never delivers the
    // repeat; otherwise the subscriber's dedupe store must skip it.
    let repeats_delivered = !broker.capabilities().dedupes_publishes;
    let expected_duplicates = u64::from(repeats_delivered);
    let stats = handle.stats_handle();
    eventually("every delivery settled", || {
        count(&stats.handled) + count(&stats.duplicates) >= 2 + expected_duplicates
    })
    .await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the handler runs once per event id ({})",
        stats_text(&stats)
    );
    assert_eq!(count(&stats.handled), 2, "{}", stats_text(&stats));
    assert_eq!(
        count(&stats.duplicates),
        expected_duplicates,
        "{}",
        stats_text(&stats)
    );
    assert_eq!(count(&stats.dead_lettered), 0, "{}", stats_text(&stats));
    stop(handle).await;
}

/// A handler that always fails is called `max_attempts` times and its
/// event lands in the dead letters with a reason naming the failure and
/// the attempt count; a panicking handler likewise; an undecodable payload
/// goes to the dead letters after one attempt.
pub async fn subscriber_retries_then_dead_letters<B: Publish + ConsumeEvents>(
    broker: &B,
    prefix: &str,
) {
    const MAX_ATTEMPTS: u32 = 3;
    let names = Names::new(prefix, "dead-letters");
    let group = names.group("g");
    let (fail_topic, panic_topic, decode_topic) = (
        names.topic("fail"),
        names.topic("panic"),
        names.topic("decode"),
    );
    let (fail_route, panic_route, decode_route) = (
        route("always_fails", &fail_topic),
        route("always_panics", &panic_topic),
        route("strict", &decode_topic),
    );
    let calls: Arc<Mutex<BTreeMap<&'static str, u32>>> = Arc::default();
    let counter = |name: &'static str| {
        let calls = calls.clone();
        move || {
            let calls = calls.clone();
            move || *calls.lock().unwrap().entry(name).or_default() += 1
        }
    };
    let fail = {
        let count = counter("fail");
        probe_handler(move |_probe: Probe| {
            let count = count();
            async move {
                count();
                Err::<(), _>("disk on fire")
            }
        })
    };
    let panic = {
        let count = counter("panic");
        probe_handler(move |_probe: Probe| {
            let count = count();
            async move {
                count();
                if true {
                    panic!("conformance handler panic");
                }
                Ok::<(), String>(())
            }
        })
    };
    let strict = {
        let count = counter("decode");
        probe_handler(move |_probe: Probe| {
            let count = count();
            async move {
                count();
                Ok::<(), String>(())
            }
        })
    };
    let handle = start(
        Subscriber::new(broker.clone(), &group)
            .max_attempts(MAX_ATTEMPTS)
            .backoff(quick_backoff()),
        handlers(vec![
            (fail_route, fail),
            (panic_route, panic),
            (decode_route, strict),
        ]),
    )
    .await;

    let publisher = EventPublisher::new(broker.clone(), crate::contract::SERVICE);
    let probe = Probe {
        run: names.run().to_owned(),
        n: 7,
    };
    for route in [fail_route, panic_route] {
        within(
            ARRIVE,
            "publishing an event",
            publisher.publish(route, None, &probe),
        )
        .await
        .expect("publishing an event");
    }
    let undecodable = event_message(
        &decode_topic,
        &uuid::Uuid::new_v4().to_string(),
        Bytes::from_static(br#"{"run": 7}"#),
    );
    within(ARRIVE, "publishing an event", broker.publish(undecodable))
        .await
        .expect("publishing an event");

    let mut dead = within(
        ARRIVE,
        "opening the dead letters",
        broker.dead_letters(&group),
    )
    .await
    .unwrap_or_else(|e| panic!("opening the dead letters: {e}"));
    let mut letters = BTreeMap::new();
    for _ in 0..3 {
        let letter = expect_delivery(&mut dead, "the subscriber's dead letters").await;
        let message = letter.message().clone();
        within(ARRIVE, "acking a dead letter", letter.ack())
            .await
            .expect("acking a dead letter");
        let topic = message
            .header(DEAD_LETTER_TOPIC)
            .unwrap_or_else(|| panic!("a dead letter without its topic: {message:?}"))
            .to_owned();
        assert_eq!(message.header(DEAD_LETTER_GROUP), Some(group.as_str()));
        assert!(
            letters.insert(topic.clone(), message).is_none(),
            "the event on `{topic}` was dead-lettered twice"
        );
    }
    expect_quiet(&mut dead, "the dead letters after all three").await;

    let reason = |topic: &str| -> (String, String, String) {
        let message = letters
            .get(topic)
            .unwrap_or_else(|| panic!("the event on `{topic}` is not in the dead letters"));
        (
            message
                .header(DEAD_LETTER_REASON)
                .unwrap_or_default()
                .to_owned(),
            message
                .header(DEAD_LETTER_ATTEMPTS)
                .unwrap_or_default()
                .to_owned(),
            crate::text(message),
        )
    };
    let (why, attempts, body) = reason(&fail_topic);
    assert!(
        why.contains("disk on fire") && why.contains("attempt 3 of 3"),
        "the reason names the failure and the attempt count: {why:?}"
    );
    assert_eq!(attempts, "3");
    assert_eq!(
        body,
        String::from_utf8_lossy(&crate::contract::probe_payload(&probe))
    );
    let (why, attempts, _) = reason(&panic_topic);
    assert!(
        why.contains("panic")
            && why.contains("conformance handler panic")
            && why.contains("attempt 3 of 3"),
        "the reason names the panic and the attempt count: {why:?}"
    );
    assert_eq!(attempts, "3");
    let (why, attempts, body) = reason(&decode_topic);
    assert!(
        why.contains("undecodable"),
        "the reason says the payload is undecodable: {why:?}"
    );
    assert_eq!(attempts, "1", "an undecodable event is not retried");
    assert_eq!(body, r#"{"run": 7}"#);

    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.get("fail"), Some(&MAX_ATTEMPTS), "calls: {calls:?}");
    assert_eq!(calls.get("panic"), Some(&MAX_ATTEMPTS), "calls: {calls:?}");
    assert_eq!(calls.get("decode"), None, "calls: {calls:?}");
    let stats = handle.stats_handle();
    assert_eq!(count(&stats.dead_lettered), 3, "{}", stats_text(&stats));
    assert_eq!(
        count(&stats.retried),
        2 * u64::from(MAX_ATTEMPTS - 1),
        "{}",
        stats_text(&stats)
    );
    assert_eq!(count(&stats.handled), 0, "{}", stats_text(&stats));
    stop(handle).await;
}

/// Shutdown waits for a handler in flight to finish, and its event is not
/// delivered again; a handler still running after the shutdown grace is
/// abandoned and its event goes to the next member of the group, even one
/// sharing the first one's dedupe store.
pub async fn shutdown_draining<B: Publish + ConsumeEvents>(broker: &B, prefix: &str) {
    let names = Names::new(prefix, "shutdown");
    let topic = names.topic("probe");
    let probe_route = route("probe", &topic);
    let publisher = EventPublisher::new(broker.clone(), crate::contract::SERVICE);

    // Drained: the handler finishes during shutdown and its event is acked.
    let group = names.group("drained");
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let finished = Arc::new(AtomicUsize::new(0));
    let slow = {
        let finished = finished.clone();
        probe_handler(move |probe: Probe| {
            let started = started_tx.clone();
            let finished = finished.clone();
            async move {
                let _ = started.send(probe.n);
                tokio::time::sleep(Duration::from_millis(500)).await;
                finished.fetch_add(1, Ordering::SeqCst);
                Ok::<(), String>(())
            }
        })
    };
    let handle = start(
        Subscriber::new(broker.clone(), &group).shutdown_grace(ARRIVE),
        handlers(vec![(probe_route, slow)]),
    )
    .await;
    let probe = Probe {
        run: names.run().to_owned(),
        n: 1,
    };
    within(
        ARRIVE,
        "publishing an event",
        publisher.publish(probe_route, None, &probe),
    )
    .await
    .expect("publishing an event");
    within(ARRIVE, "the handler starting", started.recv()).await;
    let stats = handle.stats_handle();
    stop(handle).await;
    assert_eq!(
        finished.load(Ordering::SeqCst),
        1,
        "shutdown returned before the handler in flight finished"
    );
    assert_eq!(count(&stats.handled), 1, "{}", stats_text(&stats));

    let again = Arc::new(AtomicUsize::new(0));
    let next = {
        let again = again.clone();
        probe_handler(move |_probe: Probe| {
            let again = again.clone();
            async move {
                again.fetch_add(1, Ordering::SeqCst);
                Ok::<(), String>(())
            }
        })
    };
    let handle = start(
        Subscriber::new(broker.clone(), &group),
        handlers(vec![(probe_route, next)]),
    )
    .await;
    tokio::time::sleep(QUIET * 2).await;
    assert_eq!(
        again.load(Ordering::SeqCst),
        0,
        "an event handled during shutdown was delivered again"
    );
    stop(handle).await;

    // Abandoned: the handler outlives the grace; the event is released.
    let group = names.group("abandoned");
    let dedupe = Arc::new(MemoryDedupe::default());
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let stuck = probe_handler(move |probe: Probe| {
        let started = started_tx.clone();
        async move {
            let _ = started.send(probe.n);
            std::future::pending::<Result<(), String>>().await
        }
    });
    let handle = start(
        Subscriber::new(broker.clone(), &group)
            .shutdown_grace(Duration::from_millis(200))
            .dedupe(dedupe.clone()),
        handlers(vec![(probe_route, stuck)]),
    )
    .await;
    let probe = Probe {
        run: names.run().to_owned(),
        n: 2,
    };
    within(
        ARRIVE,
        "publishing an event",
        publisher.publish(probe_route, None, &probe),
    )
    .await
    .expect("publishing an event");
    within(ARRIVE, "the stuck handler starting", started.recv()).await;
    stop(handle).await;

    let (got_tx, mut got) = mpsc::unbounded_channel();
    let next = probe_handler(move |probe: Probe| {
        let got = got_tx.clone();
        async move {
            let _ = got.send(probe);
            Ok::<(), String>(())
        }
    });
    let handle = start(
        Subscriber::new(broker.clone(), &group)
            .backoff(quick_backoff())
            .dedupe(dedupe),
        handlers(vec![(probe_route, next)]),
    )
    .await;
    let received = within(
        ARRIVE,
        "the next member receiving the event abandoned at shutdown",
        got.recv(),
    )
    .await;
    assert_eq!(received, Some(probe));
    let stats = handle.stats_handle();
    eventually("the redelivered event acked", || count(&stats.handled) == 1).await;
    stop(handle).await;
}

/// The generated roles over a backend: `ConformancePublisher` publishes,
/// a `ConformanceSubscriber` run by a [`Subscriber`] handles each event once.
/// The contract's topic is fixed, so events of other runs are ignored.
pub async fn generated_contract_round_trip<B: Publish + ConsumeEvents>(broker: &B, prefix: &str) {
    const N: u64 = 5;
    struct Recorder {
        run: String,
        seen: mpsc::UnboundedSender<u64>,
    }
    impl ConformanceSubscriber for Recorder {
        async fn probe(&self, event: Probe) {
            if event.run == self.run {
                let _ = self.seen.send(event.n);
            }
        }
    }

    let names = Names::new(prefix, "generated");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let recorder = Recorder {
        run: names.run().to_owned(),
        seen: tx,
    };
    let handle = start(
        Subscriber::new(broker.clone(), names.group("g")),
        recorder.into_event_handlers(),
    )
    .await;
    let publisher = ConformancePublisher::new(broker.clone());
    let mut ids = Vec::new();
    for n in 0..N {
        let id = within(
            ARRIVE,
            "publishing through the generated publisher",
            publisher.probe(&Probe {
                run: names.run().to_owned(),
                n,
            }),
        )
        .await
        .unwrap_or_else(|e| panic!("publishing through the generated publisher: {e}"));
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), N as usize, "each publish has its own event id");
    let mut seen = Vec::new();
    for _ in 0..N {
        let n = within(ARRIVE, "the generated subscriber's handler", rx.recv())
            .await
            .expect("the handler is alive");
        seen.push(n);
    }
    tokio::time::sleep(QUIET).await;
    while let Ok(n) = rx.try_recv() {
        seen.push(n);
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..N).collect::<Vec<_>>(), "each event handled once");
    stop(handle).await;
}
