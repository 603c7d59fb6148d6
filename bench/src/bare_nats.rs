//! The hand-written NATS JetStream side: a stream declared as accord
//! declares its own, a publish of the message accord sends, and the
//! consumer that reads it. Shared by the `nats` and `outbox` sections,
//! `examples/nats_cost.rs` and `examples/nats_consume_cost.rs`.

use std::time::Duration;

use anyhow::Result;
use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{Config, DiscardPolicy, RetentionPolicy, StorageType, Stream};
use async_nats::jetstream::Context;
use bytes::Bytes;
use orders_contract::OrderPlaced;

use crate::work::EventAttributes;

/// Creates stream `name` capturing `subject`, with the settings accord
/// gives its own: limits retention, file storage, one replica, two
/// minutes of publish dedupe.
pub async fn create_stream(js: &Context, name: String, subject: &str) -> Result<Stream> {
    Ok(js
        .create_stream(Config {
            name,
            subjects: vec![subject.to_owned()],
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::Old,
            storage: StorageType::File,
            num_replicas: 1,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await?)
}

/// The bare side's reading of `stream`: a durable pull consumer `name`
/// from the stream's first message, with explicit acks (redelivered after
/// 30 s), unlimited deliveries and `max_ack_pending` four times
/// `in_flight`, read in batches of `in_flight`. It reads `filter_subject`,
/// or the whole stream when that is empty.
pub async fn messages(
    stream: &Stream,
    name: &str,
    filter_subject: &str,
    in_flight: usize,
) -> Result<pull::Stream> {
    let consumer = stream
        .create_consumer(pull::Config {
            durable_name: Some(name.to_owned()),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: Duration::from_secs(30),
            max_deliver: -1,
            max_ack_pending: (in_flight * 4) as i64,
            filter_subject: filter_subject.to_owned(),
            ..Default::default()
        })
        .await?;
    Ok(consumer
        .stream()
        .max_messages_per_batch(in_flight)
        .messages()
        .await?)
}

/// One publish of `event` on `subject`: the CloudEvents (of type `topic`),
/// trace and key headers accord sends, the event id as the message id
/// JetStream dedupes on, awaiting the JetStream ack.
pub async fn publish(js: &Context, subject: &str, topic: &str, event: &OrderPlaced) -> Result<()> {
    let payload = Bytes::from(serde_json::to_vec(event)?);
    let EventAttributes {
        id,
        time,
        traceparent,
    } = EventAttributes::new();
    let pairs = [
        ("ce-specversion", "1.0"),
        ("ce-id", id.as_str()),
        ("ce-source", "/bench-orders"),
        ("ce-type", topic),
        ("ce-time", time.as_str()),
        ("content-type", "application/json"),
        ("traceparent", traceparent.as_str()),
        ("accord-key", event.customer_id.0.as_str()),
    ];
    let mut headers = async_nats::HeaderMap::new();
    for (name, value) in pairs {
        headers.insert(name, value);
    }
    let message = PublishMessage::build()
        .payload(payload)
        .headers(headers)
        .message_id(id);
    js.send_publish(subject.to_owned(), message).await?.await?;
    Ok(())
}
