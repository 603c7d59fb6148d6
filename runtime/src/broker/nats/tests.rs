//! What this backend declares, checked on a live server: the one at
//! `ACCORD_NATS_URL` (default `nats://127.0.0.1:4222`). Without one the
//! tests say so and pass, except on CI (`CI` set). Every name is unique to
//! the test, and the streams it created are deleted at its end.

use super::*;
use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::StreamExt;

use crate::broker::{
    BrokerError, Delivery, KeyOrder, Message, Publish, RequestReply, Subscribe, SubscribeOptions,
    Subscription, DEAD_LETTER_ATTEMPTS, DEAD_LETTER_GROUP, DEAD_LETTER_REASON,
};
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy};
use async_nats::jetstream::stream::Config;

async fn broker(options: NatsOptions) -> Option<NatsBroker> {
    let url = std::env::var("ACCORD_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    match NatsBroker::connect_with(&url, options).await {
        Ok(broker) => Some(broker),
        Err(e) if std::env::var_os("CI").is_some() => panic!("CI needs NATS at {url}: {e}"),
        Err(e) => {
            println!("skipped: no NATS with JetStream at {url}: {e}");
            None
        }
    }
}

fn unique(what: &str) -> String {
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(10);
    format!("accord-unit-{what}-{id}")
}

async fn delete_streams(broker: &NatsBroker, names: &[String]) {
    for name in names {
        let _ = broker.jetstream().delete_stream(name).await;
    }
}

async fn consumer_config(
    broker: &NatsBroker,
    stream: &str,
    name: &str,
) -> async_nats::jetstream::consumer::Config {
    broker
        .jetstream()
        .get_stream(stream)
        .await
        .unwrap()
        .consumer_info(name)
        .await
        .unwrap()
        .config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declares_a_stream_per_topic_and_a_consumer_per_group() {
    let Some(broker) = broker(NatsOptions::new()).await else {
        return;
    };
    let topic = format!("{}.placed", unique("orders"));
    let stream = broker.topic_stream_name(&topic);
    assert_eq!(stream, format!("ACCORD_{}", topic.replace('.', "_")));

    // Published before any group: kept for the first one.
    broker
        .publish(Message::new(&topic, "early").with_key("customer-7"))
        .await
        .unwrap();
    let info = broker
        .jetstream()
        .get_stream(&stream)
        .await
        .unwrap()
        .cached_info()
        .clone();
    // The topic and its key partitions; the keyed event is on its partition.
    let mut subjects = vec![topic.clone()];
    subjects.extend((0..DEFAULT_KEY_PARTITIONS).map(|p| format!("{topic}._key.{p}")));
    assert_eq!(info.config.subjects, subjects);
    assert_eq!(info.config.duplicate_window, DEFAULT_DUPLICATE_WINDOW);
    assert_eq!(info.state.messages, 1);

    let options = SubscribeOptions::new("first", [&topic])
        .max_in_flight(8)
        .ack_wait(Duration::from_secs(7));
    let mut first = broker.subscribe(options).await.unwrap();
    let delivery = first.next().await.unwrap();
    assert_eq!(&delivery.message().payload[..], b"early");
    assert_eq!(delivery.message().key.as_deref(), Some("customer-7"));
    assert_eq!(delivery.message().topic, topic);
    assert_eq!(delivery.attempt(), 1);
    delivery.ack().await.unwrap();

    let config = consumer_config(&broker, &stream, "first").await;
    assert_eq!(config.durable_name.as_deref(), Some("first"));
    assert_eq!(
        config.filter_subject, "",
        "an unordered group reads the whole stream"
    );
    assert_eq!(config.ack_policy, AckPolicy::Explicit);
    assert_eq!(config.ack_wait, Duration::from_secs(7));
    assert_eq!(config.max_deliver, -1);
    assert!(config.max_ack_pending >= 8);
    assert_eq!(config.deliver_policy, DeliverPolicy::All);

    // A group declared later starts with what is published from then on.
    let mut later = broker
        .subscribe(SubscribeOptions::new("later", [&topic]))
        .await
        .unwrap();
    let config = consumer_config(&broker, &stream, "later").await;
    assert_eq!(config.deliver_policy, DeliverPolicy::New);
    broker.publish(Message::new(&topic, "next")).await.unwrap();
    let delivery = later.next().await.unwrap();
    assert_eq!(&delivery.message().payload[..], b"next");
    delivery.ack().await.unwrap();

    // A group ordered by key: one consumer per partition, one event out at
    // a time across the group, and one for the events without a key.
    let ordered = broker
        .subscribe(SubscribeOptions::new("ordered", [&topic]).key_order(KeyOrder::ByKey))
        .await
        .unwrap();
    for p in 0..DEFAULT_KEY_PARTITIONS {
        let config = consumer_config(&broker, &stream, &format!("ordered__p{p}")).await;
        assert_eq!(config.filter_subject, format!("{topic}._key.{p}"));
        assert_eq!(config.max_ack_pending, 1);
        assert_eq!(config.deliver_policy, DeliverPolicy::New);
    }
    let config = consumer_config(&broker, &stream, "ordered__unkeyed").await;
    assert_eq!(config.filter_subject, topic);
    assert!(config.max_ack_pending > 1);
    drop(ordered);

    // Declaring again changes nothing but the settings that differ.
    drop(first);
    let again = broker
        .subscribe(SubscribeOptions::new("first", [&topic]).ack_wait(Duration::from_secs(9)))
        .await
        .unwrap();
    let config = consumer_config(&broker, &stream, "first").await;
    assert_eq!(config.ack_wait, Duration::from_secs(9));
    assert_eq!(config.deliver_policy, DeliverPolicy::All);
    drop(again);
    drop(later);
    delete_streams(&broker, &[stream]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_event_id_is_stored_once() {
    let Some(broker) = broker(NatsOptions::new()).await else {
        return;
    };
    let topic = format!("{}.event", unique("dedupe"));
    let event = Message::new(&topic, "{}").with_header("ce-id", "event-1");
    broker.publish(event.clone()).await.unwrap();
    broker.publish(event).await.unwrap();
    broker
        .publish(Message::new(&topic, "{}").with_header("ce-id", "event-2"))
        .await
        .unwrap();
    let stream = broker.topic_stream_name(&topic);
    let mut handle = broker.jetstream().get_stream(&stream).await.unwrap();
    assert_eq!(handle.info().await.unwrap().state.messages, 2);
    delete_streams(&broker, &[stream]).await;

    let Some(storing) = super::tests::broker(NatsOptions::new().publish_dedupe(false)).await else {
        return;
    };
    let topic = format!("{}.event", unique("no-dedupe"));
    let event = Message::new(&topic, "{}").with_header("ce-id", "event-1");
    storing.publish(event.clone()).await.unwrap();
    storing.publish(event).await.unwrap();
    let stream = storing.topic_stream_name(&topic);
    let mut handle = storing.jetstream().get_stream(&stream).await.unwrap();
    assert_eq!(handle.info().await.unwrap().state.messages, 2);
    delete_streams(&storing, &[stream]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_an_operator_declared_is_used_as_it_is() {
    let Some(broker) = broker(NatsOptions::new()).await else {
        return;
    };
    let base = unique("ops");
    let operators = format!("OPS-{base}");
    broker
        .jetstream()
        .create_stream(Config {
            name: operators.clone(),
            subjects: vec![format!("{base}.>")],
            ..Default::default()
        })
        .await
        .unwrap();
    let (placed, cancelled) = (format!("{base}.placed"), format!("{base}.cancelled"));
    let mut sub = broker
        .subscribe(SubscribeOptions::new("billing", [&placed, &cancelled]))
        .await
        .unwrap();
    broker.publish(Message::new(&cancelled, "c")).await.unwrap();
    broker.publish(Message::new(&placed, "p")).await.unwrap();
    let mut got = BTreeSet::new();
    for _ in 0..2 {
        let delivery = sub.next().await.unwrap();
        got.insert(delivery.message().topic.clone());
        delivery.ack().await.unwrap();
    }
    assert_eq!(got, BTreeSet::from([placed.clone(), cancelled.clone()]));

    let streams: Vec<String> = broker
        .jetstream()
        .stream_names()
        .filter_map(|name| async move { name.ok() })
        .collect()
        .await;
    assert!(
        !streams.contains(&broker.topic_stream_name(&placed)),
        "no stream of accord's own for a subject an operator's stream captures"
    );
    let names: BTreeSet<String> = broker
        .jetstream()
        .get_stream(&operators)
        .await
        .unwrap()
        .consumer_names()
        .filter_map(|name| async move { name.ok() })
        .collect()
        .await;
    assert_eq!(
        names,
        BTreeSet::from([
            format!("billing_{}", names::topic_token(&placed)),
            format!("billing_{}", names::topic_token(&cancelled)),
        ])
    );
    drop(sub);
    delete_streams(&broker, &[operators]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_keep_the_message_and_say_why() {
    let Some(broker) = broker(NatsOptions::new()).await else {
        return;
    };
    let topic = format!("{}.t", unique("dead"));
    let group = unique("group");
    let mut sub = broker
        .subscribe(SubscribeOptions::new(&group, [&topic]))
        .await
        .unwrap();
    broker
        .publish(
            Message::new(&topic, "poison")
                .with_key("k")
                .with_header("X-Case", "Kept"),
        )
        .await
        .unwrap();
    let delivery = sub.next().await.unwrap();
    delivery.dead_letter("it broke\nbadly").await.unwrap();
    let mut dead = broker.dead_letters(&group).await.unwrap();
    let letter = dead.next().await.unwrap();
    let message = letter.message();
    assert_eq!(message.topic, topic);
    assert_eq!(message.key.as_deref(), Some("k"));
    assert_eq!(message.header("X-Case"), Some("Kept"));
    assert_eq!(message.header(DEAD_LETTER_REASON), Some("it broke badly"));
    assert_eq!(message.header(DEAD_LETTER_ATTEMPTS), Some("1"));
    assert_eq!(message.header(DEAD_LETTER_GROUP), Some(group.as_str()));
    let (stream, _) = letter.stream_position();
    assert_eq!(stream, broker.dead_letter_stream_name());
    letter.ack().await.unwrap();
    drop(dead);
    let js = broker.jetstream();
    let dead_letters = js
        .get_stream(broker.dead_letter_stream_name())
        .await
        .unwrap();
    let _ = dead_letters
        .purge()
        .filter(broker.dead_letter_subject(&group))
        .await;
    let _ = dead_letters
        .delete_consumer(&NatsBroker::consumer_name(&group))
        .await;
    drop(sub);
    delete_streams(&broker, &[broker.topic_stream_name(&topic)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_nats_cannot_carry_is_refused() {
    let Some(broker) = broker(NatsOptions::new()).await else {
        return;
    };
    for topic in ["a.*", "a b", "a..b"] {
        assert!(
            matches!(
                broker.publish(Message::new(topic, "x")).await,
                Err(BrokerError::Rejected(_))
            ),
            "{topic:?}"
        );
    }
    let topic = format!("{}.t", unique("refused"));
    let result = broker
        .publish(Message::new(&topic, "x").with_header("x", "two\nlines"))
        .await;
    assert!(
        matches!(result, Err(BrokerError::Rejected(_))),
        "{result:?}"
    );
    delete_streams(&broker, &[broker.topic_stream_name(&topic)]).await;
}

/// A subject over the server's control line closes the connection; a
/// topic that long is refused before it is sent, and the connection
/// carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_too_long_for_a_subject_is_refused() {
    let Some(broker) = broker(NatsOptions::new()).await else {
        return;
    };
    let stats = broker.client().statistics();
    let connects = stats.connects.load(std::sync::atomic::Ordering::Relaxed);
    let long = format!("{}.{}", unique("long"), "t".repeat(5000));
    for result in [
        broker.publish(Message::new(&long, "x")).await,
        broker
            .request(Message::new(&long, "x"), Duration::from_secs(1))
            .await
            .map(drop),
    ] {
        let Err(BrokerError::TooLarge(error)) = result else {
            panic!("{result:?}");
        };
        assert_eq!(error.part, crate::broker::MessagePart::Topic);
        assert!(error.to_string().contains("the topic is 5"), "{error}");
    }
    let topic = format!("{}.t", unique("after-long"));
    broker.publish(Message::new(&topic, "x")).await.unwrap();
    assert_eq!(
        stats.connects.load(std::sync::atomic::Ordering::Relaxed),
        connects,
        "no connection was lost"
    );
    delete_streams(&broker, &[broker.topic_stream_name(&topic)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_member_has_sent_its_acks() {
    let Some(broker) = broker(NatsOptions::new()).await else {
        return;
    };
    let topic = format!("{}.placed", unique("close"));
    let stream = broker.topic_stream_name(&topic);
    let group = unique("group");
    // Declared before the events, so that the group reads them.
    drop(
        broker
            .subscribe(SubscribeOptions::new(&group, [&topic]))
            .await
            .unwrap(),
    );
    for n in 0..3 {
        broker
            .publish(Message::new(&topic, format!("m{n}")))
            .await
            .unwrap();
    }
    // A process of its own: its member acks all three, closes, and the
    // process ends at once (its runtime, and every task on it, is gone).
    let url = std::env::var("ACCORD_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let (member_topic, member_group) = (topic.clone(), group.clone());
    crate::broker::own_process::run(move || async move {
        let broker = NatsBroker::connect(&url).await.unwrap();
        let mut member = broker
            .subscribe(SubscribeOptions::new(&member_group, [&member_topic]))
            .await
            .unwrap();
        for _ in 0..3 {
            let delivery = tokio::time::timeout(Duration::from_secs(10), member.next())
                .await
                .expect("a delivery within 10 s")
                .expect("open");
            delivery.ack().await.unwrap();
        }
        tokio::time::timeout(Duration::from_secs(30), member.close())
            .await
            .expect("the member closed within 30 s");
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let info = broker
            .jetstream()
            .get_stream(&stream)
            .await
            .unwrap()
            .consumer_info(&group)
            .await
            .unwrap()
            .clone();
        if info.num_ack_pending == 0 && info.ack_floor.stream_sequence == 3 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the acks of a closed member did not reach the server: {} pending, acked up to {}",
            info.num_ack_pending,
            info.ack_floor.stream_sequence
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    delete_streams(&broker, &[stream]).await;
}
