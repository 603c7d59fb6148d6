//! `RedisDedupe` keeps the `DedupeStore` contract on a real Redis: claims,
//! duplicates, releases, expiry, digested ids, and what a restarted
//! process sees.

mod support;

use std::time::Duration;

use accord::events::{Begin, DedupeStore};
use accord_redis::{RedisDedupe, DONE};
use support::{redis_url, within, TestPrefix};

#[tokio::test]
async fn claims_duplicates_and_releases_per_group() {
    let Some(prefix) = TestPrefix::new("semantics").await else {
        return;
    };
    let store = prefix.store();
    let begin = |group: &'static str, id: &'static str| {
        let store = &store;
        async move { within("begin", store.begin(group, id)).await }
    };
    assert_eq!(begin("g", "a").await, Begin::New);
    assert_eq!(
        begin("g", "a").await,
        Begin::InProgress,
        "a claimed id is in progress, also for the store that holds it"
    );
    assert_eq!(begin("h", "a").await, Begin::New, "groups are separate");
    within("complete", store.complete("g", "a")).await;
    assert_eq!(begin("g", "a").await, Begin::Duplicate);

    assert_eq!(begin("g", "b").await, Begin::New);
    within("abort", store.abort("g", "b")).await;
    assert_eq!(
        begin("g", "b").await,
        Begin::New,
        "a failed attempt frees the id"
    );

    // What Redis holds: `done` for the handled id, this store's claims for
    // the others, each under `<prefix>:<group>:<id>` and each expiring.
    let mut keys = prefix.keys();
    keys.sort();
    let p = prefix.prefix();
    assert_eq!(
        keys.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        [format!("{p}:g:a"), format!("{p}:g:b"), format!("{p}:h:a")]
    );
    assert_eq!(keys[0].1.as_deref(), Some(DONE));
    for (key, value) in &keys[1..] {
        assert!(
            value.as_deref().is_some_and(|v| v.starts_with("claim:")),
            "{key} holds a claim: {value:?}"
        );
    }
    let retention = store.options().get_retention().as_millis() as i64;
    let done_ttl = prefix.ttl_ms(&keys[0].0);
    assert!(
        done_ttl > retention - 60_000 && done_ttl <= retention,
        "a handled id lives for the retention window: {done_ttl} ms"
    );
    let claim_ttl = store.options().get_claim_ttl().as_millis() as i64;
    let held = prefix.ttl_ms(&keys[1].0);
    assert!(
        held > claim_ttl - 60_000 && held <= claim_ttl,
        "a claim lives for the claim TTL: {held} ms"
    );
}

#[tokio::test]
async fn a_restarted_process_sees_what_the_group_handled() {
    let Some(prefix) = TestPrefix::new("restart").await else {
        return;
    };
    let before = prefix.store();
    assert_eq!(within("begin", before.begin("g", "x")).await, Begin::New);
    within("complete", before.complete("g", "x")).await;
    assert_eq!(within("begin", before.begin("g", "y")).await, Begin::New);
    drop(before);

    let after = prefix.store();
    assert_eq!(
        within("begin", after.begin("g", "x")).await,
        Begin::Duplicate,
        "a new store on the same Redis knows the handled id"
    );
    assert_eq!(
        within("begin", after.begin("g", "y")).await,
        Begin::InProgress,
        "the claim of the process that went away holds until it expires"
    );
}

#[tokio::test]
async fn an_abort_releases_only_its_own_claim() {
    let Some(prefix) = TestPrefix::new("abort").await else {
        return;
    };
    let first = prefix.store();
    let second = prefix.store();
    assert_eq!(within("begin", first.begin("g", "e")).await, Begin::New);
    let released = within("abort by another member", second.try_abort("g", "e"))
        .await
        .unwrap();
    assert!(
        !released,
        "another member's abort does not release the claim"
    );
    assert_eq!(
        within("begin", second.begin("g", "e")).await,
        Begin::InProgress
    );
    within("complete", first.complete("g", "e")).await;
    let released = within("a late abort", first.try_abort("g", "e"))
        .await
        .unwrap();
    assert!(
        !released,
        "an abort after the id was handled leaves it handled"
    );
    assert_eq!(
        within("begin", second.begin("g", "e")).await,
        Begin::Duplicate
    );
}

#[tokio::test]
async fn claims_and_handled_ids_expire() {
    let Some(prefix) = TestPrefix::new("expiry").await else {
        return;
    };
    let short = |claim_ms: u64, retention_ms: u64| {
        let options = prefix
            .options()
            .claim_ttl(Duration::from_millis(claim_ms))
            .retention(Duration::from_millis(retention_ms));
        RedisDedupe::with_options(&redis_url(), options).unwrap()
    };
    // A member that crashed mid-handler: its claim lapses and another
    // member handles the event, whose late abort then releases nothing.
    let crashed = short(300, 60_000);
    let other = short(300, 60_000);
    assert_eq!(within("begin", crashed.begin("g", "c")).await, Begin::New);
    assert_eq!(
        within("begin", other.begin("g", "c")).await,
        Begin::InProgress
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        within("begin", other.begin("g", "c")).await,
        Begin::New,
        "an expired claim can be taken"
    );
    assert!(!within("abort", crashed.try_abort("g", "c")).await.unwrap());
    assert_eq!(
        within("begin", crashed.begin("g", "c")).await,
        Begin::InProgress,
        "the new claim survived the old member's abort"
    );

    // A handled id is forgotten after the retention window.
    let forgetful = short(60_000, 300);
    assert_eq!(within("begin", forgetful.begin("g", "r")).await, Begin::New);
    within("complete", forgetful.complete("g", "r")).await;
    assert_eq!(
        within("begin", forgetful.begin("g", "r")).await,
        Begin::Duplicate
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        within("begin", forgetful.begin("g", "r")).await,
        Begin::New,
        "past the retention window the id is new again"
    );
}

#[tokio::test]
async fn long_ids_and_separators_make_bounded_distinct_keys() {
    let Some(prefix) = TestPrefix::new("keys").await else {
        return;
    };
    let store = prefix.store();
    let long: Vec<String> = (0..3)
        .map(|n| format!("{n:08}{}", "x".repeat(64 * 1024 - 8)))
        .collect();
    for id in &long {
        assert_eq!(within("begin", store.begin("g", id)).await, Begin::New);
        within("complete", store.complete("g", id)).await;
    }
    for id in &long {
        assert_eq!(
            within("begin", store.begin("g", id)).await,
            Begin::Duplicate,
            "a digested id is still recognised"
        );
    }
    let similar = format!("{:08}{}", 3, "x".repeat(64 * 1024 - 8));
    assert_eq!(
        within("begin", store.begin("g", &similar)).await,
        Begin::New
    );

    // `a:b` + `c` and `a` + `b:c` are two ids, not one.
    assert_eq!(within("begin", store.begin("a:b", "c")).await, Begin::New);
    within("complete", store.complete("a:b", "c")).await;
    assert_eq!(within("begin", store.begin("a", "b:c")).await, Begin::New);

    let keys = prefix.keys();
    assert_eq!(keys.len(), 6);
    for (key, _) in &keys {
        assert!(
            key.len() <= prefix.prefix().len() + 100,
            "a 64 KiB id makes a short key: {} bytes",
            key.len()
        );
    }
}
