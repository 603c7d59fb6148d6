//! The memory broker's own tests: its bounds, its waits, and per-key order
//! at a cost that does not depend on the keys.

use std::time::Duration;

use tokio::time::{timeout, Instant};

use super::*;
use crate::broker::{Delivery, PendingRequest, Responder, Subscription};

fn msg(topic: &str, body: &str) -> Message {
    Message::new(topic, body.to_owned())
}

/// Fails the test, naming what hung, when `what` takes longer than `limit`.
async fn within<T>(limit: Duration, what: &str, fut: impl std::future::Future<Output = T>) -> T {
    timeout(limit, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {limit:?}"))
}

const ARRIVE: Duration = Duration::from_secs(5);

async fn join(broker: &MemoryBroker, group: &str, topic: &str) -> MemorySubscription {
    broker
        .subscribe(SubscribeOptions::new(group, [topic]).max_in_flight(1_000))
        .await
        .unwrap()
}

async fn take(sub: &mut MemorySubscription) -> MemoryDelivery {
    within(ARRIVE, "a delivery", sub.next())
        .await
        .expect("the subscription is open")
}

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

#[tokio::test]
async fn an_expired_delivery_goes_to_another_member_and_its_late_ack_is_ignored() {
    let broker = MemoryBroker::new();
    let options = SubscribeOptions::new("g", ["t"]).ack_wait(Duration::from_millis(50));
    let mut stuck = broker.subscribe(options.clone()).await.unwrap();
    let mut other = broker.subscribe(options).await.unwrap();
    broker.publish(msg("t", "x")).await.unwrap();
    let first = take(&mut stuck).await;
    let second = take(&mut other).await;
    assert_eq!(second.attempt(), 2);
    first.ack().await.unwrap();
    assert_eq!(
        broker.pending("g"),
        1,
        "the redelivered copy is still unsettled"
    );
    second.ack().await.unwrap();
    assert_eq!(broker.pending("g"), 0);
}

#[tokio::test]
async fn fan_out_and_redelivery_share_one_copy_of_the_message() {
    let broker = MemoryBroker::new();
    let mut a = join(&broker, "a", "t").await;
    let mut b = join(&broker, "b", "t").await;
    broker
        .publish(msg("t", "shared").with_header("h", "v").with_key("k"))
        .await
        .unwrap();
    let from_a = take(&mut a).await;
    let from_b = take(&mut b).await;
    assert!(std::ptr::eq(from_a.message(), from_b.message()));
    let first: *const Message = from_a.message();
    drop(from_a);
    let again = take(&mut a).await;
    assert_eq!(again.attempt(), 2);
    assert!(std::ptr::eq(again.message(), first));
}

/// The number `n` a test message carries in its payload.
fn number(delivery: &MemoryDelivery) -> u64 {
    std::str::from_utf8(&delivery.message().payload)
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_events_on_one_key_arrive_in_order_in_seconds() {
    const EVENTS: u64 = 100_000;
    let broker = MemoryBroker::builder()
        .max_messages(EVENTS as usize)
        .build();
    let mut sub = broker
        .subscribe(SubscribeOptions::new("g", ["t"]).max_in_flight(16))
        .await
        .unwrap();
    let started = Instant::now();
    for n in 0..EVENTS {
        broker
            .publish(msg("t", &n.to_string()).with_key("hot"))
            .await
            .unwrap();
    }
    let consume = async {
        let mut acks = tokio::task::JoinSet::new();
        for expected in 0..EVENTS {
            let delivery = sub.next().await.expect("open");
            assert_eq!(number(&delivery), expected, "out of order");
            // Settled elsewhere, so the next call finds the key busy.
            acks.spawn(delivery.ack());
            while acks.try_join_next().is_some() {}
        }
        while acks.join_next().await.is_some() {}
    };
    within(
        Duration::from_secs(30),
        "100,000 events on one key",
        consume,
    )
    .await;
    println!("100,000 events on one key in {:?}", started.elapsed());
    assert_eq!(broker.pending("g"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_key_order_holds_with_many_keys_retries_and_releases() {
    use std::collections::{HashMap, HashSet};
    use std::sync::Mutex as StdMutex;

    const KEYS: u64 = 64;
    const PER_KEY: u64 = 40;
    let broker = MemoryBroker::new();
    let options = SubscribeOptions::new("g", ["t"]).max_in_flight(8);
    let members = [
        broker.subscribe(options.clone()).await.unwrap(),
        broker.subscribe(options).await.unwrap(),
    ];
    for n in 0..KEYS * PER_KEY {
        let key = format!("k{}", n % KEYS);
        broker
            .publish(msg("t", &n.to_string()).with_key(key))
            .await
            .unwrap();
    }
    // Which keys have a message out, and each key's acked numbers in order.
    let busy = std::sync::Arc::new(StdMutex::new(HashSet::new()));
    let acked = std::sync::Arc::new(StdMutex::new(HashMap::<u64, Vec<u64>>::new()));
    let mut tasks = tokio::task::JoinSet::new();
    for (seed, mut member) in members.into_iter().enumerate() {
        let (busy, acked) = (busy.clone(), acked.clone());
        tasks.spawn(async move {
            let mut rng = fastrand::Rng::with_seed(seed as u64);
            let mut settles = tokio::task::JoinSet::new();
            loop {
                let done: usize = acked.lock().unwrap().values().map(Vec::len).sum();
                if done as u64 == KEYS * PER_KEY {
                    break;
                }
                let Ok(Some(delivery)) = timeout(Duration::from_millis(50), member.next()).await
                else {
                    continue;
                };
                let n = number(&delivery);
                let key = n % KEYS;
                assert!(
                    busy.lock().unwrap().insert(key),
                    "two messages of key {key} out at once"
                );
                let roll = rng.u8(0..100);
                let (busy, acked) = (busy.clone(), acked.clone());
                settles.spawn(async move {
                    tokio::time::sleep(Duration::from_micros(rng_delay(n))).await;
                    busy.lock().unwrap().remove(&key);
                    match roll {
                        0..15 => delivery.retry(Duration::from_millis(1)).await.unwrap(),
                        15..30 => drop(delivery),
                        _ => {
                            acked.lock().unwrap().entry(key).or_default().push(n);
                            delivery.ack().await.unwrap();
                        }
                    }
                });
                while settles.try_join_next().is_some() {}
            }
        });
    }
    within(Duration::from_secs(30), "every message acked", async {
        while let Some(result) = tasks.join_next().await {
            result.unwrap();
        }
    })
    .await;
    let acked = acked.lock().unwrap();
    for key in 0..KEYS {
        let expected: Vec<u64> = (0..PER_KEY).map(|i| i * KEYS + key).collect();
        assert_eq!(acked[&key], expected, "key {key} out of order");
    }
    assert_eq!(broker.pending("g"), 0);
}

/// A handler time of up to a millisecond, varied by message.
fn rng_delay(n: u64) -> u64 {
    (n * 7_919) % 1_000
}

#[tokio::test]
async fn a_request_whose_caller_gave_up_is_not_handed_to_the_responder() {
    let broker = MemoryBroker::new();
    let mut responder = broker.respond("r", "servers").await.unwrap();
    let error = broker
        .request(msg("r", "late"), Duration::from_millis(20))
        .await
        .expect_err("nobody answers in time");
    assert_eq!(error, BrokerError::Timeout(Duration::from_millis(20)));
    assert!(
        timeout(Duration::from_millis(100), responder.next())
            .await
            .is_err(),
        "the abandoned request is skipped"
    );
}

#[tokio::test]
async fn a_request_waits_for_room_in_a_full_responder_queue() {
    let broker = MemoryBroker::builder().responder_backlog(1).build();
    let mut responder = broker.respond("r", "servers").await.unwrap();
    let first = tokio::spawn({
        let broker = broker.clone();
        async move { broker.request(msg("r", "1"), ARRIVE).await }
    });
    let second = tokio::spawn({
        let broker = broker.clone();
        async move { broker.request(msg("r", "2"), ARRIVE).await }
    });
    for _ in 0..2 {
        let request = within(ARRIVE, "a request", responder.next()).await.unwrap();
        let body = request.message().payload.clone();
        request.reply(Message::new("reply", body)).await.unwrap();
    }
    let one = within(ARRIVE, "the first reply", first)
        .await
        .unwrap()
        .unwrap();
    let two = within(ARRIVE, "the second reply", second)
        .await
        .unwrap()
        .unwrap();
    let mut bodies = [one.payload, two.payload];
    bodies.sort();
    assert_eq!(&bodies[0][..], b"1");
    assert_eq!(&bodies[1][..], b"2");
}

/// Events per second through one subscriber that settles each delivery in
/// its own task, as the subscriber runtime does, with `keys` distinct keys.
async fn events_per_second(events: u64, keys: u64) -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};

    let broker = MemoryBroker::new();
    let mut sub = broker
        .subscribe(SubscribeOptions::new("g", ["t"]).max_in_flight(16))
        .await
        .unwrap();
    let acked = Arc::new(AtomicU64::new(0));
    let consumer = tokio::spawn({
        let acked = acked.clone();
        async move {
            let mut settles = tokio::task::JoinSet::new();
            for _ in 0..events {
                let delivery = sub.next().await.expect("open");
                let acked = acked.clone();
                settles.spawn(async move {
                    tokio::task::yield_now().await;
                    delivery.ack().await.unwrap();
                    acked.fetch_add(1, Ordering::Relaxed);
                });
                while settles.try_join_next().is_some() {}
            }
            while settles.join_next().await.is_some() {}
        }
    });
    let payload = bytes::Bytes::from(vec![b'x'; 200]);
    let started = Instant::now();
    for n in 0..events {
        let message = Message::new("t", payload.clone())
            .with_key(format!("k{}", n % keys))
            .with_header("ce-id", n.to_string());
        broker.publish(message).await.unwrap();
    }
    within(Duration::from_secs(120), "the measured events", consumer)
        .await
        .unwrap();
    assert_eq!(acked.load(Ordering::Relaxed), events);
    events as f64 / started.elapsed().as_secs_f64()
}

/// Run with `cargo test --release -p accord --lib measure -- --ignored
/// --nocapture`; `EVENTS` sets how many.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: run it in a release build"]
async fn measure_events_per_second_with_hot_and_spread_keys() {
    let events = std::env::var("EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    for (name, keys) in [("1,024 keys", 1_024), ("one key", 1)] {
        let rate = events_per_second(events, keys).await;
        println!("{name}: {events} events at {rate:.0} events/s");
    }
}
