//! The hand-written NATS JetStream side: a stream declared as accord
//! declares its own, and a publish of the message accord sends. Shared by
//! the `nats` and `outbox` sections and `examples/nats_cost.rs`.

use std::time::Duration;

use anyhow::Result;
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
