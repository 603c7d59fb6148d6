//! Group members: pull loops that feed deliveries, and settling them.
//!
//! A member runs one pull loop per consumer (one per topic of its group).
//! The loops share `max_in_flight` permits: a pull request asks for at most
//! as many messages as the loop holds permits, and each delivery keeps its
//! permit until it is settled. So a member never holds more than
//! `max_in_flight` messages unsettled, counting those it has pulled and not
//! yet handed out, and whatever it cannot take stays with JetStream for
//! the other members.
//!
//! Settling is handed to one settler task per member: a delivery's `ack`,
//! `retry` or release queues its acker (with its permit) on the member's
//! settle queue, and the settler sends the acks in order. A handler's task
//! then holds no async-nats publish future. The queue needs no bound of its
//! own: each entry holds its delivery's permit until the ack is sent, so it
//! never holds more than `max_in_flight` entries.
//!
//! Closing a member waits for its deliveries' acks to be sent and flushed
//! (see [`NatsSubscription::close`](Subscription::close) and the
//! `unsettled` module).

use std::collections::BTreeSet;
use std::fmt;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::Context;
use async_nats::{Client, Subject};
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

use super::topology::{self, ConsumerSpec, MIN_MAX_ACK_PENDING};
use super::unsettled::{Counted, Unsettled};
use super::NatsBroker;
use super::{headers, names};
use crate::broker::reconnect::backoff;
use crate::broker::{
    BrokerError, Capabilities, Delivery, Message, Retry, Subscribe, SubscribeOptions, Subscription,
    DEAD_LETTER_TOPIC,
};

/// How long a pull request waits for messages when each of the member's
/// consumers can hold a request open at once.
const EXPIRES: Duration = Duration::from_secs(5);
/// How long a pull request waits when the member's consumers take turns
/// (fewer permits than topics), so no topic waits long for its turn.
const SHARED_EXPIRES: Duration = Duration::from_millis(500);
/// How long past its expiry a pull request is waited for before the loop
/// concludes the server forgot it.
const EXPIRY_SLACK: Duration = Duration::from_secs(2);
/// The most messages one pull request asks for.
pub(crate) const MAX_BATCH: usize = 256;
/// How long closing a member waits for the server to confirm that the
/// client's connection has sent the member's last acks (a flush).
const CLOSE_FLUSH: Duration = Duration::from_secs(5);

/// A member of a group (or a reader of a group's dead letters) on a
/// [`NatsBroker`].
pub struct NatsSubscription {
    deliveries: mpsc::UnboundedReceiver<NatsDelivery>,
    // Keeps `next` waiting rather than ending when the group has no topics.
    _open: mpsc::UnboundedSender<NatsDelivery>,
    group: Arc<str>,
    unsettled: Arc<Unsettled>,
    client: Client,
    /// How long closing waits for the deliveries still out.
    ack_wait: Duration,
}

impl fmt::Debug for NatsSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsSubscription")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl Subscription for NatsSubscription {
    type Delivery = NatsDelivery;

    async fn next(&mut self) -> Option<NatsDelivery> {
        self.deliveries.recv().await
    }

    /// Releases what the member pulled and did not hand out, then
    /// completes once every delivery it handed out is settled (or dropped)
    /// and the acks are sent: queued by the member's settler, and flushed
    /// by the client's connection. It waits for the deliveries at most the
    /// ack wait (the server delivers them again after it in any case), and
    /// for the flush at most 5 s. Pull requests still open go on in the
    /// background: what arrives for them is released.
    async fn close(self) {
        let NatsSubscription {
            deliveries,
            _open,
            group,
            unsettled,
            client,
            ack_wait,
        } = self;
        drop(deliveries);
        drop(_open);
        if tokio::time::timeout(ack_wait, unsettled.none_left())
            .await
            .is_err()
        {
            tracing::warn!(%group, ?ack_wait, "deliveries still unsettled when the member closed; the server delivers them again");
        }
        match tokio::time::timeout(CLOSE_FLUSH, client.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(%group, %error, "could not flush a closing member's acks")
            }
            Err(_) => tracing::warn!(
                %group,
                "a closing member's acks were not flushed within {CLOSE_FLUSH:?}"
            ),
        }
    }
}

/// What deliveries from one member are read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// A group's messages.
    Group,
    /// A group's dead letters: each keeps the topic it was published on.
    DeadLetters,
}

/// One consumer a member pulls from.
pub(crate) struct Source {
    pub stream: Arc<str>,
    pub spec: ConsumerSpec,
    pub consumer: PullConsumer,
    /// The most messages one pull asks for (1 for a key partition, whose
    /// consumer lets one message out at a time anyway).
    pub max_batch: usize,
}

/// Starts a member pulling from `sources`.
pub(crate) fn open(
    broker: NatsBroker,
    group: &str,
    sources: Vec<Source>,
    max_in_flight: usize,
    ack_wait: Duration,
    reading: Reading,
) -> NatsSubscription {
    let (tx, rx) = mpsc::unbounded_channel();
    let group: Arc<str> = group.into();
    let max_in_flight = max_in_flight.max(1);
    let permits = Arc::new(Semaphore::new(max_in_flight));
    let topics = sources.len();
    let (settle, settles) = mpsc::unbounded_channel();
    tokio::spawn(run_settler(broker.jetstream().client(), settles));
    let unsettled = Arc::new(Unsettled::default());
    let origin = Arc::new(Origin {
        broker: broker.clone(),
        group: group.clone(),
        reading,
        settle,
        unsettled: unsettled.clone(),
    });
    for source in sources {
        let pump = Pump {
            js: broker.jetstream().clone(),
            source,
            origin: origin.clone(),
            permits: permits.clone(),
            tx: tx.clone(),
            reconnects: broker.reconnects(),
            expires: if max_in_flight < topics {
                SHARED_EXPIRES
            } else {
                EXPIRES
            },
            reserve: if max_in_flight < topics {
                0
            } else {
                topics - 1
            },
            alone: topics == 1,
        };
        tokio::spawn(pump.run());
    }
    NatsSubscription {
        deliveries: rx,
        _open: tx,
        group,
        unsettled,
        client: broker.jetstream().client(),
        ack_wait,
    }
}

/// Where deliveries come from: what settling them needs.
struct Origin {
    broker: NatsBroker,
    group: Arc<str>,
    reading: Reading,
    /// The member's settle queue (see the module documentation).
    settle: mpsc::UnboundedSender<Settle>,
    /// The member's deliveries not yet settled on the server.
    unsettled: Arc<Unsettled>,
}

/// An ack to send: the delivery's reply subject, what to send there, and
/// the delivery's permit, released once it is sent.
struct Settle {
    reply: Subject,
    kind: AckKind,
    _permit: Option<OwnedSemaphorePermit>,
    _counted: Option<Counted>,
}

/// Sends the acks queued by a member's deliveries, in order, until every
/// delivery and pull loop of the member is gone. An ack is a core NATS
/// publish to the delivery's reply subject, as async-nats' own ack is.
async fn run_settler(client: Client, mut settles: mpsc::UnboundedReceiver<Settle>) {
    while let Some(settle) = settles.recv().await {
        if let Err(error) = client.publish(settle.reply, settle.kind.into()).await {
            // The server delivers the message again after the ack wait:
            // nothing is lost.
            tracing::warn!(%error, "could not settle a delivery; it will be redelivered");
        }
    }
}

struct Pump {
    js: Context,
    source: Source,
    origin: Arc<Origin>,
    permits: Arc<Semaphore>,
    tx: mpsc::UnboundedSender<NatsDelivery>,
    reconnects: watch::Receiver<u64>,
    expires: Duration,
    /// Permits left for the member's other consumers when taking a batch.
    reserve: usize,
    /// Whether this is the member's only consumer.
    alone: bool,
}

impl Pump {
    async fn run(mut self) {
        // A consumer whose last pull brought messages asks for as many as
        // the member has room for; one whose last pull came back empty asks
        // for one, leaving the room to the member's busier topics. A
        // member's only consumer starts with a full batch, for the
        // backlog; the others start small and grow with their first message.
        let mut busy = self.alone;
        let mut failures = 0u32;
        loop {
            let first = tokio::select! {
                permit = self.permits.clone().acquire_owned() => {
                    permit.expect("the permits are never closed")
                }
                () = self.tx.closed() => return,
            };
            let spare = if busy {
                self.permits
                    .available_permits()
                    .saturating_sub(self.reserve)
                    .min(self.source.max_batch.saturating_sub(1))
            } else {
                0
            };
            // Sized once: grown a permit at a time, a full batch's was
            // reallocated eight times.
            let mut held = Vec::with_capacity(1 + spare);
            held.push(first);
            for _ in 0..spare {
                match self.permits.clone().try_acquire_owned() {
                    Ok(permit) => held.push(permit),
                    Err(_) => break,
                }
            }
            let asked = tokio::time::Instant::now();
            let pulled = match self.pull(&mut held).await {
                // A pull that ends empty long before it expires means the
                // server refused it (a deleted consumer, say): back off and
                // redeclare rather than ask again at once.
                Ok(0) if asked.elapsed() < self.expires / 2 => {
                    failures += 1;
                    drop(held);
                    tracing::debug!(
                        consumer = %self.source.spec.name,
                        "an empty pull ended early; trying again"
                    );
                    if !self.recover(failures).await {
                        return;
                    }
                    continue;
                }
                Ok(pulled) => {
                    failures = 0;
                    pulled
                }
                Err(error) => {
                    failures += 1;
                    drop(held);
                    tracing::warn!(
                        group = %self.origin.group,
                        consumer = %self.source.spec.name,
                        stream = %self.source.stream,
                        %error,
                        "pulling from JetStream failed; trying again"
                    );
                    if !self.recover(failures).await {
                        return;
                    }
                    continue;
                }
            };
            drop(held);
            busy = pulled > 0;
            if self.tx.is_closed() {
                return;
            }
        }
    }

    /// One pull request for as many messages as `held` has permits; hands
    /// each message out with one of them. Returns how many arrived.
    async fn pull(&mut self, held: &mut Vec<OwnedSemaphorePermit>) -> Result<usize, String> {
        self.reconnects.mark_unchanged();
        // Sending the pull request waits while the connection's queue is
        // full (a server that stopped reading): it has the batch's bound.
        let limit = self.expires + EXPIRY_SLACK;
        let requested = self
            .source
            .consumer
            .batch()
            .max_messages(held.len())
            .expires(self.expires)
            .messages();
        let mut batch = tokio::time::timeout(limit, requested)
            .await
            .map_err(|_| format!("the pull request was not sent within {limit:?}"))?
            .map_err(|e| e.to_string())?;
        let deadline = tokio::time::sleep(self.expires + EXPIRY_SLACK);
        let mut deadline = pin!(deadline);
        let mut pulled = 0;
        while !held.is_empty() {
            tokio::select! {
                // Messages first: while the batch has one ready, neither the
                // deadline nor the reconnect count is polled for it (the
                // batch is at most `held` long, so they are not starved).
                biased;
                item = batch.next() => match item {
                    None => break,
                    Some(Err(error)) => return Err(error.to_string()),
                    Some(Ok(message)) => {
                        pulled += 1;
                        let permit = held.pop().expect("checked not empty");
                        let delivery =
                            NatsDelivery::new(message, permit, &self.origin, &self.source.stream);
                        // A member closed meanwhile still listens until the
                        // server is done with the request, and releases
                        // what arrives: the send hands the delivery back
                        // and dropping it releases it.
                        let _ = self.tx.send(delivery);
                    }
                },
                () = &mut deadline => break,
                // After a reconnect the server may no longer know this
                // request: ask again.
                _ = self.reconnects.changed() => {
                    tracing::debug!(consumer = %self.source.spec.name, "reconnected; pulling again");
                    break;
                }
            }
        }
        Ok(pulled)
    }

    /// Waits before pulling again, redeclaring the consumer in case it was
    /// deleted. Returns false when the member closed meanwhile.
    async fn recover(&mut self, failures: u32) -> bool {
        let delay = backoff(failures, EXPIRES);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = self.tx.closed() => return false,
        }
        if failures >= 2 {
            match topology::declare_consumer(&self.js, &self.source.stream, &self.source.spec).await
            {
                Ok(consumer) => self.source.consumer = consumer,
                Err(error) => tracing::warn!(
                    consumer = %self.source.spec.name,
                    stream = %self.source.stream,
                    %error,
                    "could not redeclare the consumer"
                ),
            }
        }
        true
    }
}

/// A delivery from a [`NatsBroker`]: one JetStream message of a durable
/// consumer, acknowledged explicitly.
pub struct NatsDelivery {
    message: Arc<Message>,
    attempt: u32,
    stream: Arc<str>,
    sequence: u64,
    /// Where its ack goes (`None` for a message JetStream did not deliver
    /// from a consumer, which cannot be settled).
    reply: Option<Subject>,
    settled: bool,
    permit: Option<OwnedSemaphorePermit>,
    /// Counts the delivery among the member's unsettled ones until its ack
    /// is sent.
    counted: Option<Counted>,
    origin: Arc<Origin>,
}

impl fmt::Debug for NatsDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsDelivery")
            .field("group", &self.origin.group)
            .field("stream", &self.stream)
            .field("sequence", &self.sequence)
            .field("attempt", &self.attempt)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl NatsDelivery {
    fn new(
        message: async_nats::jetstream::Message,
        permit: OwnedSemaphorePermit,
        origin: &Arc<Origin>,
        source_stream: &Arc<str>,
    ) -> Self {
        let (attempt, stream, sequence) = match message.info() {
            Ok(info) => (
                u32::try_from(info.delivered.max(1)).unwrap_or(u32::MAX),
                if info.stream == &**source_stream {
                    source_stream.clone()
                } else {
                    info.stream.into()
                },
                info.stream_sequence,
            ),
            Err(_) => (1, Arc::from(""), 0),
        };
        let mut message = message.message;
        let reply = message.reply.take();
        let mut message = headers::from_nats(
            names::topic_of_subject(message.subject.as_str()),
            message.headers.as_ref(),
            message.payload,
        );
        if origin.reading == Reading::DeadLetters {
            if let Some(topic) = message.header(DEAD_LETTER_TOPIC) {
                message.topic = topic.to_owned();
            }
        }
        NatsDelivery {
            message: Arc::new(message),
            attempt,
            stream,
            sequence,
            reply,
            settled: false,
            permit: Some(permit),
            counted: Some(origin.unsettled.count()),
            origin: origin.clone(),
        }
    }

    /// The stream the message is stored in, and its sequence there.
    pub fn stream_position(&self) -> (&str, u64) {
        (&self.stream, self.sequence)
    }

    /// Queues `kind` on the member's settler, which sends it. An error
    /// means the settler is gone (the runtime is shutting down): the server
    /// delivers the message again after the ack wait.
    fn settle(mut self, kind: AckKind) -> Result<(), BrokerError> {
        self.queue(kind)
    }

    fn queue(&mut self, kind: AckKind) -> Result<(), BrokerError> {
        if std::mem::replace(&mut self.settled, true) {
            return Err(BrokerError::Closed);
        }
        let reply = self.reply.take().ok_or_else(|| {
            BrokerError::Connection(
                "settling a delivery: no reply subject, not a JetStream message".to_owned(),
            )
        })?;
        let settle = Settle {
            reply,
            kind,
            _permit: self.permit.take(),
            _counted: self.counted.take(),
        };
        self.origin
            .settle
            .send(settle)
            .map_err(|_| BrokerError::Closed)
    }
}

impl Drop for NatsDelivery {
    fn drop(&mut self) {
        if !self.settled {
            // Dropped unsettled: release it for redelivery now rather than
            // after the ack wait.
            let _ = self.queue(AckKind::Nak(None));
        }
    }
}

impl Delivery for NatsDelivery {
    fn message(&self) -> &Arc<Message> {
        &self.message
    }

    fn attempt(&self) -> u32 {
        self.attempt
    }

    async fn ack(self) -> Result<(), BrokerError> {
        self.settle(AckKind::Ack)
    }

    async fn dead_letter(self, reason: &str) -> Result<(), BrokerError> {
        self.dead_letter_or_retry(reason, Duration::ZERO).await
    }
}

impl Retry for NatsDelivery {
    async fn retry(self, delay: Duration) -> Result<(), BrokerError> {
        self.settle(nak(delay))
    }

    async fn dead_letter_or_retry(
        self,
        reason: &str,
        retry_after: Duration,
    ) -> Result<(), BrokerError> {
        // Stored in the dead letters first, then removed from the group: a
        // failure in between leaves the message with the group, which
        // delivers it again (after the delay when the dead letter was
        // refused; after the ack wait when only the TERM was lost).
        let stored = self
            .origin
            .broker
            .publish_dead_letter(
                &self.message,
                &self.origin.group,
                reason,
                self.attempt,
                (&self.stream, self.sequence),
            )
            .await;
        match stored {
            Ok(()) => self.settle(AckKind::Term),
            Err(error) => {
                if let Err(release) = self.settle(nak(retry_after)) {
                    tracing::debug!(%release, "could not release a delivery whose dead letter was refused");
                }
                Err(error)
            }
        }
    }
}

/// A NAK delivering the message again after `delay`.
fn nak(delay: Duration) -> AckKind {
    if delay.is_zero() {
        AckKind::Nak(None)
    } else {
        AckKind::Nak(Some(delay))
    }
}

impl Subscribe for NatsBroker {
    type Subscription = NatsSubscription;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            per_key_order: true,
            dedupes_publishes: self.inner.options.publish_dedupe,
        }
    }

    async fn subscribe(&self, options: SubscribeOptions) -> Result<NatsSubscription, BrokerError> {
        let topics: BTreeSet<&String> = options.topics.iter().collect();
        let mut sources = Vec::with_capacity(topics.len());
        for topic in topics {
            sources.extend(self.group_sources(topic, &options.group, &options).await?);
        }
        Ok(open(
            self.clone(),
            &options.group,
            sources,
            options.max_in_flight,
            options.ack_wait,
            Reading::Group,
        ))
    }

    async fn dead_letters(&self, group: &str) -> Result<NatsSubscription, BrokerError> {
        let options = SubscribeOptions::new(group, Vec::<String>::new());
        let name = NatsBroker::consumer_name(group);
        let subject = self.dead_letter_subject(group);
        let spec = ConsumerSpec {
            name: name.clone(),
            description: format!("accord: dead letters of group `{group}`"),
            filter_subject: subject.clone(),
            ack_wait: options.ack_wait,
            max_ack_pending: MIN_MAX_ACK_PENDING,
            topic: subject,
            stream_is_topic: false,
            siblings: vec![name],
        };
        let stream = self.inner.dead_letters.name.clone();
        let consumer = topology::declare_consumer(&self.inner.js, &stream, &spec).await?;
        Ok(open(
            self.clone(),
            &format!("dead-letter:{group}"),
            vec![Source {
                stream,
                spec,
                consumer,
                max_batch: MAX_BATCH,
            }],
            options.max_in_flight,
            options.ack_wait,
            Reading::DeadLetters,
        ))
    }
}
