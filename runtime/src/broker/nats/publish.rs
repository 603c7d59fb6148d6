//! Publishing to JetStream: events, awaiting the publish ack, and dead
//! letters.

use std::borrow::Cow;

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;

use super::headers::{self, Bound};
use super::{names, NatsBroker};
use crate::broker::dead_letters::{replay_count, REPLAY_GROUP};
use crate::broker::limits::dead_letter_reason;
use crate::broker::{
    BrokerError, Message, Publish, DEAD_LETTER_ATTEMPTS, DEAD_LETTER_GROUP, DEAD_LETTER_REASON,
    DEAD_LETTER_TOPIC,
};

impl NatsBroker {
    /// Publishes `message`; `Ok(false)` when no stream captures its topic
    /// (any more).
    pub(super) async fn publish_once(&self, message: &Message) -> Result<bool, BrokerError> {
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
        self.check_size(&headers, message.payload.len(), Bound::Event)?;
        let stream = self.topic_stream(&message.topic).await?;
        // A keyed event goes to its key's partition, where a group ordered
        // by key reads it in order; unordered groups read the whole stream.
        let subject = match &message.key {
            Some(key) if stream.partitions > 0 => names::partition_subject(
                &message.topic,
                names::partition_of(key, stream.partitions),
            ),
            _ => message.topic.clone(),
        };
        let publish = PublishMessage::build()
            .payload(message.payload.clone())
            .headers(headers);
        let what = || {
            format!(
                "publishing on `{}` (stream `{}`)",
                message.topic, stream.name
            )
        };
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
        if self.publish_once(&message).await? {
            return Ok(());
        }
        // The stream was deleted since it was looked up: declare it again.
        self.forget_stream(&message.topic);
        if self.publish_once(&message).await? {
            Ok(())
        } else {
            Err(BrokerError::Rejected(format!(
                "no JetStream stream captures `{}`",
                message.topic
            )))
        }
    }
}
