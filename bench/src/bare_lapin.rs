//! The hand-written RabbitMQ side: one connection publishing over confirm
//! channels and one consuming, an exchange and a durable queue bound to it,
//! as accord keeps them. Shared by the `amqp` section and
//! `examples/amqp_cost.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};

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
use tokio::task::JoinHandle;

use crate::work::EventAttributes;

/// Confirm channels publishing is spread over (accord's default).
pub const PUBLISH_CHANNELS: usize = 4;

pub struct BareLapin {
    pub consuming: Connection,
    pub queue: String,
    publishing: Connection,
    channels: Vec<Channel>,
    next: AtomicUsize,
    exchange: String,
    topic: &'static str,
}

impl BareLapin {
    /// Connects and declares the exchange and queue of run `id` for the
    /// events of `topic`.
    pub async fn connect(url: &str, id: &str, topic: &'static str) -> Result<Self> {
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
                topic.into(),
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
        Ok(BareLapin {
            consuming,
            queue,
            publishing,
            channels,
            next: AtomicUsize::new(0),
            exchange,
            topic,
        })
    }

    /// One persistent publish with the headers accord sends (CloudEvents
    /// in the AMQP binding's `cloudEvents:` names, the content type as the
    /// property, the id also as the message id), awaiting the confirm.
    pub async fn publish(&self, event: &OrderPlaced) -> Result<()> {
        let payload = serde_json::to_vec(event)?;
        let EventAttributes {
            id,
            time,
            traceparent,
        } = EventAttributes::new();
        let pairs = [
            ("cloudEvents:specversion", "1.0"),
            ("cloudEvents:id", id.as_str()),
            ("cloudEvents:source", "/bench-orders"),
            ("cloudEvents:type", self.topic),
            ("cloudEvents:time", time.as_str()),
            ("traceparent", traceparent.as_str()),
            ("accord-key", event.customer_id.0.as_str()),
        ];
        let mut headers = FieldTable::default();
        for (name, value) in pairs {
            headers.insert(
                name.into(),
                AMQPValue::LongString(LongString::from(value.as_bytes())),
            );
        }
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(id.into())
            .with_headers(headers);
        let channel =
            &self.channels[self.next.fetch_add(1, Ordering::Relaxed) % self.channels.len()];
        let confirmation = channel
            .basic_publish(
                self.exchange.as_str().into(),
                self.topic.into(),
                BasicPublishOptions::default(),
                &payload,
                properties,
            )
            .await?
            .await?;
        ensure!(confirmation.is_ack(), "RabbitMQ did not confirm a publish");
        Ok(())
    }

    /// The hand-written consumer of the queue: on a channel of its own with
    /// a prefetch of `prefetch`, one task decoding, handling and acking one
    /// delivery at a time. The channel, and the task (which ends on the
    /// first error).
    pub async fn consume(
        &self,
        prefetch: u16,
        handle: impl Fn(&OrderPlaced) + Send + 'static,
    ) -> Result<(Channel, JoinHandle<Result<()>>)> {
        let channel = self.consuming.create_channel().await?;
        channel
            .basic_qos(prefetch, BasicQosOptions { global: false })
            .await?;
        let mut consumer = channel
            .basic_consume(
                self.queue.as_str().into(),
                "bench".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let consuming = tokio::spawn(async move {
            while let Some(delivery) = consumer.next().await {
                let delivery = delivery?;
                let event: OrderPlaced = serde_json::from_slice(&delivery.data)?;
                handle(&event);
                delivery.acker.ack(BasicAckOptions::default()).await?;
            }
            anyhow::Ok(())
        });
        Ok((channel, consuming))
    }

    /// Deletes the queue and exchange and closes both connections.
    pub async fn delete(&self) {
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
