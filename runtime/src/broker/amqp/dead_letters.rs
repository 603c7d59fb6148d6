//! Browsing and removing a group's dead letters in its dead-letter queue,
//! `<prefix>.group.<group>.dead-letter`.
//!
//! A queue is read from its head only, so listing takes messages with
//! `basic.get` on a channel of its own, without acknowledging them, and
//! closing the channel puts them back where they were. A dead letter's
//! position is its place in the queue (from 1) at the time of listing;
//! removal matches dead letters by event id (by position for one without),
//! acknowledging those it removes. Each operation looks through at most
//! [`MAX_SCAN`] messages.

use std::collections::BTreeMap;

use lapin::options::{BasicAckOptions, BasicGetOptions, QueueDeclareOptions, QueuePurgeOptions};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::types::FieldTable;
use lapin::{Channel, ErrorKind};

use super::connection::open_channel;
use super::{codec, lapin_error, short, AmqpBroker};
use crate::broker::dead_letters::{MAX_PAGE, MAX_SCAN};
use crate::broker::{BrokerError, DeadLetter, DeadLetters};

/// Whether `error` is RabbitMQ's 404: the queue does not exist.
fn is_not_found(error: &lapin::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::ProtocolError(e) if matches!(e.kind(), AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND))
    )
}

/// A dead letter taken from the queue and not yet settled.
struct Taken {
    tag: u64,
    letter: DeadLetter,
}

impl AmqpBroker {
    /// A channel of its own and how many messages `queue` holds; `None`
    /// when the queue does not exist.
    async fn inspect(&self, queue: &str) -> Result<Option<(Channel, u32)>, BrokerError> {
        self.check_open()?;
        let connection = self.connection(&self.inner.publish_link).await?;
        let channel = open_channel(&connection).await?;
        let declared = channel
            .queue_declare(
                short(queue)?,
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await;
        match declared {
            Ok(found) => Ok(Some((channel, found.message_count()))),
            // The 404 closed the channel.
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(lapin_error(&format!("looking up the queue `{queue}`"), e)),
        }
    }

    /// Takes up to `count` dead letters of `queue` from its head, unsettled.
    async fn take(channel: &Channel, queue: &str, count: usize) -> Result<Vec<Taken>, BrokerError> {
        let mut taken = Vec::new();
        while taken.len() < count {
            let got = channel
                .basic_get(short(queue)?, BasicGetOptions { no_ack: false })
                .await
                .map_err(|e| lapin_error(&format!("reading the queue `{queue}`"), e))?;
            let Some(got) = got else { break };
            let delivery = got.delivery;
            let message = codec::decode(
                delivery.routing_key.as_str(),
                &delivery.properties,
                delivery.data.into(),
            );
            taken.push(Taken {
                tag: delivery.delivery_tag,
                letter: DeadLetter {
                    position: taken.len() as u64 + 1,
                    message,
                },
            });
        }
        Ok(taken)
    }
}

/// Closes `channel`, which puts back what it took and did not acknowledge.
async fn put_back(channel: Channel) {
    if let Err(error) = channel.close(200, "OK".into()).await {
        tracing::debug!(%error, "closing a dead-letter channel; RabbitMQ puts its messages back when the connection ends");
    }
}

/// Each operation waits at most
/// [`AmqpOptions::operation_timeout`](super::AmqpOptions::operation_timeout)
/// for RabbitMQ; a channel left by one that timed out is closed as it
/// drops, which puts back what it took.
impl DeadLetters for AmqpBroker {
    /// A group exists when its queue does.
    async fn group_exists(&self, group: &str) -> Result<bool, BrokerError> {
        let what = format!("looking up the group `{group}`");
        self.answered(&what, async {
            match self.inspect(&self.inner.names.group_queue(group)).await? {
                Some((channel, _)) => {
                    put_back(channel).await;
                    Ok(true)
                }
                None => Ok(false),
            }
        })
        .await
    }

    async fn count_dead_letters(&self, group: &str) -> Result<u64, BrokerError> {
        let what = format!("counting the dead letters of `{group}`");
        self.answered(&what, async {
            match self
                .inspect(&self.inner.names.dead_letter_queue(group))
                .await?
            {
                Some((channel, count)) => {
                    put_back(channel).await;
                    Ok(u64::from(count))
                }
                None => Ok(0),
            }
        })
        .await
    }

    async fn list_dead_letters(
        &self,
        group: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, BrokerError> {
        let what = format!("listing the dead letters of `{group}`");
        self.answered(&what, async {
            let queue = self.inner.names.dead_letter_queue(group);
            let Some((channel, _)) = self.inspect(&queue).await? else {
                return Ok(Vec::new());
            };
            let reach = usize::try_from(after)
                .unwrap_or(usize::MAX)
                .saturating_add(limit.min(MAX_PAGE))
                .min(MAX_SCAN);
            let taken = AmqpBroker::take(&channel, &queue, reach).await;
            put_back(channel).await;
            Ok(taken?
                .into_iter()
                .map(|t| t.letter)
                .filter(|letter| letter.position > after)
                .collect())
        })
        .await
    }

    async fn remove_dead_letters(
        &self,
        group: &str,
        letters: &[DeadLetter],
    ) -> Result<u64, BrokerError> {
        let what = format!("removing dead letters of `{group}`");
        self.answered(&what, async {
            let queue = self.inner.names.dead_letter_queue(group);
            let Some((channel, count)) = self.inspect(&queue).await? else {
                return Ok(0);
            };
            let mut by_id: BTreeMap<&str, usize> = BTreeMap::new();
            let mut by_position = Vec::new();
            for letter in letters {
                match letter.event_id() {
                    Some(id) => *by_id.entry(id).or_default() += 1,
                    None => by_position.push(letter.position),
                }
            }
            let taken = AmqpBroker::take(&channel, &queue, (count as usize).min(MAX_SCAN)).await;
            let taken = match taken {
                Ok(taken) => taken,
                Err(error) => {
                    put_back(channel).await;
                    return Err(error);
                }
            };
            let mut removed = 0;
            for t in &taken {
                let wanted = match t.letter.event_id() {
                    Some(id) => by_id.get_mut(id).filter(|n| **n > 0).map(|n| *n -= 1),
                    None => by_position.contains(&t.letter.position).then_some(()),
                };
                if wanted.is_some() {
                    let acked = channel
                        .basic_ack(t.tag, BasicAckOptions::default())
                        .await
                        .map_err(|e| lapin_error("removing a dead letter", e));
                    if let Err(error) = acked {
                        put_back(channel).await;
                        return Err(error);
                    }
                    removed += 1;
                }
            }
            put_back(channel).await;
            Ok(removed)
        })
        .await
    }

    async fn purge_dead_letters(&self, group: &str) -> Result<u64, BrokerError> {
        let what = format!("purging the dead letters of `{group}`");
        self.answered(&what, async {
            let queue = self.inner.names.dead_letter_queue(group);
            let Some((channel, _)) = self.inspect(&queue).await? else {
                return Ok(0);
            };
            let purged = channel
                .queue_purge(short(&queue)?, QueuePurgeOptions::default())
                .await
                .map_err(|e| lapin_error(&format!("purging the queue `{queue}`"), e));
            put_back(channel).await;
            Ok(u64::from(purged?))
        })
        .await
    }
}
