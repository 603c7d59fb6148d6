//! With Redis unreachable, a store answers within its timeouts: `begin`
//! says [`Begin::InProgress`] (the event is delivered again later, never
//! handled without the check), `complete` and `abort` carry on. A member
//! whose Redis is down handles nothing and keeps the event. A store whose
//! Redis stopped answering mid-life connects again by itself once it is
//! back.

mod support;

use std::net::{Ipv4Addr, TcpListener as StdListener};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use accord::events::{Begin, DedupeStore};
use accord::{MemoryBroker, Publish, Subscriber};
use accord_redis::{RedisDedupe, RedisDedupeError, RedisDedupeOptions};
use support::proxy::Proxy;
use support::{event_with_id, handlers, redis_url, within, TestPrefix, DEADLINE};
use tokio::net::TcpListener;
use tokio::time::Instant;

fn options() -> RedisDedupeOptions {
    RedisDedupeOptions::new()
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = StdListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// Checks every store call on `store` answers within its bound, `begin`
/// with `InProgress`.
async fn every_call_answers_in_time(store: &RedisDedupe) {
    let bound = store.options().call_timeout() + Duration::from_millis(500);
    for round in 0..3 {
        let started = Instant::now();
        assert_eq!(
            within("begin against an unreachable Redis", store.begin("g", "e")).await,
            Begin::InProgress,
            "round {round}"
        );
        within("complete", store.complete("g", "e")).await;
        within("abort", store.abort("g", "e")).await;
        let took = started.elapsed();
        assert!(
            took <= bound * 3,
            "round {round}: three calls took {took:?}, more than three times {bound:?}"
        );
    }
}

#[tokio::test]
async fn a_closed_port_makes_every_call_answer_within_its_bound() {
    let url = format!("redis://127.0.0.1:{}", closed_port());
    let store = RedisDedupe::with_options(&url, options()).unwrap();
    every_call_answers_in_time(&store).await;
    let error = within("a ping", store.ping()).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains(&url), "the error names the address: {text}");
    assert!(
        matches!(
            error,
            RedisDedupeError::Backoff { .. } | RedisDedupeError::Redis { .. }
        ),
        "{error:?}"
    );
    let refused = within("connect", RedisDedupe::connect(&url, options())).await;
    assert!(refused.is_err(), "connect checks that Redis answers");
}

#[tokio::test]
async fn a_server_that_never_answers_makes_begin_answer_within_the_timeouts() {
    // Accepts connections and holds them, reading nothing and saying
    // nothing: a Redis stuck, or a black hole on the way to it.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let store = RedisDedupe::with_options(&url, options()).unwrap();
    let started = Instant::now();
    assert_eq!(
        within("begin against a silent server", store.begin("g", "e")).await,
        Begin::InProgress
    );
    let took = started.elapsed();
    assert!(
        took <= store.options().call_timeout() + Duration::from_millis(500),
        "begin answered after {took:?}"
    );
    every_call_answers_in_time(&store).await;
    silent.abort();
}

#[test]
fn a_url_that_is_not_redis_is_refused_with_the_reason() {
    let error = RedisDedupe::new("http://user:s3cret@cache:6379").unwrap_err();
    let text = error.to_string();
    assert!(text.contains("is not a Redis URL"), "{text}");
    assert!(!text.contains("s3cret"), "the password stays out: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_redis_is_down_handles_nothing_and_keeps_the_event() {
    let url = format!("redis://127.0.0.1:{}", closed_port());
    let store = RedisDedupe::with_options(&url, options()).unwrap();
    let broker = MemoryBroker::new();
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let member = Subscriber::new(broker.clone(), "inventory")
        .dedupe(Arc::new(store) as Arc<dyn DedupeStore>)
        .start(handlers("dedupe.down", move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        }))
        .await
        .unwrap();
    within(
        "a publish",
        broker.publish(event_with_id("dedupe.down", "kept", "id-1")),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing handled unchecked");
    assert_eq!(member.stats().duplicates.load(Ordering::SeqCst), 0);
    assert_eq!(member.stats().dead_lettered.load(Ordering::SeqCst), 0);
    within("the member shutting down", member.shutdown()).await;
    assert_eq!(
        broker.pending("inventory"),
        1,
        "the event stays with the group for when Redis is back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_stops_answering_mid_life_holds_events_and_the_store_recovers() {
    let Some(prefix) = TestPrefix::new("silenced").await else {
        return;
    };
    let proxy = Proxy::start(&redis_url()).await;
    let options = prefix
        .options()
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300));
    let store = RedisDedupe::with_options(proxy.url(), options).unwrap();
    assert_eq!(within("begin", store.begin("g", "a")).await, Begin::New);
    within("complete", store.complete("g", "a")).await;

    // Redis hangs: the connection stays open and nothing comes back.
    proxy.silence();
    let bound = store.options().call_timeout() + Duration::from_millis(500);
    let started = Instant::now();
    assert_eq!(
        within("begin against a silent Redis", store.begin("g", "b")).await,
        Begin::InProgress
    );
    within("complete against a silent Redis", store.complete("g", "b")).await;
    within("abort against a silent Redis", store.abort("g", "b")).await;
    let took = started.elapsed();
    assert!(
        took <= bound * 3,
        "three calls took {took:?}, more than three times {bound:?}"
    );

    // Redis is back (the silenced connections are closed): the store
    // connects again by itself, and knows what it recorded before.
    proxy.restore();
    let deadline = Instant::now() + DEADLINE;
    let begun = loop {
        let begun = within("begin after Redis returned", store.begin("g", "b")).await;
        if begun != Begin::InProgress || Instant::now() >= deadline {
            break begun;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        begun,
        Begin::New,
        "within {DEADLINE:?} of Redis returning, an id never recorded is new"
    );
    assert_eq!(
        within("begin", store.begin("g", "a")).await,
        Begin::Duplicate,
        "what was recorded before the outage is still known"
    );
}
