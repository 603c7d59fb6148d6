//! Kafka: accord's `KafkaBroker` against a bare rdkafka loop with the same
//! guarantees (acks=all idempotent publishes; a consumer group that commits
//! an offset only once the record before it was handled; each record's
//! CloudEvents type checked before it is decoded).
//!
//! Consuming is timed on both sides from the first record handled to the
//! last, so that neither side's group join counts: accord's subscription
//! returns once the group's rebalance has been quiet for three heartbeats,
//! the bare consumer starts on its first assignment, and each fetches from
//! then on (accord's member holds at most `max_buffered` records, 1,024,
//! before it pauses).

use std::time::Duration;

use accord::broker::kafka::{KafkaBroker, KafkaOptions, DEFAULT_PARTITIONS};
use accord::broker::{Subscribe, SubscribeOptions};
use accord::Subscriber;
use anyhow::{bail, Context, Result};
use orders_contract::OrderPlaced;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers as _, Message as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use tokio::time::Instant;

use super::{
    cancel, event_headers, events, interleave, live, publish_windowed, run_id, ConsumeFrom, Cycle,
    Handler, Live, Measured, Probe, Sink, Throughput, IN_FLIGHT,
};
use crate::contract::{BenchOrdersPublisher, BenchOrdersSubscriber, TOPIC};
use crate::work::{order_placed, CUSTOMERS};
use crate::Plan;

/// Group timing both sides use: fast joins on tansu.
const SESSION_TIMEOUT_MS: &str = "2000";
const HEARTBEAT_MS: &str = "300";

pub async fn run(plan: &Plan) -> Result<(Vec<Cycle>, Vec<Cycle>)> {
    interleave(plan, "kafka", || accord_cycle(plan), || bare_cycle(plan)).await
}

fn servers(plan: &Plan) -> String {
    plan.kafka_url.trim_start_matches("kafka://").to_owned()
}

async fn wait_closed(broker: &KafkaBroker) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while broker.open_consumers() > 0 {
        if Instant::now() >= deadline {
            bail!("the bench's Kafka consumers did not close within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn delete_topics(admin: &AdminClient<DefaultClientContext>, topics: &[&str]) {
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let _ = tokio::time::timeout(
        Duration::from_secs(15),
        admin.delete_topics(topics, &options),
    )
    .await;
}

async fn accord_cycle(plan: &Plan) -> Result<(Throughput, Live)> {
    let id = run_id();
    let options = KafkaOptions::new()
        .prefix(format!("accord-bench-{id}"))
        .group_timing(Duration::from_secs(2), Duration::from_millis(300));
    let broker = KafkaBroker::connect_with(&plan.kafka_url, options).await?;
    let group = format!("bench-{id}");
    let remove = {
        let broker = broker.clone();
        let dead_letters = broker.dead_letter_topic(&group);
        async move {
            if let Err(error) = wait_closed(&broker).await {
                eprintln!("  {error:#}");
            }
            delete_topics(broker.admin(), &[TOPIC, &dead_letters]).await;
        }
    };
    live(accord_measure(plan, &broker, &group), remove).await
}

async fn accord_measure(plan: &Plan, broker: &KafkaBroker, group: &str) -> Result<Measured> {
    // The group collects from when it first joins: join it before
    // publishing, as a deployed subscriber would have.
    drop(
        broker
            .subscribe(SubscribeOptions::new(group, [TOPIC]))
            .await?,
    );
    wait_closed(broker).await?;
    let publisher = BenchOrdersPublisher::new(broker.clone());
    let events = events();
    let (publish_rate, published) = publish_windowed(plan, |n| {
        let event = &events[(n % CUSTOMERS) as usize];
        async { publisher.order_placed(event).await.map(drop) }
    })
    .await?;

    let sink = Sink::new();
    let handle = Subscriber::new(broker.clone(), group)
        .concurrency(IN_FLIGHT)
        .start(Handler(sink.clone()).into_event_handlers())
        .await?;
    Measured::accord(
        &publisher,
        sink,
        handle,
        ConsumeFrom::FirstHandled,
        (publish_rate, published),
    )
    .await
}

async fn bare_cycle(plan: &Plan) -> Result<(Throughput, Live)> {
    let id = run_id();
    let topic = format!("accord-bench-bare.{id}.orders.placed");
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", servers(plan))
        .create()?;
    // The topic as accord creates its own.
    let new = NewTopic::new(&topic, DEFAULT_PARTITIONS, TopicReplication::Fixed(1));
    admin
        .create_topics([&new], &AdminOptions::new())
        .await
        .context("creating the bare topic")?;
    let remove = {
        let topic = topic.clone();
        async move { delete_topics(&admin, &[&topic]).await }
    };
    live(bare_measure(plan, &topic, &id), remove).await
}

/// One hand-written publish: the same record accord sends (CloudEvents as
/// `ce_` headers, the customer as the key), awaiting the broker's ack.
async fn publish(producer: &FutureProducer, topic: &str, event: &OrderPlaced) -> Result<()> {
    let payload = serde_json::to_vec(event)?;
    let id = uuid::Uuid::new_v4().to_string();
    let key = event.customer_id.0.as_str();
    let mut headers = OwnedHeaders::new();
    for (name, value) in event_headers(&id, key) {
        if name == "accord-key" {
            continue;
        }
        let name = name.replacen("ce-", "ce_", 1);
        headers = headers.insert(Header {
            key: &name,
            value: Some(value.as_str()),
        });
    }
    let record = FutureRecord::to(topic)
        .payload(&payload)
        .key(key)
        .headers(headers);
    producer
        .send(record, Duration::from_secs(30))
        .await
        .map_err(|(e, _)| anyhow::anyhow!(e))?;
    Ok(())
}

async fn bare_measure(plan: &Plan, topic: &str, id: &str) -> Result<Measured> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", servers(plan))
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "1")
        .create()?;
    let events = events();
    let (publish_rate, published) = publish_windowed(plan, |n| {
        publish(&producer, topic, &events[(n % CUSTOMERS) as usize])
    })
    .await?;

    let sink = Sink::new();
    // Offsets are stored once a record is handled and committed from the
    // store: the commit never passes an unhandled record.
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers(plan))
        .set("group.id", format!("bench-bare-{id}"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set("allow.auto.create.topics", "false")
        .set("session.timeout.ms", SESSION_TIMEOUT_MS)
        .set("heartbeat.interval.ms", HEARTBEAT_MS)
        .create()?;
    consumer.subscribe(&[topic])?;
    let consumer_sink = sink.clone();
    let consuming = tokio::spawn(async move {
        loop {
            let record = consumer.recv().await?;
            // The type, as accord's subscriber checks it before decoding
            // (reading a record's headers is a cost of its own).
            let kind = record
                .headers()
                .and_then(|headers| headers.iter().find(|h| h.key == "ce_type"))
                .and_then(|header| header.value);
            if kind != Some(TOPIC.as_bytes()) {
                bail!("a record of another type: {kind:?}");
            }
            let event: OrderPlaced = serde_json::from_slice(record.payload().unwrap_or_default())?;
            consumer_sink.handle(&event);
            consumer.store_offset_from_message(&record)?;
        }
        #[allow(unreachable_code)]
        anyhow::Ok(())
    });
    let probe_sink = sink.clone();
    let topic = topic.to_owned();
    let probe: Probe = Box::new(move |n| {
        let producer = producer.clone();
        let topic = topic.clone();
        let sink = probe_sink.clone();
        tokio::spawn(
            async move { publish(&producer, &topic, &order_placed(n, sink.stamp())).await },
        )
    });
    let from = ConsumeFrom::FirstHandled;
    let stop = cancel(consuming);
    Measured::drained(sink, from, (publish_rate, published), probe, stop).await
}
