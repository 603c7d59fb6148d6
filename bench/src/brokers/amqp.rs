//! RabbitMQ: accord's `AmqpBroker` against bare lapin.

use std::sync::atomic::{AtomicUsize, Ordering};

use accord::broker::amqp::{AmqpBroker, AmqpOptions};
use accord::Subscriber;
use anyhow::{ensure, Result};
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use orders_contract::OrderPlaced;
use tokio::time::Instant;

use super::{
    accord_probes, consume_and_probe, event_headers, events, interleave, publish_windowed, run_id,
    ConsumeFrom, Cycle, Handler, Sink, IN_FLIGHT,
};
use crate::contract::{BenchOrdersPublisher, BenchOrdersSubscriber, TOPIC};
use crate::work::{order_placed, CUSTOMERS};
use crate::Plan;

/// Confirm channels publishing is spread over, on both sides (accord's
/// default).
const PUBLISH_CHANNELS: usize = 4;

pub async fn run(plan: &Plan) -> Result<(Vec<Cycle>, Vec<Cycle>)> {
    interleave(plan, "amqp", || accord_cycle(plan), || bare_cycle(plan)).await
}

async fn accord_cycle(plan: &Plan) -> Result<Cycle> {
    let id = run_id();
    let options = AmqpOptions::default().prefix(format!("accord-bench-{id}"));
    let broker = AmqpBroker::connect_with(&plan.amqp_url, options).await?;
    let result = accord_measure(plan, &broker).await;
    let _ = broker.delete_topology().await;
    broker.close().await;
    result
}

async fn accord_measure(plan: &Plan, broker: &AmqpBroker) -> Result<Cycle> {
    // RabbitMQ keeps only what a declared group's queue collects.
    broker.declare_group("bench", &[TOPIC]).await?;
    let publisher = BenchOrdersPublisher::new(broker.clone());
    let events = events();
    let (publish_rate, published) = publish_windowed(plan, |n| {
        let event = &events[(n % CUSTOMERS) as usize];
        async { publisher.order_placed(event).await.map(drop) }
    })
    .await?;

    let sink = Sink::new();
    let started = Instant::now();
    let handle = Subscriber::new(broker.clone(), "bench")
        .concurrency(IN_FLIGHT)
        .start(Handler(sink.clone()).into_event_handlers())
        .await?;
    let cycle = consume_and_probe(
        plan,
        &sink,
        ConsumeFrom::Start(started),
        published,
        publish_rate,
        accord_probes(&publisher, &sink),
    )
    .await;
    handle.shutdown().await;
    cycle
}

/// The hand-written side: one connection publishing over confirm
/// channels, one consuming, as accord keeps them.
struct Bare {
    publishing: Connection,
    consuming: Connection,
    channels: Vec<Channel>,
    next: AtomicUsize,
    exchange: String,
    queue: String,
}

impl Bare {
    async fn connect(url: &str, id: &str) -> Result<Self> {
        let publishing = Connection::connect(url, ConnectionProperties::default()).await?;
        let consuming = Connection::connect(url, ConnectionProperties::default()).await?;
        let exchange = format!("bench-bare-{id}.events");
        let queue = format!("bench-bare-{id}.group");
        let setup = publishing.create_channel().await?;
        setup
            .exchange_declare(
                exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        setup
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        setup
            .queue_bind(
                queue.as_str().into(),
                exchange.as_str().into(),
                TOPIC.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let _ = setup.close(200, "OK".into()).await;
        let mut channels = Vec::with_capacity(PUBLISH_CHANNELS);
        for _ in 0..PUBLISH_CHANNELS {
            let channel = publishing.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            channels.push(channel);
        }
        Ok(Bare {
            publishing,
            consuming,
            channels,
            next: AtomicUsize::new(0),
            exchange,
            queue,
        })
    }

    /// One persistent publish with the headers accord sends, awaiting the
    /// publisher confirm.
    async fn publish(&self, event: &OrderPlaced) -> Result<()> {
        let payload = serde_json::to_vec(event)?;
        let id = uuid::Uuid::new_v4().to_string();
        let mut headers = FieldTable::default();
        let mut properties = BasicProperties::default().with_delivery_mode(2);
        for (name, value) in event_headers(&id, &event.customer_id.0) {
            if name == "content-type" {
                properties = properties.with_content_type(value.into());
                continue;
            }
            let name = match name.strip_prefix("ce-") {
                Some(attribute) => format!("cloudEvents:{attribute}"),
                None => name.to_owned(),
            };
            headers.insert(
                name.into(),
                AMQPValue::LongString(LongString::from(value.into_bytes())),
            );
        }
        let properties = properties.with_message_id(id.into()).with_headers(headers);
        let channel =
            &self.channels[self.next.fetch_add(1, Ordering::Relaxed) % self.channels.len()];
        let confirmation = channel
            .basic_publish(
                self.exchange.as_str().into(),
                TOPIC.into(),
                BasicPublishOptions::default(),
                &payload,
                properties,
            )
            .await?
            .await?;
        ensure!(confirmation.is_ack(), "RabbitMQ did not confirm a publish");
        Ok(())
    }

    async fn delete(&self) {
        if let Ok(channel) = self.publishing.create_channel().await {
            let _ = channel
                .queue_delete(self.queue.as_str().into(), QueueDeleteOptions::default())
                .await;
            let _ = channel
                .exchange_delete(
                    self.exchange.as_str().into(),
                    ExchangeDeleteOptions::default(),
                )
                .await;
            let _ = channel.close(200, "OK".into()).await;
        }
        let _ = self.publishing.close(200, "OK".into()).await;
        let _ = self.consuming.close(200, "OK".into()).await;
    }
}

async fn bare_cycle(plan: &Plan) -> Result<Cycle> {
    let id = run_id();
    let bare = std::sync::Arc::new(Bare::connect(&plan.amqp_url, &id).await?);
    let result = bare_measure(plan, &bare).await;
    bare.delete().await;
    result
}

async fn bare_measure(plan: &Plan, bare: &std::sync::Arc<Bare>) -> Result<Cycle> {
    let events = events();
    let (publish_rate, published) =
        publish_windowed(plan, |n| bare.publish(&events[(n % CUSTOMERS) as usize])).await?;

    let sink = Sink::new();
    let started = Instant::now();
    let channel = bare.consuming.create_channel().await?;
    channel
        .basic_qos(IN_FLIGHT as u16, BasicQosOptions { global: false })
        .await?;
    let mut consumer = channel
        .basic_consume(
            bare.queue.as_str().into(),
            "bench".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let consumer_sink = sink.clone();
    let consuming = tokio::spawn(async move {
        while let Some(delivery) = consumer.next().await {
            let delivery = delivery?;
            let event: OrderPlaced = serde_json::from_slice(&delivery.data)?;
            consumer_sink.handle(&event);
            delivery.acker.ack(BasicAckOptions::default()).await?;
        }
        anyhow::Ok(())
    });
    let cycle = consume_and_probe(
        plan,
        &sink,
        ConsumeFrom::Start(started),
        published,
        publish_rate,
        |n| {
            let bare = bare.clone();
            let sink = sink.clone();
            tokio::spawn(async move { bare.publish(&order_placed(n, sink.stamp())).await })
        },
    )
    .await;
    consuming.abort();
    let _ = channel.close(200, "OK".into()).await;
    cycle
}
