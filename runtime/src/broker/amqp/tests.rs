//! Behaviour particular to RabbitMQ, against the broker at
//! `ACCORD_AMQP_URL` (default [`DEFAULT_URL`]). Without a reachable
//! broker these tests print why and pass, unless `CI` is set. The
//! behaviour every backend shares is checked by the conformance suite.

use std::time::Duration;

use super::*;
use crate::broker::{Delivery, Retry, Subscription};
use crate::broker::{Message, Publish, Subscribe, SubscribeOptions};
use lapin::options::BasicGetOptions;

/// Runs `test` on a broker under a prefix of its own and deletes what
/// it declared afterwards, also when it fails. Without a reachable
/// RabbitMQ it prints why and returns, unless `CI` is set.
async fn with_broker<F, Fut>(name: &str, test: F)
where
    F: FnOnce(AmqpBroker) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use futures_util::FutureExt;
    let url = std::env::var("ACCORD_AMQP_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let prefix = format!(
        "accord-test-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let broker = match AmqpBroker::connect_with(&url, AmqpOptions::default().prefix(prefix)).await {
        Ok(broker) => broker,
        Err(error) if std::env::var_os("CI").is_some() => {
            panic!("RabbitMQ at {url} cannot be reached: {error}")
        }
        Err(error) => {
            println!("{name}: skipped, RabbitMQ at {url} cannot be reached ({error})");
            return;
        }
    };
    let outcome = std::panic::AssertUnwindSafe(test(broker.clone()))
        .catch_unwind()
        .await;
    let deleted = broker.delete_topology().await;
    broker.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    deleted.expect("deleting the test's topology");
}

async fn next<S: Subscription>(sub: &mut S) -> S::Delivery {
    tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("a delivery within 10 s")
        .expect("the subscription is open")
}

#[tokio::test]
async fn events_no_group_takes_are_kept_in_the_unrouted_queue() {
    with_broker("unrouted", |broker| async move {
        broker
            .publish(Message::new("nobody.listens", "lonely").with_header("ce-id", "u-1"))
            .await
            .unwrap();
        let connection = broker.connection(&broker.inner.publish_link).await.unwrap();
        let channel = connection.create_channel().await.unwrap();
        let got = channel
            .basic_get(
                broker.names().unrouted_queue().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
            .expect("the unrouted event is in the unrouted queue");
        assert_eq!(got.delivery.data, b"lonely");
        assert_eq!(got.delivery.routing_key.as_str(), "nobody.listens");
    })
    .await;
}

#[tokio::test]
async fn a_declared_group_collects_events_before_anyone_subscribes() {
    with_broker("declared", |broker| async move {
        broker.declare_group("early", &["t.early"]).await.unwrap();
        broker
            .publish(Message::new("t.early", "first"))
            .await
            .unwrap();
        let mut sub = broker
            .subscribe(SubscribeOptions::new("early", ["t.early"]))
            .await
            .unwrap();
        let delivery = next(&mut sub).await;
        assert_eq!(&delivery.message().payload[..], b"first");
        assert_eq!(delivery.attempt(), 1);
        delivery.ack().await.unwrap();
        drop(sub);
    })
    .await;
}

#[tokio::test]
async fn a_late_settlement_after_the_ack_wait_leaves_the_channel_usable() {
    with_broker("late-ack", |broker| async move {
        let options = SubscribeOptions::new("late", ["t.late"])
            .max_in_flight(2)
            .ack_wait(Duration::from_millis(300));
        let mut sub = broker.subscribe(options).await.unwrap();
        broker
            .publish(Message::new("t.late", "slow"))
            .await
            .unwrap();
        let stale = next(&mut sub).await;
        let again = next(&mut sub).await;
        assert_eq!(again.attempt(), 2, "delivered again after the ack wait");
        stale.ack().await.unwrap();
        again.ack().await.unwrap();
        stale_retry_and_dead_letter_are_ignored(&broker, &mut sub).await;
        broker
            .publish(Message::new("t.late", "next"))
            .await
            .unwrap();
        let next_one = next(&mut sub).await;
        assert_eq!(&next_one.message().payload[..], b"next");
        assert_eq!(next_one.attempt(), 1);
        next_one.ack().await.unwrap();
        drop(sub);
    })
    .await;
}

async fn stale_retry_and_dead_letter_are_ignored(broker: &AmqpBroker, sub: &mut AmqpSubscription) {
    broker
        .publish(Message::new("t.late", "twice"))
        .await
        .unwrap();
    let first = next(sub).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.dead_letter("too late").await.unwrap();
    let second = next(sub).await;
    assert_eq!(&second.message().payload[..], b"twice");
    assert_eq!(second.attempt(), 2);
    second.ack().await.unwrap();
    let mut dead = broker.dead_letters("late").await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), dead.next())
            .await
            .is_err(),
        "a dead_letter after the ack wait is ignored"
    );
}

#[tokio::test]
async fn a_dropped_member_hands_back_what_it_had_not_taken_as_the_same_attempt() {
    with_broker("hand-back", |broker| async move {
        let options = SubscribeOptions::new("back", ["t.back"]).max_in_flight(5);
        let mut first = broker.subscribe(options.clone()).await.unwrap();
        for i in 0..5 {
            broker
                .publish(Message::new("t.back", format!("m{i}")))
                .await
                .unwrap();
        }
        // The broker sends all five ahead; the member takes one.
        let taken = next(&mut first).await;
        let taken_body = String::from_utf8_lossy(&taken.message().payload).into_owned();
        drop(first);
        taken.ack().await.unwrap();
        let mut second = broker.subscribe(options).await.unwrap();
        let mut rest = Vec::new();
        for _ in 0..4 {
            let delivery = next(&mut second).await;
            assert_eq!(delivery.attempt(), 1, "never handed out, so not an attempt");
            rest.push(String::from_utf8_lossy(&delivery.message().payload).into_owned());
            delivery.ack().await.unwrap();
        }
        rest.push(taken_body);
        rest.sort();
        assert_eq!(rest, ["m0", "m1", "m2", "m3", "m4"]);
        assert!(
            tokio::time::timeout(Duration::from_millis(300), second.next())
                .await
                .is_err(),
            "nothing comes twice"
        );
    })
    .await;
}

#[tokio::test]
async fn retries_wait_in_a_bucket_queue_and_come_back_to_their_group_only() {
    with_broker("retry", |broker| async move {
        let mut a = broker
            .subscribe(SubscribeOptions::new("a", ["t.retry"]))
            .await
            .unwrap();
        let mut b = broker
            .subscribe(SubscribeOptions::new("b", ["t.retry"]))
            .await
            .unwrap();
        broker.publish(Message::new("t.retry", "r")).await.unwrap();
        let first = next(&mut a).await;
        first.retry(Duration::from_millis(120)).await.unwrap();
        let again = next(&mut a).await;
        assert_eq!(again.attempt(), 2);
        assert_eq!(again.message().topic, "t.retry");
        again.ack().await.unwrap();
        let other = next(&mut b).await;
        assert_eq!(other.attempt(), 1);
        other.ack().await.unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), b.next())
                .await
                .is_err(),
            "the other group does not see the retry"
        );
        assert!(lock(&broker.inner.retry_queues)
            .contains(&broker.names().retry_queue("a", Duration::from_millis(150))));
        drop((a, b));
    })
    .await;
}

#[tokio::test]
async fn a_closed_member_hands_back_what_it_was_sent_ahead_as_the_same_attempt() {
    with_broker("close", |broker| async move {
        let options = || SubscribeOptions::new("closing", ["orders.placed"]).max_in_flight(4);
        drop(broker.subscribe(options()).await.unwrap());
        for n in 0..4 {
            broker
                .publish(Message::new("orders.placed", format!("m{n}")))
                .await
                .unwrap();
        }
        // A process of its own: its member takes and acks one event while
        // RabbitMQ sends it the other three ahead, closes, and the process
        // ends at once (its runtime, and every task on it, is gone).
        let url = std::env::var("ACCORD_AMQP_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
        let member_options = broker.options().clone();
        crate::broker::own_process::run(move || async move {
            let broker = AmqpBroker::connect_with(&url, member_options)
                .await
                .unwrap();
            let mut member = broker.subscribe(options()).await.unwrap();
            let first = next(&mut member).await;
            first.ack().await.unwrap();
            // The other three have reached the member's consumer.
            tokio::time::sleep(Duration::from_millis(300)).await;
            tokio::time::timeout(Duration::from_secs(30), member.close())
                .await
                .expect("the member closed within 30 s");
        });
        let mut next_member = broker.subscribe(options()).await.unwrap();
        for _ in 0..3 {
            let delivery = next(&mut next_member).await;
            assert_eq!(
                delivery.attempt(),
                1,
                "{:?} came back counted as a second delivery",
                delivery.message().payload
            );
            delivery.ack().await.unwrap();
        }
    })
    .await;
}
