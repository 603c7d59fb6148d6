//! Request/reply over RabbitMQ's direct reply-to.
//!
//! The requesting side keeps one channel on the publishing connection that
//! consumes `amq.rabbitmq.reply-to` (without acks, as direct reply-to
//! requires) and publishes the requests, each with a fresh correlation id
//! and the `mandatory` flag: a request no server queue is bound for comes
//! back from the broker, which is [`BrokerError::NoResponders`]. The
//! request expires from the server queue when the requester stops waiting.
//!
//! Request servers of one (group, topic) share the queue
//! `<prefix>.rpc.<group>.<topic>`: not durable and deleted with its last
//! consumer, so requests find no queue, and fail fast, while no server runs.
//! A request is acked as it is taken: request/reply is at most once, and
//! the caller decides whether to call again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{Channel, Confirmation, Consumer};
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use super::connection::open_channel;
use super::topology::bind;
use super::{codec, frame};
use super::{lapin_error, lock, short, AmqpBroker};
use crate::broker::reconnect::{Next, Restarts};
use crate::broker::{BrokerError, Message, PendingRequest, RequestReply, Responder, TooLarge};

/// RabbitMQ's pseudo-queue for direct replies.
const DIRECT_REPLY_TO: &str = "amq.rabbitmq.reply-to";

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Message>>>>;

/// The requesting channel, opened on first use and again after it dropped.
#[derive(Default)]
pub(crate) struct RequesterSlot {
    current: Mutex<Option<Arc<Requester>>>,
    build: tokio::sync::Mutex<()>,
}

impl RequesterSlot {
    pub(crate) fn clear(&self) {
        lock(&self.current).take();
    }
}

struct Requester {
    channel: Channel,
    /// The frame size of its connection, which a request's properties must
    /// fit in.
    frame_max: u32,
    pending: Pending,
    alive: Arc<AtomicBool>,
    reader: AbortHandle,
}

impl Drop for Requester {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Requester {
    fn usable(&self) -> bool {
        self.alive.load(Ordering::Acquire) && self.channel.status().connected()
    }
}

/// Removes a request's reply slot when the request ends, however it ends.
struct PendingGuard<'a> {
    pending: &'a Pending,
    id: String,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        lock(self.pending).remove(&self.id);
    }
}

async fn requester(broker: &AmqpBroker) -> Result<Arc<Requester>, BrokerError> {
    let slot = &broker.inner.requester;
    if let Some(requester) = lock(&slot.current).as_ref() {
        if requester.usable() {
            return Ok(requester.clone());
        }
    }
    let _build = slot.build.lock().await;
    if let Some(requester) = lock(&slot.current).as_ref() {
        if requester.usable() {
            return Ok(requester.clone());
        }
    }
    let connection = broker.connection(&broker.inner.publish_link).await?;
    let channel = open_channel(&connection).await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| lapin_error("enabling publisher confirms", e))?;
    let replies = channel
        .basic_consume(
            DIRECT_REPLY_TO.into(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| lapin_error("consuming direct replies", e))?;
    let pending = Pending::default();
    let alive = Arc::new(AtomicBool::new(true));
    let reader = broker
        .inner
        .runtime
        .spawn(read_replies(replies, pending.clone(), alive.clone()));
    let requester = Arc::new(Requester {
        channel,
        frame_max: connection.configuration().frame_max(),
        pending,
        alive,
        reader: reader.abort_handle(),
    });
    *lock(&slot.current) = Some(requester.clone());
    Ok(requester)
}

async fn read_replies(mut replies: Consumer, pending: Pending, alive: Arc<AtomicBool>) {
    while let Some(Ok(delivery)) = replies.next().await {
        let Some(id) = delivery.properties.correlation_id().as_ref() else {
            continue;
        };
        let waiting = lock(&pending).remove(id.as_str());
        if let Some(waiting) = waiting {
            let reply = codec::decode(
                delivery.routing_key.as_str(),
                &delivery.properties,
                Bytes::from(delivery.data),
            );
            let _ = waiting.send(reply);
        }
    }
    alive.store(false, Ordering::Release);
    // Waiting requests learn that no reply will come.
    lock(&pending).clear();
}

pub(crate) async fn send(
    broker: &AmqpBroker,
    message: Message,
    timeout: Duration,
) -> Result<Message, BrokerError> {
    match tokio::time::timeout(timeout, exchange(broker, message, timeout)).await {
        Ok(result) => result,
        Err(_) => Err(BrokerError::Timeout(timeout)),
    }
}

async fn exchange(
    broker: &AmqpBroker,
    message: Message,
    timeout: Duration,
) -> Result<Message, BrokerError> {
    let requester = requester(broker).await?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (reply_tx, reply_rx) = oneshot::channel();
    lock(&requester.pending).insert(id.clone(), reply_tx);
    let _guard = PendingGuard {
        pending: &requester.pending,
        id: id.clone(),
    };
    let expiration = timeout.as_millis().max(1).to_string();
    let properties = codec::encode(
        &message,
        codec::TRANSIENT,
        broker.options().max_header_bytes,
    )?
    .with_reply_to(DIRECT_REPLY_TO.into())
    .with_correlation_id(short(&id)?)
    .with_expiration(short(&expiration)?);
    broker.check_payload(&message.payload)?;
    frame::check_frame(&properties, requester.frame_max, 0)?;
    let confirm = requester
        .channel
        .basic_publish(
            short(&broker.names().requests_exchange())?,
            short(&message.topic)?,
            BasicPublishOptions {
                mandatory: true,
                immediate: false,
            },
            &message.payload,
            properties,
        )
        .await
        .map_err(|e| lapin_error("sending a request", e))?
        .await
        .map_err(|e| lapin_error("waiting for the request's confirm", e))?;
    match confirm {
        Confirmation::Ack(Some(_)) | Confirmation::Nack(Some(_)) => {
            return Err(BrokerError::NoResponders(message.topic))
        }
        Confirmation::Nack(None) => {
            return Err(BrokerError::Rejected(
                "the broker did not accept the request (negative publisher confirm)".into(),
            ))
        }
        Confirmation::Ack(None) | Confirmation::NotRequested => {}
    }
    reply_rx.await.map_err(|_| {
        BrokerError::Connection("the connection closed before the reply arrived".into())
    })
}

pub(crate) async fn open_responder(
    broker: AmqpBroker,
    topic: &str,
    group: &str,
) -> Result<AmqpResponder, BrokerError> {
    let queue = broker.names().responder_queue(group, topic);
    let restarts = Restarts::new(
        format!("serving requests on `{topic}`"),
        broker.options().max_reconnect_delay,
    );
    let mut responder = AmqpResponder {
        broker,
        topic: topic.to_owned(),
        queue,
        live: None,
        restarts,
    };
    responder.live = Some(responder.start().await?);
    Ok(responder)
}

/// A request server on an [`AmqpBroker`](super::AmqpBroker).
pub struct AmqpResponder {
    broker: AmqpBroker,
    topic: String,
    queue: String,
    live: Option<(Channel, Consumer)>,
    restarts: Restarts,
}

impl std::fmt::Debug for AmqpResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpResponder")
            .field("topic", &self.topic)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl AmqpResponder {
    async fn start(&self) -> Result<(Channel, Consumer), BrokerError> {
        let what = format!("serving requests on `{}`", self.topic);
        self.broker.answered(&what, self.start_now()).await
    }

    async fn start_now(&self) -> Result<(Channel, Consumer), BrokerError> {
        let connection = self
            .broker
            .connection(&self.broker.inner.consume_link)
            .await?;
        let channel = open_channel(&connection).await?;
        channel
            .queue_declare(
                short(&self.queue)?,
                QueueDeclareOptions::default().auto_delete(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| lapin_error(&format!("declaring the queue `{}`", self.queue), e))?;
        bind(
            &channel,
            &self.queue,
            &self.broker.names().requests_exchange(),
            &self.topic,
        )
        .await?;
        let consumer = channel
            .basic_consume(
                short(&self.queue)?,
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| lapin_error(&format!("consuming `{}`", self.queue), e))?;
        Ok((channel, consumer))
    }
}

impl Responder for AmqpResponder {
    type Request = AmqpRequest;

    async fn next(&mut self) -> Option<AmqpRequest> {
        let mut closed = self.broker.closed_watch();
        loop {
            if self.broker.is_closed() {
                return None;
            }
            if self.live.is_none() {
                let attempt = self.start().await;
                match self.restarts.after(attempt, &mut closed).await {
                    Next::Started(live) => self.live = Some(live),
                    Next::TryAgain => continue,
                    Next::Closed => return None,
                }
            }
            let (_, consumer) = self.live.as_mut().expect("started above");
            let next = tokio::select! {
                _ = closed.wait_for(|closed| *closed) => return None,
                next = consumer.next() => next,
            };
            match next {
                Some(Ok(delivery)) => {
                    let message = codec::decode(
                        delivery.routing_key.as_str(),
                        &delivery.properties,
                        Bytes::from(delivery.data),
                    );
                    return Some(AmqpRequest {
                        broker: self.broker.clone(),
                        message,
                        reply_to: delivery.properties.reply_to().clone(),
                        correlation_id: delivery.properties.correlation_id().clone(),
                    });
                }
                Some(Err(_)) | None => self.live = None,
            }
        }
    }
}

/// A request waiting for its reply on an [`AmqpBroker`](super::AmqpBroker).
pub struct AmqpRequest {
    broker: AmqpBroker,
    message: Message,
    reply_to: Option<ShortString>,
    correlation_id: Option<ShortString>,
}

impl std::fmt::Debug for AmqpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpRequest")
            .field("topic", &self.message.topic)
            .field("correlation_id", &self.correlation_id)
            .finish_non_exhaustive()
    }
}

impl PendingRequest for AmqpRequest {
    fn message(&self) -> &Message {
        &self.message
    }

    async fn reply(self, reply: Message) -> Result<(), BrokerError> {
        self.send(&reply).await
    }

    async fn reply_or<F>(self, reply: Message, instead: F) -> Result<(), BrokerError>
    where
        F: FnOnce(&TooLarge) -> Message + Send,
    {
        match self.send(&reply).await {
            Err(BrokerError::TooLarge(too_large)) => {
                self.send(&instead(&too_large)).await?;
                Err(BrokerError::TooLarge(too_large))
            }
            other => other,
        }
    }
}

impl AmqpRequest {
    /// Publishes `reply` to the requester's reply queue. One over a size
    /// limit is refused before anything is sent.
    async fn send(&self, reply: &Message) -> Result<(), BrokerError> {
        let Some(reply_to) = &self.reply_to else {
            return Err(BrokerError::Rejected(
                "the request names no queue to reply to".into(),
            ));
        };
        let mut properties = codec::encode(
            reply,
            codec::TRANSIENT,
            self.broker.options().max_header_bytes,
        )?;
        let mut headers = properties.headers().clone().unwrap_or_default();
        headers.insert(codec::TOPIC.into(), codec::text_value(&reply.topic));
        properties = properties.with_headers(headers);
        if let Some(id) = &self.correlation_id {
            properties = properties.with_correlation_id(id.clone());
        }
        self.broker
            .publish_raw("", reply_to.as_str(), false, &reply.payload, properties)
            .await
            .map(drop)
    }
}

impl RequestReply for AmqpBroker {
    type Responder = AmqpResponder;

    async fn request(&self, message: Message, timeout: Duration) -> Result<Message, BrokerError> {
        self.check_open()?;
        send(self, message, timeout).await
    }

    async fn respond(&self, topic: &str, group: &str) -> Result<AmqpResponder, BrokerError> {
        self.check_open()?;
        open_responder(self.clone(), topic, group).await
    }
}
