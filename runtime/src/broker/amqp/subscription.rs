//! Group members and their deliveries.
//!
//! A subscription is one consumer on its own channel of the consuming
//! connection, with the prefetch set to `max_in_flight`. When the consumer
//! ends (the connection dropped, the broker cancelled it), the next call to
//! [`next`](Subscription::next) declares the group again and consumes anew,
//! waiting a capped exponential backoff between failed attempts.
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

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
};
use lapin::types::FieldTable;
use lapin::{Acker, BasicProperties, Channel, Consumer};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::AbortHandle;

use super::codec::{self, Copy};
use super::connection::open_channel;
use super::{lapin_error, short, AmqpBroker, AmqpNames, Routed};
use crate::broker::limits::{cap_text, dead_letter_reason, MAX_REASON_BYTES};
use crate::broker::reconnect::{Next, Restarts};
use crate::broker::{
    BrokerError, Capabilities, Delivery, Message, Retry, Subscribe, SubscribeOptions, Subscription,
    DEAD_LETTER_ATTEMPTS, DEAD_LETTER_GROUP, DEAD_LETTER_REASON, DEAD_LETTER_TOPIC,
};

/// What a subscription consumes.
#[derive(Debug, Clone)]
pub(crate) enum Role {
    /// A group's queue, bound to these topics.
    Group { topics: Vec<String> },
    /// The dead letters of the group `of`.
    DeadLetters { of: String },
}

/// A member of a group on an [`AmqpBroker`](super::AmqpBroker).
pub struct AmqpSubscription {
    broker: AmqpBroker,
    group: Arc<str>,
    queue: Arc<str>,
    role: Role,
    prefetch: u16,
    ack_wait: Duration,
    slots: Arc<Semaphore>,
    live: Option<Live>,
    restarts: Restarts,
}

impl std::fmt::Debug for AmqpSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpSubscription")
            .field("group", &self.group)
            .field("queue", &self.queue)
            .field("connected", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

struct Live {
    channel: Channel,
    consumer: Consumer,
}

pub(crate) async fn open(
    broker: AmqpBroker,
    group: String,
    role: Role,
    options: &SubscribeOptions,
) -> Result<AmqpSubscription, BrokerError> {
    let max_in_flight = options.max_in_flight.max(1);
    let queue = broker.names().group_queue(&group);
    let restarts = Restarts::new(
        format!("consuming the group `{group}`"),
        broker.options().max_reconnect_delay,
    );
    let mut subscription = AmqpSubscription {
        broker,
        group: group.into(),
        queue: queue.into(),
        role,
        prefetch: u16::try_from(max_in_flight).unwrap_or(u16::MAX),
        ack_wait: options.ack_wait,
        slots: Arc::new(Semaphore::new(max_in_flight)),
        live: None,
        restarts,
    };
    subscription.live = Some(subscription.start().await?);
    Ok(subscription)
}

impl AmqpSubscription {
    /// Declares the group and starts consuming its queue.
    async fn start(&self) -> Result<Live, BrokerError> {
        let connection = self
            .broker
            .connection(&self.broker.inner.consume_link)
            .await?;
        self.broker
            .declare_role(&connection, &self.group, &self.role)
            .await?;
        let channel = open_channel(&connection).await?;
        channel
            .basic_qos(self.prefetch, BasicQosOptions { global: false })
            .await
            .map_err(|e| lapin_error("setting the prefetch", e))?;
        let consumer = channel
            .basic_consume(
                short(&self.queue)?,
                short(&format!("accord-{}", uuid::Uuid::new_v4().simple()))?,
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| lapin_error(&format!("consuming `{}`", self.queue), e))?;
        Ok(Live { channel, consumer })
    }

    fn wrap(&self, delivery: lapin::message::Delivery, slot: OwnedSemaphorePermit) -> AmqpDelivery {
        let channel = self
            .live
            .as_ref()
            .map(|live| live.channel.clone())
            .expect("a delivery comes from the live consumer");
        let unsettled = Arc::new(Unsettled::new(
            self.broker.clone(),
            self.group.clone(),
            self.queue.clone(),
            channel,
            delivery,
        ));
        let timer = {
            let unsettled = unsettled.clone();
            let ack_wait = self.ack_wait;
            self.broker.inner.runtime.spawn(async move {
                tokio::time::sleep(ack_wait).await;
                unsettled.expire().await;
            })
        };
        AmqpDelivery {
            message: unsettled.message.clone(),
            attempt: unsettled.attempt,
            unsettled,
            timer: timer.abort_handle(),
            _slot: slot,
        }
    }
}

impl Subscription for AmqpSubscription {
    type Delivery = AmqpDelivery;

    async fn next(&mut self) -> Option<AmqpDelivery> {
        let mut closed = self.broker.closed_watch();
        loop {
            if self.broker.is_closed() {
                return None;
            }
            let slot = tokio::select! {
                _ = closed.wait_for(|closed| *closed) => return None,
                slot = self.slots.clone().acquire_owned() => slot.ok()?,
            };
            if self.live.is_none() {
                let attempt = self.start().await;
                match self.restarts.after(attempt, &mut closed).await {
                    Next::Started(live) => self.live = Some(live),
                    Next::TryAgain => continue,
                    Next::Closed => return None,
                }
            }
            let live = self.live.as_mut().expect("started above");
            let next = tokio::select! {
                _ = closed.wait_for(|closed| *closed) => return None,
                next = live.consumer.next() => next,
            };
            match next {
                Some(Ok(delivery)) => return Some(self.wrap(delivery, slot)),
                Some(Err(error)) => {
                    tracing::warn!(group = %self.group, %error, "the consumer failed; consuming again");
                    self.live = None;
                }
                None => {
                    tracing::warn!(group = %self.group, "the broker ended the consumer; consuming again");
                    self.live = None;
                }
            }
        }
    }
}

impl Drop for AmqpSubscription {
    fn drop(&mut self) {
        let Some(live) = self.live.take() else {
            return;
        };
        let broker = self.broker.clone();
        let group = self.group.clone();
        let queue = self.queue.clone();
        self.broker.spawn(async move {
            // Stop the flow, then hand back what the broker sent ahead but
            // no one took, as the same attempt.
            let Live {
                channel,
                mut consumer,
            } = live;
            if channel
                .basic_cancel(consumer.tag(), BasicCancelOptions::default())
                .await
                .is_err()
            {
                return;
            }
            while let Ok(Some(Ok(delivery))) =
                tokio::time::timeout(Duration::from_secs(5), consumer.next()).await
            {
                let unsettled = Unsettled::new(
                    broker.clone(),
                    group.clone(),
                    queue.clone(),
                    channel.clone(),
                    delivery,
                );
                if unsettled.take() == Taken::Pending {
                    unsettled.requeue(unsettled.attempt).await;
                }
            }
        });
    }
}

/// Not settled yet.
const PENDING: u8 = 0;
/// The ack wait ran out and a copy went back to the queue; the original is
/// still unacked.
const EXPIRED: u8 = 1;
/// Settled, or being settled.
const SETTLED: u8 = 2;

/// What the one settling a delivery takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Taken {
    /// A delivery to settle.
    Pending,
    /// A delivery whose ack wait ran out: only the original is left to ack.
    Expired,
    /// Nothing: it was settled already.
    Settled,
}

/// A delivery's settlement state and what republishing it needs.
struct Unsettled {
    broker: AmqpBroker,
    group: Arc<str>,
    queue: Arc<str>,
    state: AtomicU8,
    acker: Acker,
    /// Keeps the channel, and so the delivery tag, valid until settled.
    _channel: Channel,
    properties: BasicProperties,
    payload: Bytes,
    message: Message,
    attempt: u32,
}

impl Unsettled {
    fn new(
        broker: AmqpBroker,
        group: Arc<str>,
        queue: Arc<str>,
        channel: Channel,
        delivery: lapin::message::Delivery,
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
        let message = codec::decode(routing_key.as_str(), &properties, payload.clone());
        let attempt = codec::attempt(&properties, redelivered);
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
        }
    }

    /// Takes the right to settle the delivery.
    fn take(&self) -> Taken {
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
    async fn expire(&self) {
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
        match self.acker.ack(BasicAckOptions::default()).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Self::channel_lost()),
            Err(error) => Err(lapin_error("acking", error)),
        }
    }

    async fn nack_requeue(&self) {
        let _ = self
            .acker
            .nack(BasicNackOptions {
                multiple: false,
                requeue: true,
            })
            .await;
    }

    /// Delivers the message to the group again as attempt `next_attempt`:
    /// publishes a copy to the group's queue, then acks the original; if the
    /// copy cannot be published, hands the original back to the broker
    /// instead.
    async fn requeue(&self, next_attempt: u32) {
        if self.acker.poisoned() {
            // The channel is gone; the broker has put the message back.
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
    message: Message,
    attempt: u32,
    timer: AbortHandle,
    _slot: OwnedSemaphorePermit,
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
    fn message(&self) -> &Message {
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

impl Subscribe for AmqpBroker {
    type Subscription = AmqpSubscription;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            per_key_order: false,
            dedupes_publishes: false,
        }
    }

    async fn subscribe(&self, options: SubscribeOptions) -> Result<AmqpSubscription, BrokerError> {
        self.check_open()?;
        crate::broker::capability::refuse_key_order("RabbitMQ", &options)?;
        self.record_group(&options.group);
        let role = Role::Group {
            topics: options.topics.clone(),
        };
        open(self.clone(), options.group.clone(), role, &options).await
    }

    async fn dead_letters(&self, group: &str) -> Result<AmqpSubscription, BrokerError> {
        self.check_open()?;
        self.record_group(group);
        let name = AmqpNames::dead_letter_group(group);
        let options = SubscribeOptions::new(name.clone(), Vec::<String>::new());
        let role = Role::DeadLetters {
            of: group.to_owned(),
        };
        open(self.clone(), name, role, &options).await
    }
}
