//! Group members: the deliveries their pullers read, and settling them.
//!
//! A member reads one consumer per topic of its group (one per key
//! partition when it reads by key), each through a [`Puller`] that its
//! [`next`](Subscription::next) polls (see the `pull` module for the pull
//! requests and the permits they share).
//!
//! Settling is handed to one settler task per member: a delivery's `ack`,
//! `retry` or release queues its acker (with its permit) on the member's
//! settle queue, and the settler sends the acks in order. A handler's task
//! then holds no async-nats publish future. The queue needs no bound of its
//! own: each entry holds its delivery's permit until the ack is sent, so it
//! never holds more than `max_in_flight` entries.
//!
//! Closing a member releases what its open pull requests still bring, and
//! waits for its deliveries' acks to be sent and flushed (see
//! [`NatsSubscription::close`](Subscription::close) and the `unsettled`
//! module).

use std::collections::BTreeSet;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::message::AckKind;
use async_nats::{Client, Subject};
use futures_util::stream::SelectAll;
use futures_util::{Stream, StreamExt};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

use super::pull::{Member, Puller, Source, MAX_BATCH};
use super::topology::{self, ConsumerSpec, MIN_MAX_ACK_PENDING};
use super::unsettled::{Counted, Unsettled};
use super::NatsBroker;
use super::{headers, names};
use crate::broker::{
    BrokerError, Capabilities, Delivery, Message, Retry, Subscribe, SubscribeOptions, Subscription,
    DEAD_LETTER_TOPIC,
};

/// How long closing a member waits for the server to confirm that the
/// client's connection has sent the member's last acks (a flush).
const CLOSE_FLUSH: Duration = Duration::from_secs(5);

/// The deliveries of one consumer.
type Deliveries = Pin<Box<dyn Stream<Item = NatsDelivery> + Send>>;

/// What a member reads.
enum Pulls {
    /// Nothing: a group without topics, or a member closing.
    Nothing,
    /// One consumer, read without a multiplexer in between.
    One(Deliveries),
    /// Several (topics, or key partitions), read as their messages come.
    Many(SelectAll<Deliveries>),
}

impl Pulls {
    /// The next delivery of any consumer; `None` once every puller has
    /// ended (or there is none).
    async fn next(&mut self) -> Option<NatsDelivery> {
        match self {
            Pulls::Nothing => None,
            Pulls::One(one) => one.next().await,
            Pulls::Many(many) => many.next().await,
        }
    }
}

/// A member of a group (or a reader of a group's dead letters) on a
/// [`NatsBroker`].
pub struct NatsSubscription {
    pulls: Pulls,
    /// Tells the pullers to start no new pull request.
    closing: watch::Sender<bool>,
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

impl NatsSubscription {
    /// Stops the pullers asking for more and releases, in the background,
    /// what their open pull requests still bring: each delivery is dropped
    /// unsettled as it arrives, which releases it for the group's other
    /// members at once (rather than after the ack wait, as a message sent
    /// to a subscription no longer listened to would be). The open
    /// requests end within their expiry.
    fn release_pulled(&mut self) {
        self.closing.send_replace(true);
        let mut pulls = std::mem::replace(&mut self.pulls, Pulls::Nothing);
        if matches!(pulls, Pulls::Nothing) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { while pulls.next().await.is_some() {} });
        }
    }
}

impl Drop for NatsSubscription {
    fn drop(&mut self) {
        self.release_pulled();
    }
}

impl Subscription for NatsSubscription {
    type Delivery = NatsDelivery;

    async fn next(&mut self) -> Option<NatsDelivery> {
        if matches!(self.pulls, Pulls::Nothing) {
            // Waits rather than ending: the member stays open.
            return std::future::pending().await;
        }
        self.pulls.next().await
    }

    /// Releases what the member pulled and did not hand out, then
    /// completes once every delivery it handed out is settled (or dropped)
    /// and the acks are sent: queued by the member's settler, and flushed
    /// by the client's connection. It waits for the deliveries at most the
    /// ack wait (the server delivers them again after it in any case), and
    /// for the flush at most 5 s. Pull requests still open go on in the
    /// background: what arrives for them is released.
    async fn close(mut self) {
        self.release_pulled();
        if tokio::time::timeout(self.ack_wait, self.unsettled.none_left())
            .await
            .is_err()
        {
            tracing::warn!(group = %self.group, ack_wait = ?self.ack_wait, "deliveries still unsettled when the member closed; the server delivers them again");
        }
        match tokio::time::timeout(CLOSE_FLUSH, self.client.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(group = %self.group, %error, "could not flush a closing member's acks")
            }
            Err(_) => tracing::warn!(
                group = %self.group,
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

/// Opens a member reading `sources`.
pub(crate) fn open(
    broker: NatsBroker,
    group: &str,
    sources: Vec<Source>,
    max_in_flight: usize,
    ack_wait: Duration,
    reading: Reading,
) -> NatsSubscription {
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
    let (closing, closing_rx) = watch::channel(false);
    let member = Member {
        js: broker.jetstream().clone(),
        origin,
        permits,
        reconnects: broker.reconnects(),
        closing: closing_rx,
        consumers: topics,
    };
    let mut readers = sources
        .into_iter()
        .map(|source| Box::pin(Puller::new(&member, source).into_stream()) as Deliveries);
    let pulls = match topics {
        0 => Pulls::Nothing,
        1 => Pulls::One(readers.next().expect("one source")),
        _ => Pulls::Many(futures_util::stream::select_all(readers)),
    };
    NatsSubscription {
        pulls,
        closing,
        group,
        unsettled,
        client: broker.jetstream().client(),
        ack_wait,
    }
}

/// Where deliveries come from: what settling them needs.
pub(super) struct Origin {
    broker: NatsBroker,
    pub(super) group: Arc<str>,
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
/// delivery and puller of the member is gone. An ack is a core NATS
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
    pub(super) fn new(
        message: async_nats::jetstream::Message,
        permit: OwnedSemaphorePermit,
        origin: &Arc<Origin>,
        source_stream: &Arc<str>,
    ) -> Self {
        let mut message = message.message;
        let reply = message.reply.take();
        let (attempt, stream, sequence) = match reply.as_deref().and_then(names::ack_position) {
            Some(position) => (
                u32::try_from(position.delivered.max(1)).unwrap_or(u32::MAX),
                if position.stream == &**source_stream {
                    source_stream.clone()
                } else {
                    position.stream.into()
                },
                position.stream_sequence,
            ),
            None => (1, Arc::from(""), 0),
        };
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
