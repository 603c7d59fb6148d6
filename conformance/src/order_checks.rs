//! The check of per-key order: several members, one killed mid-stream, and
//! a retried event.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::broker::{
    ConsumeEvents, Delivery, KeyOrder, Message, Publish, Retry, SubscribeOptions,
};
use tokio::sync::mpsc;

use crate::broker_checks::{join, publish};
use crate::{expect_forwarded_quiet, forward, text, Names, Task, ARRIVE};

/// How settled each message of a key was, in the order it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    Acked(usize),
    Retried(usize),
}

/// What the members saw, shared by their handlers.
#[derive(Default)]
struct Seen {
    /// Keys with a delivery being handled, and by which member.
    in_flight: Mutex<HashMap<String, usize>>,
    /// The most keys handled at once.
    most_at_once: AtomicUsize,
    /// Per key, how each delivery was settled, in order.
    settled: Mutex<BTreeMap<String, Vec<Settled>>>,
    /// Acks per member.
    acks: Mutex<BTreeMap<usize, usize>>,
    /// The attempt number the retried message came back with.
    retried_attempt: Mutex<Option<u32>>,
    retried: AtomicBool,
}

impl Seen {
    fn acked(&self) -> usize {
        self.acks.lock().unwrap().values().sum()
    }
}

/// Messages with the same key reach a group ordered by key one at a time,
/// in publish order, while different keys are handled in parallel:
/// checked with three members, the busiest of which dies mid-stream with
/// deliveries in hand (its keys move to the others) (they are never settled, as after a crash, and come
/// again after the ack wait, before anything later of their key), and one
/// message retried after a delay, which holds back the later messages of
/// its key until it is handled.
///
/// Run where the backend claims
/// [`per_key_order`](accord::broker::Capabilities::per_key_order) (the
/// `ordered` capability of [`for_each_check!`](crate::for_each_check)).
pub async fn per_key_order<B: Publish + ConsumeEvents>(broker: &B, prefix: &str) {
    assert!(
        broker.capabilities().per_key_order,
        "the backend is run with the `ordered` checks but does not claim per-key order"
    );
    const MEMBERS: usize = 3;
    // 60 messages: within the 64 of the tightly bounded memory broker.
    const PER_KEY: usize = 10;
    const KEYS: [&str; 6] = ["k0", "k1", "k2", "k3", "k4", "k5"];
    const RETRIED: (&str, usize) = ("k1", 7);
    const KILL_AFTER: usize = 20;
    const ACK_WAIT: Duration = Duration::from_secs(2);
    let names = Names::new(prefix, "per-key-order");
    let topic = names.topic("t");
    let options = SubscribeOptions::new(names.group("g"), [&topic])
        .max_in_flight(8)
        .ack_wait(ACK_WAIT)
        .key_order(KeyOrder::ByKey);

    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut members = Vec::new();
    for member in 0..MEMBERS {
        let sub = join(broker, options.clone()).await;
        members.push(Some(forward(member, sub, tx.clone())));
    }
    drop(tx);
    for i in 0..PER_KEY {
        for key in KEYS {
            publish(
                broker,
                Message::new(&topic, format!("{key}:{i}")).with_key(key),
            )
            .await;
        }
    }

    let seen = Arc::new(Seen::default());
    // The member killed mid-stream: the busiest one at the time, so that
    // its keys must move (`NONE` until then).
    const NONE: usize = usize::MAX;
    let killed = Arc::new(AtomicUsize::new(NONE));
    let mut acked_before_kill = 0;
    let total = KEYS.len() * PER_KEY;
    let mut handlers = Vec::new();
    let deadline = tokio::time::Instant::now() + ARRIVE * 3;
    while seen.acked() < total {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {total} keyed messages were handled within {:?}; settled so far: {:?}",
            seen.acked(),
            ARRIVE * 3,
            seen.settled.lock().unwrap()
        );
        if seen.acked() >= KILL_AFTER && killed.load(Ordering::SeqCst) == NONE {
            // The busiest member dies: its loop stops, and what it holds is
            // never settled.
            let acks = seen.acks.lock().unwrap().clone();
            let (victim, count) = acks
                .iter()
                .max_by_key(|(member, count)| (**count, std::cmp::Reverse(**member)))
                .map(|(member, count)| (*member, *count))
                .expect("some member acked");
            acked_before_kill = count;
            killed.store(victim, Ordering::SeqCst);
            members[victim] = None;
            // What it was handling is no longer handled: the broker delivers
            // it again.
            seen.in_flight
                .lock()
                .unwrap()
                .retain(|_, holder| *holder != victim);
            tracing::debug!("member {victim} killed after {count} acks");
        }
        let Ok(next) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await else {
            continue;
        };
        let (member, delivery) = next.expect("the members' subscriptions closed");
        if member == killed.load(Ordering::SeqCst) {
            std::mem::forget(delivery);
            continue;
        }
        let message = delivery.message();
        let key = message
            .key
            .clone()
            .unwrap_or_else(|| panic!("the key of {:?} was lost", text(message)));
        let body = text(message);
        let index: usize = body
            .split_once(':')
            .and_then(|(_, i)| i.parse().ok())
            .unwrap_or_else(|| panic!("unexpected payload {body:?}"));
        {
            let mut held = seen.in_flight.lock().unwrap();
            assert!(
                held.insert(key.clone(), member).is_none(),
                "{body:?} was delivered to member {member} while an earlier message with key \
                 {key} was still being handled"
            );
            seen.most_at_once.fetch_max(held.len(), Ordering::SeqCst);
        }
        let retry = (key.as_str(), index) == RETRIED && !seen.retried.swap(true, Ordering::SeqCst);
        if (key.as_str(), index) == RETRIED && !retry {
            *seen.retried_attempt.lock().unwrap() = Some(delivery.attempt());
        }
        let seen = seen.clone();
        let killed = killed.clone();
        handlers.push(Task::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if member == killed.load(Ordering::SeqCst) {
                // Died while handling it: the broker delivers it again
                // (its key left the in-flight set at the kill).
                std::mem::forget(delivery);
                return;
            }
            // Recorded before settling: the next message of the key may
            // arrive as soon as this one is settled.
            let outcome = if retry {
                Settled::Retried(index)
            } else {
                Settled::Acked(index)
            };
            seen.settled
                .lock()
                .unwrap()
                .entry(key.clone())
                .or_default()
                .push(outcome);
            {
                let mut held = seen.in_flight.lock().unwrap();
                if held.get(&key) == Some(&member) {
                    held.remove(&key);
                }
            }
            let result = if retry {
                delivery.retry(Duration::from_millis(300)).await
            } else {
                let result = delivery.ack().await;
                *seen.acks.lock().unwrap().entry(member).or_default() += 1;
                result
            };
            result.expect("settling a keyed delivery");
        }));
    }
    for mut handler in handlers {
        tokio::time::timeout(ARRIVE, &mut handler.0)
            .await
            .expect("settling the keyed deliveries: did not finish within ARRIVE")
            .expect("a handler panicked");
    }
    expect_forwarded_quiet(&mut rx, "the group after every keyed message").await;

    let settled = seen.settled.lock().unwrap().clone();
    for key in KEYS {
        let mut expected: Vec<Settled> = (0..PER_KEY).map(Settled::Acked).collect();
        if key == RETRIED.0 {
            expected.insert(RETRIED.1, Settled::Retried(RETRIED.1));
        }
        assert_eq!(
            settled.get(key),
            Some(&expected),
            "key {key}: how each message was settled, in the order handled; each must come \
             after the one published before it, the retried message again before later ones, \
             and a dead member's messages before anything later of their key"
        );
    }
    let attempt = seen.retried_attempt.lock().unwrap().unwrap_or(0);
    assert!(
        attempt >= 2,
        "the retried message came back as attempt {attempt}; it is at least the second"
    );
    let acks = seen.acks.lock().unwrap().clone();
    let victim = killed.load(Ordering::SeqCst);
    let by_others: usize = acks
        .iter()
        .filter(|(member, _)| **member != victim)
        .map(|(_, count)| count)
        .sum();
    assert!(
        acked_before_kill > 0 && by_others > 0,
        "member {victim} was killed after {acked_before_kill} acks; the other members should \
         have taken over its keys; acks per member: {acks:?}"
    );
    let most = seen.most_at_once.load(Ordering::SeqCst);
    assert!(
        most >= 2,
        "different keys should be handled in parallel, but at most {most} key was in flight at once"
    );
    drop(members);
}
