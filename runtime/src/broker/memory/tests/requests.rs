//! Request/reply: bounded responder queues.

use std::time::Duration;

use tokio::time::timeout;

use super::super::*;
use super::{msg, within, ARRIVE};
use crate::broker::{PendingRequest, Responder};

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
