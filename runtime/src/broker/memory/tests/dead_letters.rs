//! Browsing and removing dead letters, keyed and unkeyed alike.

use super::*;
use crate::broker::{DeadLetters, Delivery};

/// Dead-letters `bodies` of `group`, each with `key` when given.
async fn dead_letter_all(broker: &MemoryBroker, group: &str, letters: &[(&str, Option<&str>)]) {
    let mut sub = join(broker, group, "t").await;
    for (body, key) in letters {
        let mut message = msg("t", body).with_header("ce-id", *body);
        message.key = key.map(str::to_owned);
        broker.publish(message).await.unwrap();
    }
    for _ in letters {
        take(&mut sub).await.dead_letter("failed").await.unwrap();
    }
}

#[tokio::test]
async fn listing_pages_in_order_and_removing_keeps_the_rest_deliverable() {
    let broker = MemoryBroker::new();
    let letters = [
        ("a", Some("k")),
        ("b", None),
        ("c", Some("k")),
        ("d", Some("k")),
    ];
    dead_letter_all(&broker, "g", &letters).await;
    assert!(broker.group_exists("g").await.unwrap());
    assert!(!broker.group_exists("nobody").await.unwrap());
    assert_eq!(broker.count_dead_letters("g").await.unwrap(), 4);

    let first = broker.list_dead_letters("g", 0, 3).await.unwrap();
    let ids: Vec<_> = first.iter().map(|l| l.event_id().unwrap()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(first[0].topic(), "t");
    assert_eq!(first[0].reason(), Some("failed"));
    let rest = broker
        .list_dead_letters("g", first[2].position, 3)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].event_id(), Some("d"));

    // The oldest of key `k` (which holds the key's marker) and another.
    let removed = broker
        .remove_dead_letters("g", &[first[0].clone(), first[2].clone()])
        .await
        .unwrap();
    assert_eq!(removed, 2);
    assert_eq!(
        broker
            .remove_dead_letters("g", &[first[0].clone()])
            .await
            .unwrap(),
        0,
        "a dead letter removed already is not counted again"
    );
    let mut reader = broker.dead_letters("g").await.unwrap();
    let mut read = Vec::new();
    for _ in 0..2 {
        let letter = take(&mut reader).await;
        read.push(letter.message().id().unwrap().to_owned());
        letter.ack().await.unwrap();
    }
    read.sort();
    assert_eq!(read, ["b", "d"]);
    assert_eq!(broker.dead_letter_usage("g").messages, 0);
}

#[tokio::test]
async fn purge_empties_the_dead_letters_and_frees_their_room() {
    let broker = MemoryBroker::new();
    dead_letter_all(
        &broker,
        "g",
        &[("a", Some("k")), ("b", None), ("c", Some("k"))],
    )
    .await;
    assert_eq!(broker.purge_dead_letters("g").await.unwrap(), 3);
    assert_eq!(broker.count_dead_letters("g").await.unwrap(), 0);
    assert!(broker
        .list_dead_letters("g", 0, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(broker.dead_letter_usage("g").bytes, 0);
}
