//! Checks of the [`Broker`] model itself: groups, members, settling.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use accord::broker::{
    ConsumeEvents, Delivery, Message, Publish, Retry, SubscribeOptions, Subscription,
    DEAD_LETTER_ATTEMPTS, DEAD_LETTER_GROUP, DEAD_LETTER_REASON, DEAD_LETTER_TOPIC,
};
use tokio::sync::mpsc;

use crate::{
    expect_delivery, expect_forwarded, expect_forwarded_quiet, expect_quiet, expect_quiet_for,
    forward, text, within, Names, ARRIVE,
};

pub(crate) async fn publish<B: Publish + ConsumeEvents>(broker: &B, message: Message) {
    let what = format!("publishing {:?} on `{}`", text(&message), message.topic);
    within(ARRIVE, &what, broker.publish(message))
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
}

pub(crate) async fn join<B: Publish + ConsumeEvents>(
    broker: &B,
    options: SubscribeOptions,
) -> B::Subscription {
    let what = format!("subscribing group `{}`", options.group);
    within(ARRIVE, &what, broker.subscribe(options))
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

async fn settle<F: std::future::Future<Output = Result<(), accord::broker::BrokerError>>>(
    what: &str,
    settling: F,
) {
    within(ARRIVE, what, settling)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
}

/// Two groups on one topic each receive every message exactly once.
pub async fn fan_out_to_groups<B: Publish + ConsumeEvents>(broker: &B, prefix: &str) {
    const N: usize = 20;
    let names = Names::new(prefix, "fan-out");
    let topic = names.topic("t");
    let mut a = join(broker, SubscribeOptions::new(names.group("a"), [&topic])).await;
    let mut b = join(broker, SubscribeOptions::new(names.group("b"), [&topic])).await;
    for i in 0..N {
        publish(broker, Message::new(&topic, format!("m{i}"))).await;
    }
    for (group, sub) in [("a", &mut a), ("b", &mut b)] {
        let mut seen = BTreeMap::<String, u32>::new();
        for _ in 0..N {
            let delivery = expect_delivery(sub, &format!("group {group}")).await;
            *seen.entry(text(delivery.message())).or_default() += 1;
            settle("ack", delivery.ack()).await;
        }
        expect_quiet(sub, &format!("group {group} after all {N} messages")).await;
        for i in 0..N {
            let count = seen.get(&format!("m{i}")).copied().unwrap_or(0);
            assert_eq!(
                count, 1,
                "group {group} received m{i} {count} times; every group receives every message once (got {seen:?})"
            );
        }
    }
}

/// Two members of one group split the messages: each message is handled by
/// exactly one member, and while one member holds as many deliveries as it
/// may (`max_in_flight`), the next message goes to the other.
pub async fn competition_within_group<B: Publish + ConsumeEvents>(broker: &B, prefix: &str) {
    const N: usize = 40;
    let names = Names::new(prefix, "competition");
    let topic = names.topic("t");
    let options = SubscribeOptions::new(names.group("g"), [&topic]).max_in_flight(1);
    let first = join(broker, options.clone()).await;
    let second = join(broker, options).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _members = [forward(0, first, tx.clone()), forward(1, second, tx)];
    for i in 0..N {
        publish(broker, Message::new(&topic, format!("m{i}"))).await;
    }
    let mut by_member = [BTreeSet::new(), BTreeSet::new()];
    let mut seen = BTreeMap::<String, u32>::new();
    let mut record = |member: usize, message: &Message| {
        let body = text(message);
        *seen.entry(body.clone()).or_default() += 1;
        by_member[member].insert(body);
    };
    // The first delivery is held unsettled: its member is full, so the next
    // one must come to the other member, however the members' tasks happen
    // to be scheduled.
    let (busy, held) = expect_forwarded(&mut rx, "the group's members").await;
    record(busy, held.message());
    let (other, next) = expect_forwarded(
        &mut rx,
        "the other member, while the first holds as many deliveries as it may",
    )
    .await;
    assert_ne!(
        busy, other,
        "a member holding max_in_flight(1) deliveries got another one"
    );
    record(other, next.message());
    settle("ack", held.ack()).await;
    settle("ack", next.ack()).await;
    for _ in 2..N {
        let (member, delivery) = expect_forwarded(&mut rx, "the group's members").await;
        record(member, delivery.message());
        settle("ack", delivery.ack()).await;
    }
    expect_forwarded_quiet(&mut rx, "the group after all messages").await;
    for i in 0..N {
        let count = seen.get(&format!("m{i}")).copied().unwrap_or(0);
        assert_eq!(
            count, 1,
            "m{i} was handled {count} times in one group; the members of a group share messages"
        );
    }
}

/// A delivery settled with `retry(delay)` comes again with attempt 2, not
/// before the delay, with the same payload and headers.
pub async fn redelivery_after_retry<B: Publish + ConsumeEvents>(broker: &B, prefix: &str) {
    const DELAY: Duration = Duration::from_secs(1);
    let names = Names::new(prefix, "retry");
    let topic = names.topic("t");
    let mut sub = join(broker, SubscribeOptions::new(names.group("g"), [&topic])).await;
    publish(
        broker,
        Message::new(&topic, "again")
            .with_header("x-conformance-a", "1")
            .with_header("x-conformance-b", "two words"),
    )
    .await;
    let first = expect_delivery(&mut sub, "the message").await;
    assert_eq!(first.attempt(), 1, "a first delivery is attempt 1");
    let original = first.message().clone();
    settle("retry", first.retry(DELAY)).await;
    expect_quiet_for(
        &mut sub,
        DELAY / 2,
        "a message retried after 1 s came back early",
    )
    .await;
    let second = expect_delivery(&mut sub, "the retried message").await;
    assert_eq!(second.attempt(), 2, "a retried message comes as attempt 2");
    let again = second.message();
    assert_eq!(again.topic, original.topic, "the topic survives a retry");
    assert_eq!(
        again.payload, original.payload,
        "the payload survives a retry"
    );
    for (name, value) in &original.headers {
        assert_eq!(
            again.header(name),
            Some(value),
            "header `{name}` survives a retry"
        );
    }
    settle("ack", second.ack()).await;
    expect_quiet(&mut sub, "an acked message").await;
}

/// A delivery dropped without being settled is delivered again, as
/// attempt 2, to the same or another member.
pub async fn redelivery_after_release<B: Publish + ConsumeEvents>(broker: &B, prefix: &str) {
    let names = Names::new(prefix, "release");
    let topic = names.topic("t");
    let options = SubscribeOptions::new(names.group("g"), [&topic])
        .max_in_flight(1)
        .ack_wait(Duration::from_secs(60));
    let first = join(broker, options.clone()).await;
    let second = join(broker, options).await;
    // Either member may take it: each pulls on its own.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _members = [forward(0, first, tx.clone()), forward(1, second, tx)];
    publish(broker, Message::new(&topic, "dropped")).await;
    let (_, delivery) = expect_forwarded(&mut rx, "the message").await;
    assert_eq!(delivery.attempt(), 1);
    drop(delivery);
    let (_, again) = expect_forwarded(
        &mut rx,
        "a delivery dropped unsettled (well before the ack wait)",
    )
    .await;
    assert_eq!(text(again.message()), "dropped");
    assert_eq!(again.attempt(), 2, "a released message comes as attempt 2");
    settle("ack", again.ack()).await;
    expect_forwarded_quiet(&mut rx, "an acked message").await;
}

/// A delivery held unsettled past the ack wait is delivered to another
/// member.
pub async fn redelivery_after_ack_wait<B: Publish + ConsumeEvents>(broker: &B, prefix: &str) {
    let names = Names::new(prefix, "ack-wait");
    let topic = names.topic("t");
    let options = SubscribeOptions::new(names.group("g"), [&topic])
        .max_in_flight(1)
        .ack_wait(Duration::from_secs(1));
    let first = join(broker, options.clone()).await;
    let second = join(broker, options).await;
    // Either member may take it first: each pulls on its own.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _members = [forward(0, first, tx.clone()), forward(1, second, tx)];
    publish(broker, Message::new(&topic, "held")).await;
    let (stuck, held) = expect_forwarded(&mut rx, "the message").await;
    assert_eq!(held.attempt(), 1);
    let (other, again) = expect_forwarded(
        &mut rx,
        "another member, once the first held the message past its ack wait",
    )
    .await;
    assert_ne!(
        stuck, other,
        "the member holding the expired delivery (max_in_flight(1)) got it again"
    );
    assert_eq!(text(again.message()), "held");
    assert_eq!(
        again.attempt(),
        2,
        "a message redelivered after the ack wait comes as attempt 2"
    );
    settle("ack", again.ack()).await;
    // The late ack of the expired delivery may succeed or fail; either way
    // the message stays handled.
    let _ = within(ARRIVE, "a late ack", held.ack()).await;
    expect_forwarded_quiet(&mut rx, "the members after the message was acked").await;
}

/// `dead_letter(reason)` moves a message to the group's dead letters with
/// the reason, attempts, topic and group headers and the original payload;
/// the group does not get it again. Dead letters are kept until read.
pub async fn dead_letter_after_last_attempt<B: Publish + ConsumeEvents>(broker: &B, prefix: &str) {
    let names = Names::new(prefix, "dead-letter");
    let topic = names.topic("t");
    let group = names.group("g");
    let mut sub = join(broker, SubscribeOptions::new(&group, [&topic])).await;
    publish(
        broker,
        Message::new(&topic, "poison").with_header("x-conformance", "kept"),
    )
    .await;
    publish(broker, Message::new(&topic, "second")).await;

    // "poison": retried once, then given up on before anyone reads the
    // dead letters.
    let mut second = None;
    let mut poison_attempts = 0;
    while poison_attempts < 2 {
        let delivery = expect_delivery(&mut sub, "the messages").await;
        if text(delivery.message()) == "second" {
            second = Some(delivery);
            continue;
        }
        poison_attempts += 1;
        assert_eq!(delivery.attempt(), poison_attempts);
        if poison_attempts == 1 {
            settle("retry", delivery.retry(Duration::from_millis(50))).await;
        } else {
            settle("dead_letter", delivery.dead_letter("gave up: boom")).await;
        }
    }
    let mut dead = within(
        ARRIVE,
        "opening the dead letters",
        broker.dead_letters(&group),
    )
    .await
    .unwrap_or_else(|e| panic!("opening the dead letters: {e}"));
    let letter = expect_delivery(&mut dead, "the dead letter kept until read").await;
    let message = letter.message();
    assert_eq!(text(message), "poison", "a dead letter keeps the payload");
    assert_eq!(message.header("x-conformance"), Some("kept"));
    assert_eq!(message.header(DEAD_LETTER_REASON), Some("gave up: boom"));
    assert_eq!(message.header(DEAD_LETTER_ATTEMPTS), Some("2"));
    assert_eq!(message.header(DEAD_LETTER_TOPIC), Some(topic.as_str()));
    assert_eq!(message.header(DEAD_LETTER_GROUP), Some(group.as_str()));
    settle("ack a dead letter", letter.ack()).await;

    // "second": dead-lettered at once while the dead letters are read.
    let second = match second {
        Some(delivery) => delivery,
        None => expect_delivery(&mut sub, "the second message").await,
    };
    assert_eq!(text(second.message()), "second");
    settle("dead_letter", second.dead_letter("no handler")).await;
    let letter = expect_delivery(&mut dead, "a dead letter while reading them").await;
    assert_eq!(text(letter.message()), "second");
    assert_eq!(
        letter.message().header(DEAD_LETTER_REASON),
        Some("no handler")
    );
    assert_eq!(letter.message().header(DEAD_LETTER_ATTEMPTS), Some("1"));
    settle("ack a dead letter", letter.ack()).await;

    expect_quiet(&mut sub, "the group after dead-lettering its messages").await;
    expect_quiet(&mut dead, "the dead letters after reading them").await;
}

/// A member that took deliveries and is dropped (its subscription and its
/// deliveries, unsettled) loses nothing: another member gets them all.
///
/// Messages are published in batches of 20 until the first member holds
/// five of them: which member a message reaches is the backend's choice
/// (Kafka's producer sends keyless records to one partition for a while,
/// so one batch may reach the other member only).
pub async fn no_loss_when_member_dropped_mid_handler<B: Publish + ConsumeEvents>(
    broker: &B,
    prefix: &str,
) {
    const BATCH: usize = 20;
    const MOST: usize = 10 * BATCH;
    const TAKEN: usize = 5;
    let names = Names::new(prefix, "member-dropped");
    let topic = names.topic("t");
    let options =
        SubscribeOptions::new(names.group("g"), [&topic]).ack_wait(Duration::from_secs(60));
    let mut lost = join(broker, options.clone().max_in_flight(TAKEN)).await;
    let mut survivor = join(broker, options.max_in_flight(MOST)).await;
    let mut taken = Vec::new();
    let mut published = 0;
    while taken.len() < TAKEN {
        assert!(
            published < MOST,
            "the first member took {} of {published} messages published to its group of two",
            taken.len()
        );
        for i in published..published + BATCH {
            publish(broker, Message::new(&topic, format!("m{i}"))).await;
        }
        published += BATCH;
        // What reaches the first member of this batch, up to TAKEN: the
        // first within 3 s, each next within 1 s of the one before.
        let mut wait = Duration::from_secs(3);
        while taken.len() < TAKEN {
            match tokio::time::timeout(wait, lost.next()).await {
                Ok(Some(delivery)) => taken.push(delivery),
                Ok(None) => panic!("the first member's subscription closed"),
                Err(_) => break,
            }
            wait = Duration::from_secs(1);
        }
    }
    let n = published;
    let taken_bodies: BTreeSet<String> = taken.iter().map(|d| text(d.message())).collect();
    drop(lost);
    drop(taken);

    let mut seen = BTreeMap::<String, u32>::new();
    while seen.len() < n {
        let delivery = expect_delivery(
            &mut survivor,
            &format!(
                "the surviving member, with {} of {n} messages so far",
                seen.len()
            ),
        )
        .await;
        let body = text(delivery.message());
        if taken_bodies.contains(&body) {
            assert!(
                delivery.attempt() >= 2,
                "{body:?} was taken by the dropped member; its redelivery is attempt 2 or later"
            );
        }
        *seen.entry(body).or_default() += 1;
        settle("ack", delivery.ack()).await;
    }
    expect_quiet(&mut survivor, "the surviving member after every message").await;
    let twice: Vec<_> = seen.iter().filter(|(_, count)| **count > 1).collect();
    assert!(
        twice.is_empty(),
        "messages delivered again after being acked: {twice:?}"
    );
}
