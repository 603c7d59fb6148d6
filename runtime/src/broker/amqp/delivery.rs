//! Deliveries of a group member and settling them.
//!
//! Each delivery is settled once, guarded by its own state (and lapin's
//! one-shot acker), so a delivery tag is never acked twice, which would
//! close the channel. When the client-side ack wait runs out, a copy goes
//! back to the group's queue as the next attempt while the original stays
//! unacked: the consumer's prefetch stays taken by the delivery still in
//! its handler, so the broker sends nothing more to this member than it can
//! take. The stale delivery's settlement, whenever it comes, only acks the
//! original. A delivery keeps its channel open until it is settled or
//! dropped, also after its subscription was dropped.
//!
//! A delivery from a key partition queue (a group ordered by key) is never
//! copied to the end of a queue, which would let later events of its key
//! overtake it: a release, an expired ack wait and a retry (after its
//! delay, held by the member meanwhile) hand the original back to the
//! queue, where RabbitMQ returns it ahead of the rest.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use lapin::{Acker, BasicProperties, Channel};
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::AbortHandle;

use super::codec::{self, Copy};
use super::{lapin_error, AmqpBroker, Routed};
use crate::broker::limits::{cap_text, dead_letter_reason, MAX_REASON_BYTES};
use crate::broker::{
    BrokerError, Delivery, Message, Retry, DEAD_LETTER_ATTEMPTS, DEAD_LETTER_GROUP,
    DEAD_LETTER_REASON, DEAD_LETTER_TOPIC,
};

/// How long an ack or a nack may take to be written: the broker answers
/// neither, so one still unwritten after this is on a connection that broke
/// (lapin can leave it waiting for good), and the broker delivers the
/// message again once it sees the connection gone.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Not settled yet.
const PENDING: u8 = 0;
/// The ack wait ran out and a copy went back to the queue; the original is
/// still unacked.
const EXPIRED: u8 = 1;
/// Settled, or being settled.
const SETTLED: u8 = 2;

/// What the one settling a delivery takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Taken {
    /// A delivery to settle.
    Pending,
    /// A delivery whose ack wait ran out: only the original is left to ack.
    Expired,
    /// Nothing: it was settled already.
    Settled,
}

/// A delivery's settlement state and what republishing it needs.
pub(super) struct Unsettled {
    broker: AmqpBroker,
    group: Arc<str>,
    queue: Arc<str>,
    state: AtomicU8,
    acker: Acker,
    /// Keeps the channel, and so the delivery tag, valid until settled.
    _channel: Channel,
    properties: BasicProperties,
    payload: Bytes,
    /// Shared with the delivery, not copied.
    message: Arc<Message>,
    pub(super) attempt: u32,
    /// From a key partition queue: handed back to its queue, never copied
    /// to the end of one.
    ordered: bool,
    /// A partition queue's last message handed back, and its attempt.
    returned: Option<Returned>,
}

/// The last message a partition queue's member handed back, with its
/// attempt: RabbitMQ only flags a returned message as redelivered, so the
/// member counts the attempts of the one message of the partition it
/// retries (one per partition: the prefetch is one).
pub(super) type Returned = Arc<std::sync::Mutex<Option<(Arc<Message>, u32)>>>;

impl Unsettled {
    pub(super) fn new(
        broker: AmqpBroker,
        group: Arc<str>,
        queue: Arc<str>,
        channel: Channel,
        delivery: lapin::message::Delivery,
        returned: Option<Returned>,
    ) -> Self {
        let lapin::message::Delivery {
            routing_key,
            redelivered,
            properties,
            data,
            acker,
            ..
        } = delivery;
        let payload = Bytes::from(data);
        let message = Arc::new(codec::decode(
            routing_key.as_str(),
            &properties,
            payload.clone(),
        ));
        let mut attempt = codec::attempt(&properties, redelivered);
        if let (Some(returned), true) = (&returned, redelivered) {
            let mut last = returned.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, before)) = last.take().filter(|(same, _)| **same == *message) {
                attempt = before.saturating_add(1);
            }
        }
        let ordered = returned.is_some();
        Unsettled {
            broker,
            group,
            queue,
            state: AtomicU8::new(PENDING),
            acker,
            _channel: channel,
            properties,
            payload,
            message,
            attempt,
            ordered,
            returned,
        }
    }

    /// Takes the right to settle the delivery.
    pub(super) fn take(&self) -> Taken {
        match self.state.swap(SETTLED, Ordering::AcqRel) {
            PENDING => Taken::Pending,
            EXPIRED => Taken::Expired,
            _ => Taken::Settled,
        }
    }

    /// The ack wait ran out: a copy goes back to the queue as the next
    /// attempt; the original stays unacked until the delivery is settled or
    /// dropped. If the copy cannot be published, the original goes back to
    /// the broker instead.
    pub(super) async fn expire(&self) {
        if self.ordered {
            // Handed back whole: RabbitMQ delivers it again ahead of the
            // later events of its partition. A late settlement finds it
            // settled and does nothing.
            if self.take() == Taken::Pending && !self.acker.poisoned() {
                tracing::debug!(
                    group = %self.group,
                    "a keyed delivery was not settled within the ack wait; handing it back"
                );
                self.nack_requeue().await;
            }
            return;
        }
        if self
            .state
            .compare_exchange(PENDING, EXPIRED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
            || self.acker.poisoned()
        {
            return;
        }
        tracing::debug!(
            group = %self.group,
            "a delivery was not settled within the ack wait; delivering it again"
        );
        let properties = codec::copy(
            &self.properties,
            &self.message.topic,
            Copy::Again {
                next_attempt: self.attempt + 1,
            },
        );
        let published = self
            .broker
            .publish_raw("", &self.queue, true, &self.payload, properties)
            .await;
        if published != Ok(Routed::Yes) && self.take() == Taken::Expired {
            self.nack_requeue().await;
        }
    }

    /// Acks the original of a delivery whose ack wait ran out.
    async fn ack_expired(&self) {
        if let Err(error) = self.ack().await {
            tracing::debug!(%error, "could not ack a delivery whose ack wait ran out");
        }
    }

    fn channel_lost() -> BrokerError {
        BrokerError::Connection(
            "the delivery's channel closed before it was settled; the broker delivers it again"
                .into(),
        )
    }

    async fn ack(&self) -> Result<(), BrokerError> {
        let acked =
            tokio::time::timeout(SETTLE_TIMEOUT, self.acker.ack(BasicAckOptions::default()));
        match acked.await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) | Err(_) => Err(Self::channel_lost()),
            Ok(Err(error)) => Err(lapin_error("acking", error)),
        }
    }

    async fn nack_requeue(&self) {
        if let Some(returned) = &self.returned {
            *returned.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((self.message.clone(), self.attempt));
        }
        let nack = self.acker.nack(BasicNackOptions {
            multiple: false,
            requeue: true,
        });
        // Not handed back in time: the connection broke, and the broker
        // hands the message back itself.
        let _ = tokio::time::timeout(SETTLE_TIMEOUT, nack).await;
    }

    /// Delivers the message to the group again as attempt `next_attempt`:
    /// publishes a copy to the group's queue, then acks the original; if the
    /// copy cannot be published, hands the original back to the broker
    /// instead.
    pub(super) async fn requeue(&self, next_attempt: u32) {
        if self.acker.poisoned() {
            // The channel is gone; the broker has put the message back.
            return;
        }
        if self.ordered {
            self.nack_requeue().await;
            return;
        }
        let properties = codec::copy(
            &self.properties,
            &self.message.topic,
            Copy::Again { next_attempt },
        );
        match self
            .broker
            .publish_raw("", &self.queue, true, &self.payload, properties)
            .await
        {
            Ok(Routed::Yes) => {
                if let Err(error) = self.ack().await {
                    tracing::debug!(%error, "could not ack a delivery published again");
                }
            }
            Ok(Routed::Returned) | Err(_) => self.nack_requeue().await,
        }
    }

    /// Delivers the message to the group again after `delay`, as the next
    /// attempt: a copy goes to a retry queue and the original is acked.
    /// When the copy cannot be published, the original is kept and handed
    /// back to the broker once the delay is over.
    async fn retry(self: Arc<Self>, delay: Duration) -> Result<(), BrokerError> {
        let unsettled = self;
        if unsettled.ordered {
            // Held unacked for the delay, so the partition's prefetch of one
            // keeps the later events of its keys back, then handed back to
            // the head of its queue (a quorum queue counts the return in
            // `x-delivery-count`). Should the member die meanwhile, RabbitMQ
            // hands it to the next member at once.
            let broker = unsettled.broker.clone();
            broker.spawn(async move {
                tokio::time::sleep(delay).await;
                unsettled.nack_requeue().await;
            });
            return Ok(());
        }
        let properties = codec::copy(
            &unsettled.properties,
            &unsettled.message.topic,
            Copy::Again {
                next_attempt: unsettled.attempt + 1,
            },
        );
        let published = if delay.is_zero() {
            unsettled
                .broker
                .publish_raw("", &unsettled.queue, true, &unsettled.payload, properties)
                .await
        } else {
            unsettled
                .broker
                .publish_retry(&unsettled.group, delay, &unsettled.payload, properties)
                .await
        };
        match published {
            Ok(Routed::Yes) => unsettled.ack().await,
            Ok(Routed::Returned) | Err(_) => {
                // The copy could not be published: keep the original and
                // hand it back to the broker once the delay is over.
                let error = match published {
                    Err(error) => cap_text(&error.to_string(), MAX_REASON_BYTES).into_owned(),
                    _ => "no queue took it".to_owned(),
                };
                tracing::warn!(
                    %error,
                    "could not publish a retry; the broker redelivers the original after the delay"
                );
                let broker = unsettled.broker.clone();
                broker.spawn(async move {
                    tokio::time::sleep(delay).await;
                    unsettled.nack_requeue().await;
                });
                Ok(())
            }
        }
    }
}

/// A delivery from an [`AmqpBroker`](super::AmqpBroker).
pub struct AmqpDelivery {
    unsettled: Arc<Unsettled>,
    message: Arc<Message>,
    attempt: u32,
    timer: AbortHandle,
    _slot: OwnedSemaphorePermit,
}

impl AmqpDelivery {
    /// A delivery settled through `unsettled`, whose ack wait `timer`
    /// watches, holding a `slot` of its member's in-flight limit.
    pub(super) fn new(
        unsettled: Arc<Unsettled>,
        timer: AbortHandle,
        slot: OwnedSemaphorePermit,
    ) -> Self {
        AmqpDelivery {
            message: unsettled.message.clone(),
            attempt: unsettled.attempt,
            unsettled,
            timer,
            _slot: slot,
        }
    }
}

impl std::fmt::Debug for AmqpDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpDelivery")
            .field("group", &self.unsettled.group)
            .field("topic", &self.message.topic)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl AmqpDelivery {
    /// Takes the right to settle, acking the original (and returning
    /// `false`) when the ack wait ran out.
    async fn take(&self) -> bool {
        match self.unsettled.take() {
            Taken::Pending => {
                self.timer.abort();
                true
            }
            Taken::Expired => {
                // The message went to the group again; this late settlement
                // only releases the original.
                self.unsettled.ack_expired().await;
                false
            }
            Taken::Settled => false,
        }
    }
}

impl Drop for AmqpDelivery {
    fn drop(&mut self) {
        let taken = self.unsettled.take();
        if taken == Taken::Settled {
            return;
        }
        self.timer.abort();
        let unsettled = self.unsettled.clone();
        self.unsettled.broker.spawn(async move {
            match taken {
                Taken::Pending => unsettled.requeue(unsettled.attempt + 1).await,
                _ => unsettled.ack_expired().await,
            }
        });
    }
}

impl Delivery for AmqpDelivery {
    fn message(&self) -> &Arc<Message> {
        &self.message
    }

    fn attempt(&self) -> u32 {
        self.attempt
    }

    async fn ack(self) -> Result<(), BrokerError> {
        if !self.take().await {
            return Ok(());
        }
        self.unsettled.ack().await
    }

    async fn dead_letter(self, reason: &str) -> Result<(), BrokerError> {
        self.dead_letter_or_retry(reason, Duration::ZERO).await
    }
}

impl Retry for AmqpDelivery {
    async fn retry(self, delay: Duration) -> Result<(), BrokerError> {
        if !self.take().await {
            return Ok(());
        }
        let unsettled = self.unsettled.clone();
        if unsettled.acker.poisoned() {
            return Err(Unsettled::channel_lost());
        }
        unsettled.retry(delay).await
    }

    async fn dead_letter_or_retry(
        self,
        reason: &str,
        retry_after: Duration,
    ) -> Result<(), BrokerError> {
        if !self.take().await {
            return Ok(());
        }
        let unsettled = self.unsettled.clone();
        if unsettled.acker.poisoned() {
            return Err(Unsettled::channel_lost());
        }
        let headers = [
            (DEAD_LETTER_REASON, dead_letter_reason(reason).into_owned()),
            (DEAD_LETTER_ATTEMPTS, unsettled.attempt.to_string()),
            (DEAD_LETTER_TOPIC, unsettled.message.topic.clone()),
            (DEAD_LETTER_GROUP, unsettled.group.to_string()),
        ];
        let properties = codec::copy(
            &unsettled.properties,
            &unsettled.message.topic,
            Copy::DeadLetter { headers: &headers },
        );
        match unsettled
            .broker
            .publish_dead_letter(&unsettled.group, &unsettled.payload, properties)
            .await
        {
            Ok(()) => unsettled.ack().await,
            Err(error) => {
                if retry_after.is_zero() {
                    unsettled.nack_requeue().await;
                } else if let Err(release) = unsettled.retry(retry_after).await {
                    tracing::debug!(%release, "could not release a delivery whose dead letter was refused");
                }
                Err(error)
            }
        }
    }
}
