//! Publishing to JetStream: events, awaiting the publish ack, and dead
//! letters.

use std::borrow::Cow;

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::HeaderMap;
use bytes::Bytes;

use super::headers::{self, Bound};
use super::{names, NatsBroker};
use crate::broker::dead_letters::{replay_count, REPLAY_GROUP};
use crate::broker::key_partition;
use crate::broker::limits::dead_letter_reason;
use crate::broker::{
    BrokerError, EventEnvelope, Message, Publish, DEAD_LETTER_ATTEMPTS, DEAD_LETTER_GROUP,
    DEAD_LETTER_REASON, DEAD_LETTER_TOPIC,
};

impl NatsBroker {
    /// The NATS headers of `message`, its `Nats-Msg-Id` included.
    fn message_headers(&self, message: &Message) -> Result<HeaderMap, BrokerError> {
        let mut headers = headers::to_nats(message, Some(self.inner.options.max_header_bytes))?;
        if self.inner.options.publish_dedupe {
            if let Some(id) = message.id().filter(|id| !id.is_empty()) {
                // A replay keeps its event id but must not be taken for a
                // repeat of the original within the duplicate window.
                let id = match (replay_count(message), message.header(REPLAY_GROUP)) {
                    (0, _) | (_, None) => Cow::Borrowed(id),
                    (n, Some(group)) => Cow::Owned(format!("{id}:replay:{group}:{n}")),
                };
                headers::insert(&mut headers, headers::MESSAGE_ID, &id)?;
            }
        }
        Ok(headers)
    }

    /// The NATS headers of `event`, its `Nats-Msg-Id` included: the same
    /// as those of [`EventEnvelope::to_message`], written directly.
    fn event_headers(&self, event: &EventEnvelope<'_>) -> Result<HeaderMap, BrokerError> {
        let mut headers = headers::event_to_nats(event, Some(self.inner.options.max_header_bytes))?;
        if self.inner.options.publish_dedupe && !event.id.is_empty() {
            headers::insert(&mut headers, headers::MESSAGE_ID, event.id)?;
        }
        Ok(headers)
    }

    /// Publishes a message with `headers` on `topic`; `Ok(false)` when no
    /// stream captures its topic (any more).
    async fn publish_once(
        &self,
        topic: &str,
        key: Option<&str>,
        headers: HeaderMap,
        payload: &Bytes,
    ) -> Result<bool, BrokerError> {
        self.check_size(&headers, payload.len(), Bound::Event)?;
        let stream = self.topic_stream(topic).await?;
        // A keyed event goes to its key's partition, where a group ordered
        // by key reads it in order; unordered groups read the whole stream.
        let subject = match key {
            Some(key) if stream.partitions > 0 => {
                names::partition_subject(topic, key_partition::partition_of(key, stream.partitions))
            }
            _ => topic.to_owned(),
        };
        let publish = PublishMessage::build()
            .payload(payload.clone())
            .headers(headers);
        let what = || format!("publishing on `{topic}` (stream `{}`)", stream.name);
        let ack = self
            .inner
            .js
            .send_publish(subject, publish)
            .await
            .map_err(|e| publish_error(&what(), e))?;
        match ack.await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == PublishErrorKind::StreamNotFound => Ok(false),
            Err(e) => Err(publish_error(&what(), e)),
        }
    }

    /// Publishes with the headers `headers` makes, declaring the topic's
    /// stream again once when it was deleted since it was looked up.
    async fn publish_with(
        &self,
        topic: &str,
        key: Option<&str>,
        payload: &Bytes,
        headers: impl Fn() -> Result<HeaderMap, BrokerError>,
    ) -> Result<(), BrokerError> {
        if self.publish_once(topic, key, headers()?, payload).await? {
            return Ok(());
        }
        self.forget_stream(topic);
        if self.publish_once(topic, key, headers()?, payload).await? {
            Ok(())
        } else {
            Err(BrokerError::Rejected(format!(
                "no JetStream stream captures `{topic}`"
            )))
        }
    }

    /// Stores a dead letter of `group` and waits for JetStream to confirm.
    pub(super) async fn publish_dead_letter(
        &self,
        message: &Message,
        group: &str,
        reason: &str,
        attempts: u32,
        (stream, sequence): (&str, u64),
    ) -> Result<(), BrokerError> {
        let mut nats = headers::to_nats(message, None)?;
        headers::insert(&mut nats, DEAD_LETTER_REASON, &dead_letter_reason(reason))?;
        headers::insert(&mut nats, DEAD_LETTER_ATTEMPTS, &attempts.to_string())?;
        headers::insert(&mut nats, DEAD_LETTER_TOPIC, &message.topic)?;
        headers::insert(&mut nats, DEAD_LETTER_GROUP, group)?;
        if !stream.is_empty() {
            // Dead-lettering the same stored message again (when the TERM
            // after this publish was lost) stores it once.
            let id = format!("{group}:{stream}:{sequence}");
            headers::insert(&mut nats, headers::MESSAGE_ID, &id)?;
        }
        self.check_size(&nats, message.payload.len(), Bound::Copy)?;
        let publish = PublishMessage::build()
            .payload(message.payload.clone())
            .headers(nats);
        let subject = self.dead_letter_subject(group);
        let what = || format!("dead-lettering on `{subject}`");
        let ack = self
            .inner
            .js
            .send_publish(subject.clone(), publish)
            .await
            .map_err(|e| publish_error(&what(), e))?;
        ack.await.map_err(|e| publish_error(&what(), e))?;
        Ok(())
    }

    /// Refuses a message the server would not take, by the limits of
    /// `bound`.
    pub(super) fn check_size(
        &self,
        headers: &async_nats::HeaderMap,
        payload: usize,
        bound: Bound,
    ) -> Result<(), BrokerError> {
        let max_payload = self.inner.client.max_payload();
        headers::check_size(headers, payload, max_payload, bound).map_err(BrokerError::from)
    }
}

fn publish_error(what: &str, error: async_nats::jetstream::context::PublishError) -> BrokerError {
    match error.kind() {
        PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe => {
            BrokerError::Connection(format!("{what}: no publish ack from JetStream: {error}"))
        }
        _ => BrokerError::Rejected(format!("{what}: {error}")),
    }
}

impl Publish for NatsBroker {
    async fn publish(&self, message: Message) -> Result<(), BrokerError> {
        self.publish_with(
            &message.topic,
            message.key.as_deref(),
            &message.payload,
            || self.message_headers(&message),
        )
        .await
    }

    async fn publish_event(&self, event: EventEnvelope<'_>) -> Result<(), BrokerError> {
        self.publish_with(event.topic, event.key, &event.payload, || {
            self.event_headers(&event)
        })
        .await
    }
}
