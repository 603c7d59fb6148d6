//! Publishing records: events and dead letters,
//! each acknowledged by the broker (`acks=all`) before it counts.

use rdkafka::message::OwnedHeaders;
use rdkafka::producer::FutureRecord;

use super::headers;
use super::topology::kafka_error;
use super::KafkaBroker;
use crate::broker::limits::dead_letter_reason;
use crate::broker::{
    BrokerError, EventEnvelope, Message, Publish, DEAD_LETTER_ATTEMPTS, DEAD_LETTER_GROUP,
    DEAD_LETTER_REASON, DEAD_LETTER_TOPIC,
};

impl KafkaBroker {
    /// Sends one record to `topic` (the `partition` given, or the key's)
    /// and waits for the broker's acknowledgement.
    async fn send(
        &self,
        topic: &str,
        (key, payload): (Option<&str>, &[u8]),
        headers: OwnedHeaders,
        partition: Option<i32>,
    ) -> Result<(), BrokerError> {
        let mut record: FutureRecord<'_, str, [u8]> =
            FutureRecord::to(topic).payload(payload).headers(headers);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(partition) = partition {
            record = record.partition(partition);
        }
        self.inner
            .producer
            .send(record, self.inner.options.publish_timeout)
            .await
            .map(|_| ())
            .map_err(|(e, _)| kafka_error(&format!("publishing on `{topic}`"), e))
    }

    /// Stores a dead letter of `group` on its dead-letter topic.
    pub(super) async fn publish_dead_letter(
        &self,
        message: &Message,
        group: &str,
        reason: &str,
        attempts: u32,
    ) -> Result<(), BrokerError> {
        let attempts = attempts.to_string();
        let reason = dead_letter_reason(reason);
        let extra = [
            (DEAD_LETTER_REASON, reason.as_ref()),
            (DEAD_LETTER_ATTEMPTS, attempts.as_str()),
            (DEAD_LETTER_TOPIC, message.topic.as_str()),
            (DEAD_LETTER_GROUP, group),
        ];
        let (headers, size) = headers::to_kafka(message, &extra, None)?;
        headers::check_size(message, size, self.inner.options.max_message_bytes, false)?;
        let topic = self.dead_letter_topic(group);
        self.ensure_topics(&[&topic]).await?;
        self.send(&topic, parts(message), headers, None).await
    }
}

impl Publish for KafkaBroker {
    async fn publish(&self, message: Message) -> Result<(), BrokerError> {
        let options = &self.inner.options;
        let (headers, size) = headers::to_kafka(&message, &[], Some(options.max_header_bytes))?;
        headers::check_size(&message, size, options.max_message_bytes, true)?;
        self.ensure_topics(&[&message.topic]).await?;
        self.send(&message.topic, parts(&message), headers, None)
            .await
    }

    async fn publish_event(&self, event: EventEnvelope<'_>) -> Result<(), BrokerError> {
        let options = &self.inner.options;
        let (headers, size) = headers::event_to_kafka(&event, Some(options.max_header_bytes))?;
        headers::check_event_size(&event, size, options.max_message_bytes)?;
        self.ensure_topics(&[event.topic]).await?;
        self.send(event.topic, (event.key, &event.payload), headers, None)
            .await
    }
}

/// The key and payload of `message`'s record.
fn parts(message: &Message) -> (Option<&str>, &[u8]) {
    (message.key.as_deref(), &message.payload)
}
