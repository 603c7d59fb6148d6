//! Checks of what a backend does with messages at and over its size
//! limits: an oversized or undecodable message is dead-lettered once, with
//! a short reason, and never makes the group loop on it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::broker::{
    ConsumeEvents, Delivery, Message, Publish, SubscribeOptions, DEAD_LETTER_ATTEMPTS,
    DEAD_LETTER_GROUP, DEAD_LETTER_REASON, MAX_REASON_BYTES,
};
use accord::events::{Backoff, EventPublisher, SubscriberStats};
use accord::{Subscriber, SubscriberHandle};
use bytes::Bytes;

use crate::contract::{event_message, handlers, probe_handler, route, Probe};
use crate::{eventually, expect_delivery, expect_quiet_for, within, Names, ARRIVE};

/// How long a check watches the dead letters for a second copy of a
/// message that was dead-lettered once: long enough for a group that loops
/// on the message to dead-letter it again many times over.
const NO_SECOND_LETTER: Duration = Duration::from_secs(2);

pub(crate) fn quick_backoff() -> Backoff {
    Backoff {
        initial: Duration::from_millis(5),
        max: Duration::from_millis(20),
        multiplier: 2.0,
    }
}

pub(crate) fn count(stat: &AtomicU64) -> u64 {
    stat.load(Ordering::Relaxed)
}

pub(crate) fn stats_text(stats: &SubscriberStats) -> String {
    format!(
        "handled {}, retried {}, dead-lettered {}, duplicates {}",
        count(&stats.handled),
        count(&stats.retried),
        count(&stats.dead_lettered),
        count(&stats.duplicates)
    )
}

pub(crate) async fn start(
    subscriber: Subscriber<impl ConsumeEvents>,
    handlers: accord::events::EventHandlers,
) -> SubscriberHandle {
    within(ARRIVE, "starting a subscriber", subscriber.start(handlers))
        .await
        .unwrap_or_else(|e| panic!("starting a subscriber: {e}"))
}

/// The payload of a [`Probe`] whose `n`, a number in the contract, is a
/// string of `size` bytes instead.
fn wrong_type_payload(run: &str, size: usize) -> Bytes {
    let mut payload = format!(r#"{{"run":"{run}","n":""#).into_bytes();
    payload.resize(payload.len() + size, b'a');
    payload.extend_from_slice(br#""}"#);
    Bytes::from(payload)
}

/// An event whose number field holds a 600 KB string is dead-lettered
/// once, with a reason that names the field and the mismatch in at most
/// [`MAX_REASON_BYTES`], while the group's other events are handled and
/// acked; see [`undecodable_event_dead_lettered_once`].
pub async fn huge_undecodable_event_dead_lettered_once<B: Publish + ConsumeEvents>(
    broker: &B,
    prefix: &str,
) {
    undecodable_event_dead_lettered_once(broker, prefix, 600 * 1024).await;
}

/// An event whose number field holds a string of `size` bytes cannot be
/// decoded. The subscriber dead-letters it exactly once: one dead letter
/// holding the payload unchanged, `dead_lettered` counting 1, and no second
/// letter however long one watches. The reason names the field path and
/// the kind of mismatch and is at most [`MAX_REASON_BYTES`] on one line; it
/// does not carry the payload. Valid events published around it are
/// handled once each, so the member keeps settling deliveries.
pub async fn undecodable_event_dead_lettered_once<B: Publish + ConsumeEvents>(
    broker: &B,
    prefix: &str,
    size: usize,
) {
    const VALID: u64 = 5;
    let names = Names::new(prefix, "huge-undecodable");
    let topic = names.topic("probe");
    let group = names.group("g");
    let probe_route = route("probe", &topic);
    let seen: Arc<Mutex<Vec<u64>>> = Arc::default();
    let handler = {
        let seen = seen.clone();
        probe_handler(move |probe: Probe| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(probe.n);
                Ok::<(), String>(())
            }
        })
    };
    let handle = start(
        Subscriber::new(broker.clone(), &group)
            .concurrency(4)
            .backoff(quick_backoff()),
        handlers(vec![(probe_route, handler)]),
    )
    .await;

    let publisher = EventPublisher::new(broker.clone(), crate::contract::SERVICE);
    let publish_valid = |n: u64| {
        let publisher = publisher.clone();
        let run = names.run().to_owned();
        async move {
            within(
                ARRIVE,
                "publishing a valid event",
                publisher.publish(probe_route, None, &Probe { run, n }),
            )
            .await
            .unwrap_or_else(|e| panic!("publishing a valid event: {e}"));
        }
    };
    publish_valid(0).await;
    let payload = wrong_type_payload(names.run(), size);
    let id = uuid::Uuid::new_v4().to_string();
    within(
        ARRIVE,
        "publishing the undecodable event",
        broker.publish(event_message(&topic, &id, payload.clone())),
    )
    .await
    .unwrap_or_else(|e| panic!("publishing an undecodable event of {size} bytes: {e}"));
    for n in 1..VALID {
        publish_valid(n).await;
    }

    let mut dead = within(
        ARRIVE,
        "opening the dead letters",
        broker.dead_letters(&group),
    )
    .await
    .unwrap_or_else(|e| panic!("opening the dead letters: {e}"));
    let letter = expect_delivery(&mut dead, "the undecodable event's dead letter").await;
    let message = letter.message().clone();
    within(ARRIVE, "acking the dead letter", letter.ack())
        .await
        .expect("acking the dead letter");
    let stats = handle.stats_handle();
    expect_quiet_for(
        &mut dead,
        NO_SECOND_LETTER,
        &format!(
            "the dead letters after the first copy of the undecodable event ({})",
            stats_text(&stats)
        ),
    )
    .await;

    assert_eq!(message.id(), Some(id.as_str()));
    assert_eq!(message.payload.len(), payload.len(), "the payload is kept");
    assert!(message.payload == payload, "the payload is kept unchanged");
    assert_eq!(message.header(DEAD_LETTER_GROUP), Some(group.as_str()));
    assert_eq!(message.header(DEAD_LETTER_ATTEMPTS), Some("1"));
    let reason = message.header(DEAD_LETTER_REASON).unwrap_or_default();
    assert!(
        reason.len() <= MAX_REASON_BYTES,
        "the reason is at most {MAX_REASON_BYTES} bytes, not {}: {:?}...",
        reason.len(),
        &reason[..reason.len().min(200)]
    );
    assert!(
        !reason.contains(&"a".repeat(MAX_REASON_BYTES / 2)),
        "the reason does not carry the payload: {reason:?}"
    );
    assert!(
        reason.contains("undecodable")
            && reason.contains('n')
            && reason.contains("invalid type")
            && reason.contains("u64"),
        "the reason names the field and the mismatch: {reason:?}"
    );
    assert!(!reason.contains(['\n', '\r']), "one line: {reason:?}");

    eventually("every valid event handled", || {
        count(&stats.handled) == VALID
    })
    .await;
    let mut handled = seen.lock().unwrap().clone();
    handled.sort_unstable();
    assert_eq!(
        handled,
        (0..VALID).collect::<Vec<_>>(),
        "each valid event once"
    );
    assert_eq!(count(&stats.dead_lettered), 1, "{}", stats_text(&stats));
    within(
        ARRIVE * 2,
        "shutting the subscriber down",
        handle.shutdown(),
    )
    .await;
}

/// A reason handed to [`Delivery::dead_letter`] by any caller is stored
/// capped: a 200 KB reason on several lines arrives as one line of at most
/// [`MAX_REASON_BYTES`] that keeps its beginning and says it was cut.
pub async fn dead_letter_reason_capped<B: Publish + ConsumeEvents>(broker: &B, prefix: &str) {
    let names = Names::new(prefix, "reason-capped");
    let topic = names.topic("t");
    let group = names.group("g");
    let mut sub = within(
        ARRIVE,
        "joining a group",
        broker.subscribe(SubscribeOptions::new(&group, [&topic])),
    )
    .await
    .unwrap_or_else(|e| panic!("joining a group: {e}"));
    within(
        ARRIVE,
        "publishing",
        broker.publish(Message::new(&topic, "poison")),
    )
    .await
    .unwrap_or_else(|e| panic!("publishing: {e}"));
    let delivery = expect_delivery(&mut sub, "the message").await;
    let reason = format!("first line\nsecond line\r\n{}", "x".repeat(200 * 1024));
    within(ARRIVE, "dead-lettering", delivery.dead_letter(&reason))
        .await
        .unwrap_or_else(|e| panic!("dead-lettering with a 200 KB reason: {e}"));
    let mut dead = within(
        ARRIVE,
        "opening the dead letters",
        broker.dead_letters(&group),
    )
    .await
    .unwrap_or_else(|e| panic!("opening the dead letters: {e}"));
    let letter = expect_delivery(&mut dead, "the dead letter").await;
    let stored = letter
        .message()
        .header(DEAD_LETTER_REASON)
        .unwrap_or_default()
        .to_owned();
    within(ARRIVE, "acking the dead letter", letter.ack())
        .await
        .expect("acking the dead letter");
    assert!(
        stored.len() <= MAX_REASON_BYTES,
        "the stored reason is {} bytes",
        stored.len()
    );
    assert!(
        stored.starts_with("first line second line"),
        "the reason keeps its beginning, on one line: {:?}",
        &stored[..stored.len().min(100)]
    );
    assert!(
        stored.contains("truncated"),
        "the reason says it was cut: {:?}",
        &stored[stored.len().saturating_sub(100)..]
    );
    expect_quiet_for(&mut sub, crate::QUIET, "the group after the dead letter").await;
}

/// A dead letter the broker refuses is tried again after a delay that
/// grows, never in a tight loop, and counted once, when it is stored.
///
/// Not every backend can be made to refuse a dead letter, so this check
/// takes the means from the caller: `refuse(group)` makes the broker refuse
/// the group's dead letters, `accept(group)` makes it take them again. The
/// subscriber dead-letters an undecodable event while they are refused,
/// keeps trying (each try shows in `attempts`, the delivery attempt of the
/// undecodable event), and stores it once they are accepted.
pub async fn refused_dead_letter_retried_with_backoff<B, R, RF, A, AF>(
    broker: &B,
    prefix: &str,
    refuse: R,
    accept: A,
) where
    B: Publish + ConsumeEvents,
    R: FnOnce(String) -> RF,
    RF: std::future::Future<Output = ()>,
    A: FnOnce(String) -> AF,
    AF: std::future::Future<Output = ()>,
{
    /// How long the dead letters are refused.
    const REFUSED_FOR: Duration = Duration::from_millis(2500);
    let names = Names::new(prefix, "dead-letter-refused");
    let topic = names.topic("probe");
    let group = names.group("g");
    let probe_route = route("probe", &topic);
    let tries = Arc::new(AtomicU64::new(0));
    let decoder = {
        // Counts the deliveries of the undecodable event: each decode of it
        // fails, and each is followed by a try to dead-letter it.
        let tries = tries.clone();
        let inner = probe_handler(|_probe: Probe| async { Ok::<(), String>(()) });
        Box::new(move |payload: Bytes| {
            tries.fetch_add(1, Ordering::SeqCst);
            inner(payload)
        }) as accord::events::EventHandler
    };
    let backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_secs(1),
        multiplier: 2.0,
    };
    let handle = start(
        Subscriber::new(broker.clone(), &group).backoff(backoff),
        handlers(vec![(probe_route, decoder)]),
    )
    .await;
    // Started, the subscriber has declared the group and where its dead
    // letters go; now they are made to be refused.
    refuse(group.clone()).await;
    let id = uuid::Uuid::new_v4().to_string();
    within(
        ARRIVE,
        "publishing the undecodable event",
        broker.publish(event_message(
            &topic,
            &id,
            Bytes::from_static(br#"{"run": 7}"#),
        )),
    )
    .await
    .unwrap_or_else(|e| panic!("publishing: {e}"));
    eventually("the first try to dead-letter", || {
        tries.load(Ordering::SeqCst) >= 1
    })
    .await;
    tokio::time::sleep(REFUSED_FOR).await;
    let refused_tries = tries.load(Ordering::SeqCst);
    let stats = handle.stats_handle();
    println!(
        "dead letters refused for {REFUSED_FOR:?}: {refused_tries} tries ({})",
        stats_text(&stats)
    );
    // 100 ms doubling to 1 s, each drawn from its upper half: at most 7
    // tries in 2.5 s; a tight loop makes hundreds.
    assert!(
        (2..=8).contains(&refused_tries),
        "tries while the dead letters were refused for {REFUSED_FOR:?}: {refused_tries} \
         ({})",
        stats_text(&stats)
    );
    assert_eq!(
        count(&stats.dead_lettered),
        0,
        "nothing counts as dead-lettered while the broker refuses ({})",
        stats_text(&stats)
    );
    accept(group.clone()).await;
    let mut dead = within(
        ARRIVE,
        "opening the dead letters",
        broker.dead_letters(&group),
    )
    .await
    .unwrap_or_else(|e| panic!("opening the dead letters: {e}"));
    let letter = expect_delivery(&mut dead, "the dead letter once accepted").await;
    assert_eq!(letter.message().id(), Some(id.as_str()));
    within(ARRIVE, "acking the dead letter", letter.ack())
        .await
        .expect("acking the dead letter");
    eventually("the dead letter counted", || {
        count(&stats.dead_lettered) == 1
    })
    .await;
    expect_quiet_for(
        &mut dead,
        NO_SECOND_LETTER,
        "the dead letters after the first",
    )
    .await;
    assert_eq!(count(&stats.dead_lettered), 1, "{}", stats_text(&stats));
    within(
        ARRIVE * 2,
        "shutting the subscriber down",
        handle.shutdown(),
    )
    .await;
}
