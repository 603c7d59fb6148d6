//! What this backend does on the wire, checked on a live broker: the one
//! at `ACCORD_KAFKA_URL` (default `kafka://127.0.0.1:19092`). Without one
//! the tests say so and pass, except on CI (`CI` set). Every name is
//! unique to the test, and its topics are deleted at its end.

use std::time::Duration;

use rdkafka::admin::AdminOptions;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message as _};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::*;
use crate::broker::{
    Delivery, Message, MessagePart, Publish, Subscribe, SubscribeOptions, Subscription,
};

const WAIT: Duration = Duration::from_secs(10);

async fn broker(options: KafkaOptions) -> Option<KafkaBroker> {
    let url =
        std::env::var("ACCORD_KAFKA_URL").unwrap_or_else(|_| "kafka://127.0.0.1:19092".into());
    let options = options.group_timing(Duration::from_secs(2), Duration::from_millis(300));
    match KafkaBroker::connect_with(&url, options).await {
        Ok(broker) => Some(broker),
        Err(e) if std::env::var_os("CI").is_some() => panic!("CI needs Kafka at {url}: {e}"),
        Err(e) => {
            println!("skipped: no Kafka broker at {url}: {e}");
            None
        }
    }
}

fn unique(what: &str) -> String {
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(10);
    format!("accord-unit-{what}-{id}")
}

/// Deletes `topics` once this handle's consumers have left their groups.
async fn delete(broker: &KafkaBroker, topics: &[&str]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while broker.open_consumers() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let options = AdminOptions::new().operation_timeout(Some(WAIT));
    let _ = broker.admin().delete_topics(topics, &options).await;
}

/// The offset `group` has committed for `topic`'s partition 0.
async fn committed(broker: &KafkaBroker, topic: &str, group: &str) -> Offset {
    let (broker, topic, group) = (broker.clone(), topic.to_owned(), group.to_owned());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = broker.consumer_config(&group).create().unwrap();
        let mut list = TopicPartitionList::new();
        list.add_partition(&topic, 0);
        let committed = consumer.committed_offsets(list, WAIT).unwrap();
        committed.elements()[0].offset()
    })
    .await
    .unwrap()
}

/// A plain consumer outside any accord group, reading `topic`'s partition
/// 0 from its start.
fn raw_reader(topic: &str) -> BaseConsumer {
    let servers = std::env::var("ACCORD_KAFKA_URL")
        .unwrap_or_else(|_| "kafka://127.0.0.1:19092".into())
        .trim_start_matches("kafka://")
        .to_owned();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &servers)
        .set("group.id", unique("raw"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("a plain consumer");
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&list).expect("assigning partition 0");
    consumer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudevents_travel_in_kafka_binary_mode() {
    let Some(broker) = broker(KafkaOptions::new().partitions(1)).await else {
        return;
    };
    let topic = unique("binary");
    broker
        .publish(
            Message::new(&topic, r#"{"order":1}"#)
                .with_header("ce-id", "e-1")
                .with_header("ce-type", "orders.placed")
                .with_header("ce-specversion", "1.0")
                .with_header("content-type", "application/json")
                .with_key("customer-7"),
        )
        .await
        .expect("publishing");
    let reader = raw_reader(&topic);
    let record = tokio::task::spawn_blocking(move || {
        let record = reader
            .poll(WAIT)
            .expect("the record within 10 s")
            .expect("reading the record");
        let headers: Vec<(String, String)> = record
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        let value = String::from_utf8_lossy(h.value.unwrap_or_default());
                        (h.key.to_owned(), value.into_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        let key = record
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned());
        let value = record
            .payload()
            .map(|v| String::from_utf8_lossy(v).into_owned());
        (headers, key, value)
    })
    .await
    .unwrap();
    delete(&broker, &[&topic]).await;
    let (headers, key, value) = record;
    let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["ce_id", "ce_specversion", "ce_type", "content-type"],
        "the CloudEvents Kafka binding's binary mode"
    );
    assert_eq!(
        key.as_deref(),
        Some("customer-7"),
        "the event key is the record key"
    );
    assert_eq!(value.as_deref(), Some(r#"{"order":1}"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_over_the_record_limit_is_refused_before_it_is_sent() {
    let Some(broker) = broker(KafkaOptions::new().max_message_bytes(64 * 1024)).await else {
        return;
    };
    let topic = unique("too-large");
    let error = broker
        .publish(Message::new(&topic, vec![b'x'; 64 * 1024]))
        .await
        .unwrap_err();
    let BrokerError::TooLarge(too_large) = &error else {
        panic!("expected TooLarge, got {error}");
    };
    assert_eq!(too_large.part, MessagePart::Message);
    assert!(error.to_string().contains("message.max.bytes"), "{error}");
    assert!(error.to_string().contains("dead letter"), "{error}");
    broker
        .publish(Message::new(&topic, "small"))
        .await
        .expect("the handle still publishes");
    delete(&broker, &[&topic]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_are_committed_only_past_settled_records() {
    let Some(broker) = broker(KafkaOptions::new().partitions(1)).await else {
        return;
    };
    let topic = unique("commits");
    let group = unique("group");
    let mut member = broker
        .subscribe(SubscribeOptions::new(&group, [&topic]).max_in_flight(3))
        .await
        .expect("subscribing");
    for n in 0..3 {
        broker
            .publish(Message::new(&topic, format!("m{n}")))
            .await
            .expect("publishing");
    }
    let mut deliveries = Vec::new();
    for _ in 0..3 {
        let delivery = tokio::time::timeout(WAIT, member.next())
            .await
            .expect("a delivery within 10 s")
            .expect("open");
        deliveries.push(delivery);
    }
    let first = deliveries.remove(0);
    assert_eq!(first.message().payload, "m0");
    for later in deliveries {
        later.ack().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start = committed(&broker, &topic, &group).await;
    assert_eq!(
        start,
        Offset::Offset(0),
        "m1 and m2 are settled but m0 is not: the commit stays before m0"
    );
    first.ack().await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = committed(&broker, &topic, &group).await;
        if now == Offset::Offset(3) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the commit did not move past m2 once m0 was settled: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(member);
    delete(&broker, &[&topic, &broker.dead_letter_topic(&group)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_member_has_committed_and_left_its_group() {
    let Some(broker) = broker(KafkaOptions::new().partitions(1)).await else {
        return;
    };
    let topic = unique("close");
    let group = unique("group");
    let mut member = broker
        .subscribe(SubscribeOptions::new(&group, [&topic]))
        .await
        .expect("subscribing");
    broker
        .publish(Message::new(&topic, "m0"))
        .await
        .expect("publishing");
    let delivery = next_within(&mut member, WAIT).await;
    delivery.ack().await.expect("acking");
    tokio::time::timeout(Duration::from_secs(30), member.close())
        .await
        .expect("the member closed within 30 s");
    assert_eq!(
        broker.open_consumers(),
        0,
        "close returned while the member's consumer was still open"
    );
    assert_eq!(
        committed(&broker, &topic, &group).await,
        Offset::Offset(1),
        "the settled record was not committed when close returned"
    );
    delete(&broker, &[&topic, &broker.dead_letter_topic(&group)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_alone_past_its_ack_wait_gets_the_record_again_in_order() {
    let Some(broker) = broker(KafkaOptions::new().partitions(1)).await else {
        return;
    };
    let topic = unique("alone");
    let group = unique("group");
    let mut member = broker
        .subscribe(
            SubscribeOptions::new(&group, [&topic])
                .max_in_flight(4)
                .ack_wait(Duration::from_secs(1)),
        )
        .await
        .expect("subscribing");
    for (body, key) in [("a0", "a"), ("b0", "b"), ("a1", "a")] {
        broker
            .publish(Message::new(&topic, body).with_key(key))
            .await
            .expect("publishing");
    }
    let held = next_within(&mut member, WAIT * 2).await;
    assert_eq!(
        (held.message().payload.as_ref(), held.attempt()),
        (&b"a0"[..], 1)
    );
    let other = next_within(&mut member, WAIT * 2).await;
    assert_eq!(other.message().payload, "b0");
    other.ack().await.unwrap();
    // a0 is held past its ack wait: the member hands its partition over
    // and, alone in the group, gets it back.
    let again = next_within(&mut member, WAIT * 2).await;
    assert_eq!(
        (again.message().payload.as_ref(), again.attempt()),
        (&b"a0"[..], 2),
        "the held record comes again first, as attempt 2"
    );
    held.ack().await.unwrap();
    again.ack().await.unwrap();
    let later = next_within(&mut member, WAIT * 2).await;
    assert_eq!(
        (later.message().payload.as_ref(), later.attempt()),
        (&b"a1"[..], 1),
        "then the key's later record; b0, settled before the handover, does not come again"
    );
    later.ack().await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(500), member.next())
            .await
            .is_err(),
        "nothing more"
    );
    drop(member);
    delete(&broker, &[&topic, &broker.dead_letter_topic(&group)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_paused_reads_on_at_once_when_it_has_room_again() {
    let Some(broker) = broker(KafkaOptions::new().partitions(1).max_buffered(2)).await else {
        return;
    };
    let topic = unique("resume");
    let group = unique("group");
    let mut member = broker
        .subscribe(SubscribeOptions::new(&group, [&topic]).max_in_flight(8))
        .await
        .expect("subscribing");
    for n in 0..9 {
        broker
            .publish(Message::new(&topic, format!("m{n}")))
            .await
            .expect("publishing");
    }
    // Three times: the member holds two records and, with nothing taken,
    // pauses its partition, long enough for the consumer's last fetch to
    // return (librdkafka's `fetch.wait.max.ms`, 500 ms); once both are
    // taken, the next record is fetched again. librdkafka alone would
    // start that fetch up to a second later; the member wakes its fetcher.
    let mut next = 0;
    for round in 0..3 {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let room = tokio::time::Instant::now();
        for _ in 0..2 {
            let held = next_within(&mut member, WAIT).await;
            assert_eq!(held.message().payload, format!("m{next}"));
            held.ack().await.unwrap();
            next += 1;
        }
        let fetched = next_within(&mut member, WAIT).await;
        let waited = room.elapsed();
        assert_eq!(fetched.message().payload, format!("m{next}"));
        assert!(
            waited < Duration::from_millis(300),
            "round {round}: the record after the paused ones came {waited:?} after the member had room"
        );
        fetched.ack().await.unwrap();
        next += 1;
    }
    drop(member);
    delete(&broker, &[&topic, &broker.dead_letter_topic(&group)]).await;
}

/// The member's next delivery within `limit`.
async fn next_within(member: &mut KafkaSubscription, limit: Duration) -> KafkaDelivery {
    tokio::time::timeout(limit, member.next())
        .await
        .unwrap_or_else(|_| panic!("no delivery within {limit:?}"))
        .expect("the subscription is open")
}
