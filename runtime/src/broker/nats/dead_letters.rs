//! Browsing and removing a group's dead letters in the dead-letter stream,
//! without a consumer: a dead letter's position is its stream sequence,
//! read with JetStream's get-message API filtered on the group's
//! dead-letter subject, removed with delete-message, purged with a purge
//! filtered on that subject.

use async_nats::jetstream::context::ConsumerInfoErrorKind;
use async_nats::jetstream::stream::{
    DeleteMessageErrorKind, LastRawMessageErrorKind, Stream as JsStream,
};
use async_nats::jetstream::ErrorCode;
use futures_util::StreamExt;

use super::topology::api_error;
use super::{headers, NatsBroker};
use crate::broker::dead_letters::MAX_PAGE;
use crate::broker::{BrokerError, DeadLetter, DeadLetters, DEAD_LETTER_TOPIC};

/// The most streams looked through for a group's consumers: 1,000.
const MAX_STREAMS: usize = 1000;

impl NatsBroker {
    async fn dead_letter_stream(&self) -> Result<JsStream, BrokerError> {
        let name = self.dead_letter_stream_name();
        self.jetstream()
            .get_stream(name)
            .await
            .map_err(|e| api_error(&format!("reading the dead-letter stream `{name}`"), e))
    }
}

impl DeadLetters for NatsBroker {
    /// A group exists when a stream accord declared (or the dead-letter
    /// stream) has its durable consumer, or when it has dead letters.
    async fn group_exists(&self, group: &str) -> Result<bool, BrokerError> {
        if self.count_dead_letters(group).await? > 0 {
            return Ok(true);
        }
        let consumer = NatsBroker::consumer_name(group);
        let topic_prefix = format!("{}_", self.inner.prefix);
        let mut names = self.jetstream().stream_names().take(MAX_STREAMS);
        while let Some(name) = names.next().await {
            let name = name.map_err(|e| api_error("listing the JetStream streams", e))?;
            if !name.starts_with(&topic_prefix) && name != self.dead_letter_stream_name() {
                continue;
            }
            let Ok(stream) = self.jetstream().get_stream_no_info(&name).await else {
                continue;
            };
            match stream.consumer_info(&consumer).await {
                Ok(_) => return Ok(true),
                Err(e) if e.kind() == ConsumerInfoErrorKind::NotFound => {}
                Err(e) => {
                    return Err(api_error(
                        &format!("looking up consumer `{consumer}` on stream `{name}`"),
                        e,
                    ))
                }
            }
        }
        Ok(false)
    }

    async fn count_dead_letters(&self, group: &str) -> Result<u64, BrokerError> {
        let subject = self.dead_letter_subject(group);
        let stream = self.dead_letter_stream().await?;
        let mut subjects = stream
            .info_with_subjects(&subject)
            .await
            .map_err(|e| api_error("counting dead letters", e))?;
        let mut count = 0;
        while let Some(entry) = subjects.next().await {
            let (name, n) = entry.map_err(|e| api_error("counting dead letters", e))?;
            if name == subject {
                count += n as u64;
            }
        }
        Ok(count)
    }

    async fn list_dead_letters(
        &self,
        group: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, BrokerError> {
        let subject = self.dead_letter_subject(group);
        let stream = self.dead_letter_stream().await?;
        let mut letters = Vec::new();
        let mut next = after.saturating_add(1);
        while letters.len() < limit.min(MAX_PAGE) {
            let found = stream
                .raw_message_builder()
                .sequence(next)
                .next_by_subject(subject.clone())
                .send()
                .await;
            let raw = match found {
                Ok(raw) => raw,
                Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => break,
                Err(e) => return Err(api_error("reading a dead letter", e)),
            };
            let mut message =
                headers::from_nats(raw.subject.as_str(), Some(&raw.headers), raw.payload);
            if let Some(topic) = message.header(DEAD_LETTER_TOPIC) {
                message.topic = topic.to_owned();
            }
            next = raw.sequence.saturating_add(1);
            letters.push(DeadLetter {
                position: raw.sequence,
                message,
            });
        }
        Ok(letters)
    }

    async fn remove_dead_letters(
        &self,
        _group: &str,
        letters: &[DeadLetter],
    ) -> Result<u64, BrokerError> {
        let stream = self.dead_letter_stream().await?;
        let mut removed = 0;
        for letter in letters {
            match stream.delete_message(letter.position).await {
                Ok(true) => removed += 1,
                Ok(false) => {}
                Err(e) => match e.kind() {
                    DeleteMessageErrorKind::JetStream(err)
                        if err.error_code() == ErrorCode::NO_MESSAGE_FOUND =>
                    {
                        // Removed meanwhile (by another replay or purge).
                    }
                    _ => {
                        return Err(api_error(
                            &format!("removing dead letter {}", letter.position),
                            e,
                        ))
                    }
                },
            }
        }
        Ok(removed)
    }

    async fn purge_dead_letters(&self, group: &str) -> Result<u64, BrokerError> {
        let subject = self.dead_letter_subject(group);
        let stream = self.dead_letter_stream().await?;
        let purged = stream
            .purge()
            .filter(subject.clone())
            .await
            .map_err(|e| api_error(&format!("purging the dead letters on `{subject}`"), e))?;
        Ok(purged.purged)
    }
}
