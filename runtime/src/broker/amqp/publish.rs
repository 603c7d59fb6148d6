//! Publishing with confirms: events, retry copies and dead letters, each
//! measured against the broker's limits first.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::ShortString;
use lapin::{BasicProperties, Channel, Confirmation, Connection};

use super::connection::open_channel;
use super::subscription::Role;
use super::{codec, frame, lapin_error, lock, names, short, AmqpBroker, AmqpNames, Routed};
use crate::broker::limits::{MessagePart, TooLarge, DEAD_LETTER_HEADROOM};
use crate::broker::{BrokerError, EventEnvelope, Message, Publish};

/// The confirm-mode channels publishes go through.
pub(super) struct Publisher {
    connection: Arc<Connection>,
    channels: Vec<Channel>,
    next: AtomicUsize,
}

impl Publisher {
    pub(super) fn usable(&self) -> bool {
        self.connection.status().connected() && self.channels.iter().all(|c| c.status().connected())
    }

    pub(super) fn channel(&self) -> &Channel {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        &self.channels[i % self.channels.len()]
    }

    pub(super) fn frame_max(&self) -> u32 {
        self.connection.configuration().frame_max()
    }

    /// The error of a publish the broker did not confirm within `timeout`.
    fn unconfirmed(&self, timeout: Duration) -> BrokerError {
        let cause = if self.connection.status().blocked() {
            "RabbitMQ has blocked publishing on this connection, as it does while a memory \
             or disk alarm is set"
        } else {
            "the broker is overloaded or the connection is stalled"
        };
        BrokerError::Connection(format!(
            "the broker did not confirm the publish within {timeout:?} \
             (AmqpOptions::confirm_timeout): {cause}; whether it kept the message is unknown, \
             and publishing it again may deliver it twice (subscribers drop the copy by its \
             event id)"
        ))
    }
}

impl AmqpBroker {
    /// The publishing channels, opened again (with the exchanges declared
    /// again) when the connection or a channel dropped.
    pub(super) async fn publisher(&self) -> Result<Arc<Publisher>, BrokerError> {
        if let Some(publisher) = lock(&self.inner.publisher).as_ref() {
            if publisher.usable() {
                return Ok(publisher.clone());
            }
        }
        let _build = self.inner.publisher_build.lock().await;
        let previous = lock(&self.inner.publisher).clone();
        if let Some(publisher) = &previous {
            if publisher.usable() {
                return Ok(publisher.clone());
            }
        }
        let connection = self.connection(&self.inner.publish_link).await?;
        let channels = self
            .answered("opening the publishing channels", async {
                if previous.is_some_and(|p| Arc::ptr_eq(&p.connection, &connection)) {
                    // A channel of a live connection closed: most likely the
                    // broker refused a publish to an exchange someone deleted.
                    self.declare_exchanges(&connection).await?;
                }
                let mut channels = Vec::with_capacity(self.inner.options.publish_channels);
                for _ in 0..self.inner.options.publish_channels.max(1) {
                    let channel = open_channel(&connection).await?;
                    channel
                        .confirm_select(ConfirmSelectOptions::default())
                        .await
                        .map_err(|e| lapin_error("enabling publisher confirms", e))?;
                    channels.push(channel);
                }
                Ok(channels)
            })
            .await?;
        let publisher = Arc::new(Publisher {
            connection,
            channels,
            next: AtomicUsize::new(0),
        });
        *lock(&self.inner.publisher) = Some(publisher.clone());
        Ok(publisher)
    }

    /// Publishes and waits for the broker's confirm.
    pub(crate) async fn publish_raw(
        &self,
        exchange: &str,
        routing_key: &str,
        mandatory: bool,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<Routed, BrokerError> {
        self.publish_within(exchange, routing_key, mandatory, payload, properties, 0)
            .await
    }

    /// Refuses a payload over [`AmqpOptions::max_message_bytes`].
    pub(crate) fn check_payload(&self, payload: &[u8]) -> Result<(), TooLarge> {
        let limit = self.inner.options.max_message_bytes;
        if payload.len() > limit {
            return Err(TooLarge {
                part: MessagePart::Message,
                size: payload.len(),
                limit,
                limit_name: "the broker's max_message_size, as AmqpOptions::max_message_bytes \
                             says it is"
                    .to_owned(),
            });
        }
        Ok(())
    }

    /// [`publish_raw`](Self::publish_raw), with the properties measured to
    /// fit the connection's frame size with `reserve` bytes to spare.
    pub(super) async fn publish_within(
        &self,
        exchange: &str,
        routing_key: &str,
        mandatory: bool,
        payload: &[u8],
        properties: BasicProperties,
        reserve: usize,
    ) -> Result<Routed, BrokerError> {
        self.check_open()?;
        let routing_key = ShortString::try_new(routing_key).map_err(|_| TooLarge {
            part: MessagePart::Topic,
            size: routing_key.len(),
            limit: 255,
            limit_name: "AMQP for a routing key".to_owned(),
        })?;
        self.check_payload(payload)?;
        let publisher = self.publisher().await?;
        frame::check_frame(&properties, publisher.frame_max(), reserve)?;
        let timeout = self.inner.options.confirm_timeout;
        let confirmed = tokio::time::timeout(timeout, async {
            publisher
                .channel()
                .basic_publish(
                    short(exchange)?,
                    routing_key,
                    BasicPublishOptions {
                        mandatory,
                        immediate: false,
                    },
                    payload,
                    properties,
                )
                .await
                .map_err(|e| lapin_error("publishing", e))?
                .await
                .map_err(|e| lapin_error("waiting for the publish confirm", e))
        })
        .await
        .map_err(|_| publisher.unconfirmed(timeout))?;
        match confirmed? {
            Confirmation::Ack(None) | Confirmation::NotRequested => Ok(Routed::Yes),
            Confirmation::Ack(Some(_)) => Ok(Routed::Returned),
            Confirmation::Nack(_) => Err(BrokerError::Rejected(
                "the broker did not accept the message (negative publisher confirm)".into(),
            )),
        }
    }

    /// Publishes a copy to `group`'s retry queue for `delay`, declaring it
    /// when needed.
    pub(super) async fn publish_retry(
        &self,
        group: &str,
        delay: Duration,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<Routed, BrokerError> {
        let bucket = AmqpNames::retry_bucket(delay);
        let queue = self.inner.names.retry_queue(group, bucket);
        let known = lock(&self.inner.retry_queues).contains(&queue);
        if !known {
            self.declare_retry_queue(group, bucket).await?;
            lock(&self.inner.retry_queues).insert(queue.clone());
        }
        let routed = self
            .publish_raw("", &queue, true, payload, properties.clone())
            .await?;
        if routed == Routed::Yes {
            return Ok(routed);
        }
        // The queue is gone (deleted, or a broker that lost its data).
        lock(&self.inner.retry_queues).remove(&queue);
        self.declare_retry_queue(group, bucket).await?;
        lock(&self.inner.retry_queues).insert(queue.clone());
        self.publish_raw("", &queue, true, payload, properties)
            .await
    }

    /// Publishes a dead letter of `group`, declaring its queue when it is
    /// missing.
    pub(super) async fn publish_dead_letter(
        &self,
        group: &str,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<(), BrokerError> {
        let exchange = self.inner.names.dead_letter_exchange();
        let routed = self
            .publish_raw(&exchange, group, true, payload, properties.clone())
            .await?;
        if routed == Routed::Yes {
            return Ok(());
        }
        let role = Role::DeadLetters {
            of: group.to_owned(),
        };
        self.answered(
            &format!("declaring the dead-letter queue of `{group}`"),
            async {
                let connection = self.connection(&self.inner.publish_link).await?;
                self.declare_role(&connection, &AmqpNames::dead_letter_group(group), &role)
                    .await
            },
        )
        .await?;
        match self
            .publish_raw(&exchange, group, true, payload, properties)
            .await?
        {
            Routed::Yes => Ok(()),
            Routed::Returned => Err(BrokerError::Rejected(format!(
                "no queue takes the dead letters of `{group}`"
            ))),
        }
    }
}

impl AmqpBroker {
    /// Publishes an event with `properties` on `topic` to the events
    /// exchange.
    async fn publish_event_with(
        &self,
        topic: &str,
        key: Option<&str>,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<(), BrokerError> {
        // A keyed event carries its key's slot in the routing key, where the
        // partition queues of groups ordered by key pick it up.
        let routing_key = match key {
            Some(key) => Cow::Owned(names::keyed_routing_key(topic, key)),
            None => Cow::Borrowed(topic),
        };
        self.publish_within(
            self.inner.names.events_exchange_name(),
            &routing_key,
            false,
            payload,
            properties,
            DEAD_LETTER_HEADROOM,
        )
        .await
        .map(drop)
    }
}

impl Publish for AmqpBroker {
    async fn publish(&self, message: Message) -> Result<(), BrokerError> {
        let properties = codec::encode(
            &message,
            codec::PERSISTENT,
            self.inner.options.max_header_bytes,
        )?;
        self.publish_event_with(
            &message.topic,
            message.key.as_deref(),
            &message.payload,
            properties,
        )
        .await
    }

    async fn publish_event(&self, event: EventEnvelope<'_>) -> Result<(), BrokerError> {
        let properties = codec::encode_event(
            &event,
            codec::PERSISTENT,
            self.inner.options.max_header_bytes,
        )?;
        self.publish_event_with(event.topic, event.key, &event.payload, properties)
            .await
    }
}
