//! Bounds in messages and bytes, and how long a publish or a dead letter
//! waits for room.

use std::time::Duration;

use tokio::time::Instant;

use super::super::*;
use super::{join, msg, take, within, ARRIVE};
use crate::broker::Delivery;

#[tokio::test]
async fn messages_before_the_first_group_are_kept_for_it() {
    let broker = MemoryBroker::new();
    broker.publish(msg("t", "early")).await.unwrap();
    assert_eq!(broker.unclaimed_usage().messages, 1);
    let mut sub = join(&broker, "g", "t").await;
    assert_eq!(broker.unclaimed_usage(), Usage::default());
    let d = take(&mut sub).await;
    assert_eq!(&d.message().payload[..], b"early");
    d.ack().await.unwrap();
    assert_eq!(broker.pending("g"), 0);
}

#[tokio::test]
async fn a_claimed_backlog_keeps_publish_order_within_a_key() {
    let broker = MemoryBroker::new();
    let mut sub = join(&broker, "g", "a").await;
    broker
        .publish(msg("b", "first").with_key("k"))
        .await
        .unwrap();
    broker
        .publish(msg("a", "second").with_key("k"))
        .await
        .unwrap();
    // The group now also consumes `b`, and takes what was kept for it.
    let _also_b = broker
        .subscribe(SubscribeOptions::new("g", ["b"]))
        .await
        .unwrap();
    let first = take(&mut sub).await;
    assert_eq!(&first.message().payload[..], b"first");
    first.ack().await.unwrap();
    let second = take(&mut sub).await;
    assert_eq!(&second.message().payload[..], b"second");
}

#[tokio::test]
async fn a_full_group_makes_publishers_wait_until_there_is_room() {
    let broker = MemoryBroker::with_capacity(2);
    let mut sub = join(&broker, "g", "t").await;
    broker.publish(msg("t", "1")).await.unwrap();
    broker.publish(msg("t", "2")).await.unwrap();
    let third = tokio::spawn({
        let broker = broker.clone();
        async move { broker.publish(msg("t", "3")).await }
    });
    // Observed over a short window: the publish is still waiting.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!third.is_finished(), "the publish should wait for room");
    take(&mut sub).await.ack().await.unwrap();
    within(ARRIVE, "the waiting publish", third)
        .await
        .unwrap()
        .expect("the publish goes through once there is room");
    assert_eq!(broker.pending("g"), 2);
}

#[tokio::test]
async fn a_publish_to_a_full_group_fails_after_the_publish_wait_naming_it() {
    let wait = Duration::from_millis(200);
    let broker = MemoryBroker::builder()
        .max_messages(2)
        .publish_wait(wait)
        .build();
    let _idle = join(&broker, "slow", "t").await;
    broker.publish(msg("t", "1")).await.unwrap();
    broker.publish(msg("t", "2")).await.unwrap();
    let started = Instant::now();
    let error = within(
        ARRIVE,
        "a publish to a full group",
        broker.publish(msg("t", "3")),
    )
    .await
    .expect_err("the group stays full");
    assert!(started.elapsed() >= wait, "failed before the publish wait");
    let text = error.to_string();
    for part in [
        "group `slow`",
        "topic `t`",
        "is full",
        "2 messages (at most 2)",
        "200ms",
    ] {
        assert!(text.contains(part), "{text:?} should name {part:?}");
    }
    assert_eq!(broker.pending("slow"), 2, "nothing more was taken");
}

#[tokio::test]
async fn a_group_is_bounded_in_bytes() {
    let broker = MemoryBroker::builder()
        .max_bytes(1_000)
        .publish_wait(Duration::from_millis(100))
        .build();
    let mut sub = join(&broker, "g", "t").await;
    let body = "x".repeat(300);
    let size = message_size(&msg("t", &body));
    assert_eq!(size, 301);
    for _ in 0..3 {
        broker.publish(msg("t", &body)).await.unwrap();
    }
    let error = within(
        ARRIVE,
        "a publish past the byte bound",
        broker.publish(msg("t", &body)),
    )
    .await
    .expect_err("a fourth message does not fit in 1,000 bytes");
    assert!(
        error.to_string().contains("903 bytes (at most 1000)"),
        "{error}"
    );
    assert_eq!(
        broker.usage("g"),
        Usage {
            messages: 3,
            bytes: 903
        }
    );
    take(&mut sub).await.ack().await.unwrap();
    within(
        ARRIVE,
        "a publish once there is room",
        broker.publish(msg("t", &body)),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_message_larger_than_the_byte_bound_is_refused_at_once() {
    let broker = MemoryBroker::builder()
        .max_bytes(1_000)
        .unclaimed_max_bytes(500)
        .publish_wait(Duration::from_secs(60))
        .build();
    let body = "x".repeat(2_000);
    // No group yet: the backlog's bound applies.
    let error = within(
        ARRIVE,
        "an oversized publish",
        broker.publish(msg("t", &body)),
    )
    .await
    .expect_err("2,001 bytes never fit in 500");
    assert!(
        error.to_string().contains("2001 bytes") && error.to_string().contains("never"),
        "{error}"
    );
    let _sub = join(&broker, "g", "t").await;
    let error = within(
        ARRIVE,
        "an oversized publish",
        broker.publish(msg("t", &body)),
    )
    .await
    .expect_err("2,001 bytes never fit in 1,000");
    assert!(error.to_string().contains("1000 bytes"), "{error}");
    assert_eq!(broker.usage("g"), Usage::default());
}

#[tokio::test]
async fn a_publish_to_a_full_topic_nobody_consumes_fails_within_the_wait() {
    let wait = Duration::from_millis(300);
    let broker = MemoryBroker::builder()
        .unclaimed_max_messages(3)
        .publish_wait(wait)
        .build();
    for n in 0..3 {
        broker.publish(msg("orphan", &n.to_string())).await.unwrap();
    }
    let started = Instant::now();
    let error = within(
        ARRIVE,
        "a publish to a full unconsumed topic",
        broker.publish(msg("orphan", "3")),
    )
    .await
    .expect_err("the backlog is full");
    assert!(started.elapsed() >= wait);
    let text = error.to_string();
    assert!(
        text.contains("no group consumes topic `orphan`")
            && text.contains("3 messages (at most 3)"),
        "{text}"
    );
    // The bound is over all unconsumed topics together.
    within(
        ARRIVE,
        "a publish to another unconsumed topic",
        broker.publish(msg("other", "x")),
    )
    .await
    .expect_err("the backlog is shared");
    assert_eq!(broker.unclaimed_usage().messages, 3);
    // The first group takes the backlog, and publishes flow again.
    let _sub = join(&broker, "g", "orphan").await;
    within(
        ARRIVE,
        "a publish after the backlog was claimed",
        broker.publish(msg("orphan", "3")),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn the_unconsumed_backlog_is_bounded_in_bytes() {
    let broker = MemoryBroker::builder()
        .unclaimed_max_bytes(1_000)
        .publish_wait(Duration::from_millis(100))
        .build();
    let body = "x".repeat(400);
    broker.publish(msg("t", &body)).await.unwrap();
    broker.publish(msg("u", &body)).await.unwrap();
    within(
        ARRIVE,
        "a publish past the backlog's bytes",
        broker.publish(msg("t", &body)),
    )
    .await
    .expect_err("a third message does not fit");
    assert_eq!(broker.unclaimed_usage().bytes, 802);
}

#[tokio::test]
async fn a_waiting_publish_unblocks_when_the_first_group_claims_the_backlog() {
    let broker = MemoryBroker::builder()
        .unclaimed_max_messages(1)
        .max_messages(10)
        .build();
    broker.publish(msg("t", "kept")).await.unwrap();
    let waiting = tokio::spawn({
        let broker = broker.clone();
        async move { broker.publish(msg("t", "next")).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished());
    let _sub = join(&broker, "g", "t").await;
    within(ARRIVE, "the waiting publish", waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(broker.pending("g"), 2);
}

#[tokio::test]
async fn closing_fails_a_waiting_publish_at_once() {
    let broker = MemoryBroker::builder()
        .max_messages(1)
        .publish_wait(Duration::from_secs(60))
        .build();
    let _idle = join(&broker, "g", "t").await;
    broker.publish(msg("t", "1")).await.unwrap();
    let waiting = tokio::spawn({
        let broker = broker.clone();
        async move { broker.publish(msg("t", "2")).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    broker.close();
    let result = within(ARRIVE, "the waiting publish after close", waiting)
        .await
        .unwrap();
    assert_eq!(result, Err(BrokerError::Closed));
}

#[tokio::test]
async fn dead_letters_are_bounded_like_a_group() {
    let wait = Duration::from_millis(200);
    let broker = MemoryBroker::builder()
        .max_messages(10)
        .publish_wait(wait)
        .build();
    let mut sub = join(&broker, "g", "t").await;
    for n in 0..10 {
        broker.publish(msg("t", &n.to_string())).await.unwrap();
        take(&mut sub).await.dead_letter("no").await.unwrap();
    }
    assert_eq!(broker.dead_letter_usage("g").messages, 10);
    broker.publish(msg("t", "10")).await.unwrap();
    let started = Instant::now();
    let error = within(
        ARRIVE,
        "a dead letter to full dead letters",
        take(&mut sub).await.dead_letter("no"),
    )
    .await
    .expect_err("the dead letters are full");
    assert!(started.elapsed() >= wait);
    let text = error.to_string();
    assert!(
        text.contains("dead letters of group `g` are full")
            && text.contains("10 messages (at most 10)"),
        "{text}"
    );
    assert_eq!(broker.dead_letter_usage("g").messages, 10, "still bounded");
    // The message was not lost: it goes to the group again.
    let again = take(&mut sub).await;
    assert_eq!(&again.message().payload[..], b"10");
    assert_eq!(again.attempt(), 2);
    // Reading a dead letter makes room, and the next dead letter fits.
    let mut letters = broker.dead_letters("g").await.unwrap();
    take(&mut letters).await.ack().await.unwrap();
    within(
        ARRIVE,
        "a dead letter once there is room",
        again.dead_letter("no"),
    )
    .await
    .unwrap();
    assert_eq!(broker.dead_letter_usage("g").messages, 10);
    assert_eq!(broker.pending("g"), 0);
}

#[tokio::test]
async fn a_waiting_dead_letter_goes_through_once_there_is_room() {
    let broker = MemoryBroker::builder().max_messages(1).build();
    let mut sub = join(&broker, "g", "t").await;
    broker.publish(msg("t", "1")).await.unwrap();
    take(&mut sub).await.dead_letter("no").await.unwrap();
    broker.publish(msg("t", "2")).await.unwrap();
    let delivery = take(&mut sub).await;
    let waiting = tokio::spawn(delivery.dead_letter("no again"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished(), "the dead letter waits for room");
    let mut letters = broker.dead_letters("g").await.unwrap();
    take(&mut letters).await.ack().await.unwrap();
    within(ARRIVE, "the waiting dead letter", waiting)
        .await
        .unwrap()
        .unwrap();
    let letter = take(&mut letters).await;
    assert_eq!(&letter.message().payload[..], b"2");
    assert_eq!(
        letter.message().header(crate::broker::DEAD_LETTER_REASON),
        Some("no again")
    );
}

#[tokio::test]
async fn dead_letters_are_bounded_in_bytes() {
    let broker = MemoryBroker::builder()
        .max_bytes(100)
        .publish_wait(Duration::from_millis(100))
        .build();
    let mut sub = join(&broker, "g", "t").await;
    let body = "x".repeat(99);
    // A message that exactly fits its group can still be dead-lettered,
    // though its dead-letter headers make it larger than the bound...
    broker.publish(msg("t", &body)).await.unwrap();
    take(&mut sub).await.dead_letter("no").await.unwrap();
    let held = broker.dead_letter_usage("g");
    assert_eq!(held.messages, 1);
    assert!(held.bytes > 100, "{held:?}");
    // ...but only into empty dead letters: the next one waits, then fails.
    broker.publish(msg("t", &body)).await.unwrap();
    within(
        ARRIVE,
        "a dead letter past the byte bound",
        take(&mut sub).await.dead_letter("no"),
    )
    .await
    .expect_err("the dead letters are full");
    assert_eq!(broker.dead_letter_usage("g"), held);
}

#[tokio::test]
async fn a_dead_letter_after_the_ack_wait_ran_out_is_refused() {
    let broker = MemoryBroker::new();
    let options = SubscribeOptions::new("g", ["t"]).ack_wait(Duration::from_millis(50));
    let mut sub = broker.subscribe(options).await.unwrap();
    broker.publish(msg("t", "x")).await.unwrap();
    let first = take(&mut sub).await;
    let second = take(&mut sub).await;
    assert_eq!(second.attempt(), 2);
    let error = first.dead_letter("late").await.expect_err("stale");
    assert!(error.to_string().contains("ack wait ran out"), "{error}");
    assert_eq!(broker.dead_letter_usage("g").messages, 0);
    second.ack().await.unwrap();
    assert_eq!(broker.pending("g"), 0);
}
