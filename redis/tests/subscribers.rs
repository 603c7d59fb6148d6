//! Members of one group, each in effect its own process with its own
//! `RedisDedupe` on the same Redis, handle an event published twice once;
//! with a per-process memory store they handle it twice. A member started
//! later (a restart) skips what the group handled, and a failed attempt
//! releases its claim so the retry is handled.

mod support;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::events::{Backoff, DedupeStore, MemoryDedupe};
use accord::{MemoryBroker, Publish, Subscriber, SubscriberHandle};
use support::{event_with_id, handlers, wait_until, within, TestPrefix};

const TOPIC: &str = "dedupe.orders";
const GROUP: &str = "inventory";

/// What the members of one test did, by event name: how often each was
/// attempted and how often handled.
#[derive(Default)]
struct Record {
    attempts: Mutex<HashMap<String, u32>>,
    handled: Mutex<HashMap<String, u32>>,
}

type Handled = Arc<Record>;

fn count(handled: &Handled, name: &str) -> u32 {
    handled
        .handled
        .lock()
        .unwrap()
        .get(name)
        .copied()
        .unwrap_or(0)
}

fn show(handled: &Handled) -> String {
    format!("handled {:?}", handled.handled.lock().unwrap())
}

/// A member of `GROUP` on `broker` with `store`: one handler at a time,
/// each taking `work`; the first attempt at an event named `fail-*`, on
/// whichever member, fails.
async fn member(
    broker: &MemoryBroker,
    store: Arc<dyn DedupeStore>,
    handled: Handled,
    work: Duration,
) -> SubscriberHandle {
    let handle = move |name: String| {
        let handled = handled.clone();
        async move {
            let attempt = {
                let mut attempts = handled.attempts.lock().unwrap();
                let n = attempts.entry(name.clone()).or_default();
                *n += 1;
                *n
            };
            tokio::time::sleep(work).await;
            if name.starts_with("fail-") && attempt == 1 {
                return Err(format!("{name}: first attempt fails"));
            }
            *handled.handled.lock().unwrap().entry(name).or_default() += 1;
            Ok(())
        }
    };
    let backoff = Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
        multiplier: 2.0,
    };
    within(
        "a member joining the group",
        Subscriber::new(broker.clone(), GROUP)
            .concurrency(1)
            .backoff(backoff)
            .dedupe(store)
            .start(handlers(TOPIC, handle)),
    )
    .await
    .expect("a member starts")
}

/// Publishes `copies` copies of each event in `names`, with one id per
/// name; the copies of one event back to back.
async fn publish_copies(broker: &MemoryBroker, names: &[String], copies: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for name in names {
        let id = accord::events::envelope::new_id();
        for _ in 0..copies {
            within("a publish", broker.publish(event_with_id(TOPIC, name, &id)))
                .await
                .expect("published");
        }
        ids.push(id);
    }
    ids
}

async fn stop(members: Vec<SubscriberHandle>) -> (u64, u64) {
    let (mut handled, mut duplicates) = (0, 0);
    for member in members {
        // Read once the member has shut down: a handler that has returned
        // is counted only when its delivery is settled.
        let stats = member.stats_handle();
        within("a member shutting down", member.shutdown()).await;
        handled += stats.handled.load(Ordering::SeqCst);
        duplicates += stats.duplicates.load(Ordering::SeqCst);
    }
    (handled, duplicates)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_handle_an_event_published_twice_once() {
    let Some(prefix) = TestPrefix::new("members").await else {
        return;
    };
    const EVENTS: usize = 20;
    let broker = MemoryBroker::new();
    let handled = Handled::default();
    // Each handler takes long enough that the second copy of an event,
    // published right after the first, reaches the other member while
    // the first is still being handled.
    let work = Duration::from_millis(100);
    let members = vec![
        member(&broker, Arc::new(prefix.store()), handled.clone(), work).await,
        member(&broker, Arc::new(prefix.store()), handled.clone(), work).await,
    ];
    let names: Vec<String> = (0..EVENTS).map(|n| format!("ev-{n}")).collect();
    publish_copies(&broker, &names, 2).await;
    let duplicates = || -> u64 {
        members
            .iter()
            .map(|m| m.stats().duplicates.load(Ordering::SeqCst))
            .sum()
    };
    wait_until(
        "every copy settled",
        || names.iter().all(|n| count(&handled, n) >= 1) && duplicates() == EVENTS as u64,
        || format!("{}, duplicates {}", show(&handled), duplicates()),
    )
    .await;
    let (total, skipped) = stop(members).await;
    for name in &names {
        assert_eq!(count(&handled, name), 1, "{name} handled once");
    }
    assert_eq!(total, EVENTS as u64);
    assert_eq!(skipped, EVENTS as u64, "each second copy skipped");
    assert_eq!(prefix.keys().len(), EVENTS, "one key per event");
}

/// The same two members, each with the default per-process store: the
/// second copy reaches the other member, which has no record of the first.
/// This is the duplicate a shared store exists to prevent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_store_per_process_the_same_members_handle_it_twice() {
    let broker = MemoryBroker::new();
    let handled = Handled::default();
    let work = Duration::from_millis(100);
    let members = vec![
        member(
            &broker,
            Arc::new(MemoryDedupe::default()),
            handled.clone(),
            work,
        )
        .await,
        member(
            &broker,
            Arc::new(MemoryDedupe::default()),
            handled.clone(),
            work,
        )
        .await,
    ];
    let names = vec!["twice".to_owned()];
    publish_copies(&broker, &names, 2).await;
    wait_until(
        "both copies handled",
        || count(&handled, "twice") == 2,
        || show(&handled),
    )
    .await;
    stop(members).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_started_later_skips_what_the_group_handled() {
    let Some(prefix) = TestPrefix::new("later").await else {
        return;
    };
    let broker = MemoryBroker::new();
    let handled = Handled::default();
    let work = Duration::from_millis(1);
    let first = member(&broker, Arc::new(prefix.store()), handled.clone(), work).await;
    let names = vec!["once".to_owned()];
    let ids = publish_copies(&broker, &names, 1).await;
    wait_until(
        "the event handled",
        || count(&handled, "once") == 1,
        || show(&handled),
    )
    .await;
    stop(vec![first]).await;

    // The process restarts: a new store, a new member; the publisher sends
    // the event again (its confirm was lost, say).
    let restarted = member(&broker, Arc::new(prefix.store()), handled.clone(), work).await;
    within(
        "a publish",
        broker.publish(event_with_id(TOPIC, "once", &ids[0])),
    )
    .await
    .expect("published");
    wait_until(
        "the copy skipped",
        || restarted.stats().duplicates.load(Ordering::SeqCst) == 1,
        || show(&handled),
    )
    .await;
    let (total, _) = stop(vec![restarted]).await;
    assert_eq!(total, 0, "the restarted member handled nothing");
    assert_eq!(count(&handled, "once"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_attempt_releases_its_claim_and_the_retry_is_handled() {
    let Some(prefix) = TestPrefix::new("retry").await else {
        return;
    };
    let broker = MemoryBroker::new();
    let handled = Handled::default();
    let work = Duration::from_millis(1);
    let members = vec![
        member(&broker, Arc::new(prefix.store()), handled.clone(), work).await,
        member(&broker, Arc::new(prefix.store()), handled.clone(), work).await,
    ];
    let names: Vec<String> = (0..5).map(|n| format!("fail-{n}")).collect();
    publish_copies(&broker, &names, 1).await;
    let handled_all = || names.iter().all(|n| count(&handled, n) == 1);
    wait_until(
        "every event handled on its second attempt",
        handled_all,
        || show(&handled),
    )
    .await;
    let stats: Vec<_> = members.iter().map(|m| m.stats_handle()).collect();
    let (total, skipped) = stop(members).await;
    let retried: u64 = stats.iter().map(|s| s.retried.load(Ordering::SeqCst)).sum();
    assert_eq!(total, 5);
    assert_eq!(skipped, 0, "a retry is not a duplicate");
    assert_eq!(retried, 5, "each failed once");
    let done = prefix
        .keys()
        .into_iter()
        .filter(|(_, v)| v.as_deref() == Some(accord_redis::DONE))
        .count();
    assert_eq!(done, 5, "each event recorded as handled");
}
