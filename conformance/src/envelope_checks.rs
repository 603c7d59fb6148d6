//! Checks of the CloudEvents envelope a subscriber accepts: an event whose
//! `ce-type` is not its topic's type, or whose `ce-time` is not an RFC 3339
//! timestamp, is dead-lettered once with a reason naming the header, and
//! the group's valid events are still handled.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use accord::broker::{ConsumeEvents, Delivery, Publish, DEAD_LETTER_REASON};
use accord::events::{envelope, EventPublisher};
use accord::Subscriber;

use crate::contract::{event_message, handlers, probe_handler, probe_payload, route, Probe};
use crate::limit_checks::{count, quick_backoff, start, stats_text};
use crate::{eventually, expect_delivery, expect_quiet_for, within, Names, ARRIVE, QUIET};

/// An event labelled with another type and one with a malformed `ce-time`
/// each end in one dead letter whose reason names the header; a valid event
/// published around them is handled.
pub async fn mislabelled_events_dead_lettered<B: Publish + ConsumeEvents>(
    broker: &B,
    prefix: &str,
) {
    let names = Names::new(prefix, "mislabelled");
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
        Subscriber::new(broker.clone(), &group).backoff(quick_backoff()),
        handlers(vec![(probe_route, handler)]),
    )
    .await;

    let bad = |n: u64, header: &str, value: &str| {
        let probe = Probe {
            run: names.run().to_owned(),
            n,
        };
        let id = uuid::Uuid::new_v4().to_string();
        let mut message = event_message(&topic, &id, probe_payload(&probe));
        message.headers.insert(header, value);
        (id, message)
    };
    let wrong_type = bad(1, envelope::TYPE, "payments.settled");
    let wrong_time = bad(2, envelope::TIME, "yesterday at noon");
    let expected: BTreeMap<String, &str> = [
        (wrong_type.0.clone(), "`ce-type`"),
        (wrong_time.0.clone(), "`ce-time`"),
    ]
    .into();

    let publisher = EventPublisher::new(broker.clone(), crate::contract::SERVICE);
    let valid = Probe {
        run: names.run().to_owned(),
        n: 0,
    };
    within(
        ARRIVE,
        "publishing a valid event",
        publisher.publish(probe_route, None, &valid),
    )
    .await
    .unwrap_or_else(|e| panic!("publishing a valid event: {e}"));
    for (what, (_, message)) in [("ce-type", wrong_type), ("ce-time", wrong_time)] {
        within(
            ARRIVE,
            "publishing a mislabelled event",
            broker.publish(message),
        )
        .await
        .unwrap_or_else(|e| panic!("publishing an event with a wrong {what}: {e}"));
    }

    let mut dead = within(
        ARRIVE,
        "opening the dead letters",
        broker.dead_letters(&group),
    )
    .await
    .unwrap_or_else(|e| panic!("opening the dead letters: {e}"));
    let mut reasons = BTreeMap::new();
    for _ in 0..expected.len() {
        let letter = expect_delivery(&mut dead, "a mislabelled event's dead letter").await;
        let message = letter.message().clone();
        within(ARRIVE, "acking a dead letter", letter.ack())
            .await
            .expect("acking a dead letter");
        let id = message.id().unwrap_or_default().to_owned();
        let reason = message
            .header(DEAD_LETTER_REASON)
            .unwrap_or_default()
            .to_owned();
        reasons.insert(id, reason);
    }
    let stats = handle.stats_handle();
    expect_quiet_for(
        &mut dead,
        QUIET,
        &format!(
            "the dead letters after both mislabelled events ({})",
            stats_text(&stats)
        ),
    )
    .await;
    for (id, header) in &expected {
        let reason = reasons.get(id).unwrap_or_else(|| {
            panic!("no dead letter for the event with the wrong {header}: {reasons:?}")
        });
        assert!(
            reason.contains("invalid envelope") && reason.contains(header),
            "the reason names the {header} header: {reason:?}"
        );
    }
    eventually("the valid event handled", || count(&stats.handled) == 1).await;
    assert_eq!(
        *seen.lock().unwrap(),
        vec![0],
        "only the valid event reaches the handler"
    );
    assert_eq!(count(&stats.dead_lettered), 2, "{}", stats_text(&stats));
    within(
        ARRIVE * 2,
        "shutting the subscriber down",
        handle.shutdown(),
    )
    .await;
}
