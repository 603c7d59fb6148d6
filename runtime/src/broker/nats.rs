//! The NATS JetStream backend (feature `nats`).
//!
//! What accord declares, all idempotently (created when missing, reused
//! when present), see `docs/nats.md` for the operator's view:
//!
//! - **A stream per topic**, named `<prefix>_<topic>` with the topic's dots
//!   as `_` ([`NatsBroker::topic_stream_name`]), capturing exactly that
//!   subject, declared on the first publish to or subscription on the
//!   topic. It keeps messages under limits retention, so a message
//!   published before any group subscribed waits for the first group.
//!   A stream an operator already declared for the subject is used instead.
//! - **A durable pull consumer per group and topic**, named after the
//!   group ([`NatsBroker::consumer_name`]): explicit acks, `ack_wait` from
//!   [`SubscribeOptions`], unlimited deliveries (the subscriber decides
//!   when to give up), starting at the beginning of the stream for the
//!   first group on the topic and at its declaration for later groups.
//!   Members of a group pull from the same consumers and so compete for
//!   messages.
//! - **One dead-letter stream**, `<prefix>-DEAD-LETTERS`, on
//!   `<dead-letter subject>.>`; a group's dead letters are published on
//!   `<dead-letter subject>.<group>` and read through a durable consumer
//!   named after the group.
//!
//! Settling maps onto JetStream acks: [`ack`](crate::broker::Delivery::ack) is `+ACK`,
//! [`retry`](crate::broker::Retry::retry) a `-NAK` with the delay, a delivery dropped
//! unsettled a `-NAK` without delay, [`dead_letter`](crate::broker::Delivery::dead_letter)
//! a publish to the dead letters (awaiting its publish ack) followed by
//! `+TERM`. [`attempt`](crate::broker::Delivery::attempt) is JetStream's delivery count.
//!
//! A publish waits for JetStream's publish ack. It sets `Nats-Msg-Id` to
//! the event id (`ce-id`), so a publish repeated within the stream's
//! duplicate window, such as a retry after a lost ack, is stored once.
//! Request/reply uses core NATS: requests go to an inbox, responders of one
//! group form a NATS queue group.
//!
//! Before anything is sent, its size is checked against the limits the
//! server would enforce, so that an oversized message is a
//! [`BrokerError::TooLarge`] naming the part and the limit (see
//! [`crate::broker::limits`]): each header of a publish, request or reply
//! against [`NatsOptions::max_header_bytes`]; an event's header block
//! against JetStream's 64 KiB for stored headers, and the whole message
//! against the server's `max_payload` (from its `INFO`), each less
//! [`DEAD_LETTER_HEADROOM`](crate::broker::DEAD_LETTER_HEADROOM) so the event can still be dead-lettered; a
//! dead letter, request or reply against the limits themselves; a topic
//! against 1 KiB, as the server closes the connection of a client whose
//! protocol line is over its `max_control_line` (4 KiB by default).
//!
//! Messages with the same key are not ordered per key
//! ([`Capabilities::per_key_order`] is false); the key travels in the
//! [`KEY_HEADER`] header.

mod headers;
mod names;
mod provision;
mod subscription;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::client::RequestErrorKind;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::response::Response;
use async_nats::jetstream::stream::StorageType;
use async_nats::{Client, ConnectOptions, Event};
use futures_util::StreamExt;
use tokio::sync::watch;

pub use async_nats;
pub use headers::KEY as KEY_HEADER;
pub use subscription::{NatsDelivery, NatsSubscription};

use self::headers::Bound;
use self::provision::{ConsumerSpec, StreamRef, StreamSettings};
use self::subscription::{Reading, Source};
use super::limits::{dead_letter_reason, TooLarge, DEFAULT_MAX_HEADER_BYTES};
use super::{
    BrokerError, Capabilities, Message, PendingRequest, Publish, RequestReply, Responder,
    Subscribe, SubscribeOptions, DEAD_LETTER_ATTEMPTS, DEAD_LETTER_GROUP, DEAD_LETTER_REASON,
    DEAD_LETTER_TOPIC,
};

/// The default prefix of the streams accord declares.
pub const DEFAULT_STREAM_PREFIX: &str = "ACCORD";

/// The default subject prefix of dead letters.
pub const DEFAULT_DEAD_LETTER_SUBJECT: &str = "accord.dead-letter";

/// The default duplicate window of the streams accord declares (the
/// JetStream default).
pub const DEFAULT_DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// The least `max_ack_pending` of a group's consumers: JetStream's default,
/// raised to four times `max_in_flight` for larger limits, so several
/// members can each hold their limit.
const MIN_MAX_ACK_PENDING: i64 = 1000;

/// How the [`NatsBroker`] names and declares what it uses.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    stream_prefix: String,
    dead_letter_subject: String,
    duplicate_window: Option<Duration>,
    publish_dedupe: bool,
    max_age: Option<Duration>,
    replicas: Option<usize>,
    memory_storage: bool,
    max_header_bytes: usize,
}

impl Default for NatsOptions {
    fn default() -> Self {
        NatsOptions {
            stream_prefix: DEFAULT_STREAM_PREFIX.to_owned(),
            dead_letter_subject: DEFAULT_DEAD_LETTER_SUBJECT.to_owned(),
            duplicate_window: None,
            publish_dedupe: true,
            max_age: None,
            replicas: None,
            memory_storage: false,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        }
    }
}

impl NatsOptions {
    /// The defaults: prefix `ACCORD`, dead letters on `accord.dead-letter.>`,
    /// publishes deduplicated by event id, file storage, headers of at most
    /// [`DEFAULT_MAX_HEADER_BYTES`] each; streams created with a 2 minute
    /// duplicate window, one replica and no age limit, and the settings of
    /// existing streams left as they are.
    pub fn new() -> Self {
        NatsOptions::default()
    }

    /// The prefix of every stream name (letters, digits, `-`, `_`; other
    /// characters are replaced).
    pub fn stream_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.stream_prefix = prefix.into();
        self
    }

    /// The subject prefix dead letters are published under: a group's go
    /// to `<subject>.<group>`.
    pub fn dead_letter_subject(mut self, subject: impl Into<String>) -> Self {
        self.dead_letter_subject = subject.into();
        self
    }

    /// How long JetStream remembers a message id to drop a repeated
    /// publish of it (default: 2 minutes for the streams accord creates).
    /// Also applied to the streams accord declared earlier.
    pub fn duplicate_window(mut self, window: Duration) -> Self {
        self.duplicate_window = Some(window);
        self
    }

    /// Whether a publish carries the event id as `Nats-Msg-Id`, so that
    /// JetStream stores a repeated publish of one event once (default on).
    /// Off, every publish is stored and delivered, and repeats are left to
    /// the subscriber's dedupe.
    pub fn publish_dedupe(mut self, on: bool) -> Self {
        self.publish_dedupe = on;
        self
    }

    /// How long the streams keep messages (default: until deleted). Also
    /// applied to the streams accord declared earlier.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// How many replicas each stream has in a JetStream cluster (default:
    /// 1 for the streams accord creates; 3 is the usual choice for a
    /// cluster). Also applied to the streams accord declared earlier.
    pub fn replicas(mut self, replicas: usize) -> Self {
        self.replicas = Some(replicas.max(1));
        self
    }

    /// Keeps the streams accord creates in memory instead of on disk.
    pub fn memory_storage(mut self, on: bool) -> Self {
        self.memory_storage = on;
        self
    }

    /// The largest header, name and value in bytes, that a publish, request
    /// or reply may carry (default [`DEFAULT_MAX_HEADER_BYTES`], 16 KiB); a
    /// larger one is refused with [`BrokerError::TooLarge`]. The headers of
    /// an event together stay within JetStream's 64 KiB whatever this is.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    fn settings(&self) -> StreamSettings {
        StreamSettings {
            duplicate_window: self.duplicate_window,
            max_age: self.max_age,
            replicas: self.replicas,
            storage: if self.memory_storage {
                StorageType::Memory
            } else {
                StorageType::File
            },
        }
    }
}

/// A broker on NATS JetStream. Clones share one connection.
///
/// ```text
/// let broker = NatsBroker::connect("nats://127.0.0.1:4222").await?;
/// let handle = Subscriber::new(broker.clone(), "inventory")
///     .start(MyInventory.into_event_handlers())
///     .await?;
/// ```
#[derive(Clone)]
pub struct NatsBroker {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    js: async_nats::jetstream::Context,
    options: NatsOptions,
    prefix: String,
    settings: StreamSettings,
    /// The stream of each topic used so far.
    streams: Mutex<HashMap<String, StreamRef>>,
    dead_letters: StreamRef,
    /// Counts connections; pull loops ask again after a reconnect.
    connections: Arc<watch::Sender<u64>>,
}

impl fmt::Debug for NatsBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsBroker")
            .field("options", &self.inner.options)
            .field("dead_letters", &self.inner.dead_letters.name)
            .finish_non_exhaustive()
    }
}

impl NatsBroker {
    /// Connects to the NATS server(s) at `url` (several comma-separated
    /// URLs of one cluster are tried in turn) with the default
    /// [`NatsOptions`], and declares the dead-letter stream.
    pub async fn connect(url: &str) -> Result<NatsBroker, BrokerError> {
        NatsBroker::connect_with(url, NatsOptions::default()).await
    }

    /// [`connect`](NatsBroker::connect) with `options`.
    pub async fn connect_with(url: &str, options: NatsOptions) -> Result<NatsBroker, BrokerError> {
        let servers: Vec<&str> = url
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let (connections, _) = watch::channel(0u64);
        let connections = Arc::new(connections);
        let events = connections.clone();
        let client = ConnectOptions::new()
            .name("accord")
            .event_callback(move |event| {
                let events = events.clone();
                async move {
                    match event {
                        Event::Connected => {
                            tracing::info!("connected to NATS");
                            events.send_modify(|n| *n += 1);
                        }
                        Event::Disconnected => {
                            tracing::warn!("disconnected from NATS; reconnecting")
                        }
                        other => tracing::debug!(event = %other, "NATS connection event"),
                    }
                }
            })
            .connect(servers.as_slice())
            .await
            .map_err(|e| {
                BrokerError::Connection(format!("cannot connect to NATS at {url}: {e}"))
            })?;
        NatsBroker::start(client, options, connections).await
    }

    /// A broker over an existing connection, for connection settings
    /// accord does not set itself (credentials, TLS, a custom inbox).
    /// Pulls resume after a reconnect once their request expires (seconds)
    /// instead of at once, as accord cannot watch the connection's events.
    pub async fn from_client(
        client: Client,
        options: NatsOptions,
    ) -> Result<NatsBroker, BrokerError> {
        let (connections, _) = watch::channel(0u64);
        NatsBroker::start(client, options, Arc::new(connections)).await
    }

    async fn start(
        client: Client,
        options: NatsOptions,
        connections: Arc<watch::Sender<u64>>,
    ) -> Result<NatsBroker, BrokerError> {
        names::check_topic(&options.dead_letter_subject).map_err(|e| {
            BrokerError::Rejected(format!("the dead-letter subject is not usable: {e}"))
        })?;
        let prefix = names::group_token(&options.stream_prefix);
        let js = async_nats::jetstream::new(client.clone());
        // The account info request answers only where JetStream runs. Its
        // body differs between server versions; only success matters.
        let info: Response<serde_json::Value> = js.request("INFO", &()).await.map_err(|e| {
            BrokerError::Connection(format!(
                "JetStream is not available on this NATS server (start it with -js): {e}"
            ))
        })?;
        if let Response::Err { error } = info {
            return Err(BrokerError::Rejected(format!(
                "JetStream is not available to this connection's account: {error}"
            )));
        }
        let settings = options.settings();
        let dead_letters = provision::declare_stream(
            &js,
            &format!("{prefix}-DEAD-LETTERS"),
            &format!("{}.>", options.dead_letter_subject),
            "accord: dead letters of every group".to_owned(),
            &settings,
        )
        .await?;
        Ok(NatsBroker {
            inner: Arc::new(Inner {
                client,
                js,
                options,
                prefix,
                settings,
                streams: Mutex::new(HashMap::new()),
                dead_letters,
                connections,
            }),
        })
    }

    /// The NATS connection.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The JetStream context.
    pub fn jetstream(&self) -> &async_nats::jetstream::Context {
        &self.inner.js
    }

    /// The options this broker was made with.
    pub fn options(&self) -> &NatsOptions {
        &self.inner.options
    }

    /// The name of the stream accord declares for `topic`.
    pub fn topic_stream_name(&self, topic: &str) -> String {
        format!("{}_{}", self.inner.prefix, names::topic_token(topic))
    }

    /// The name of the dead-letter stream in use.
    pub fn dead_letter_stream_name(&self) -> &str {
        &self.inner.dead_letters.name
    }

    /// The subject `group`'s dead letters are published on.
    pub fn dead_letter_subject(&self, group: &str) -> String {
        format!(
            "{}.{}",
            self.inner.options.dead_letter_subject,
            names::group_token(group)
        )
    }

    /// The name of `group`'s durable consumer on a stream accord declared.
    pub fn consumer_name(group: &str) -> String {
        names::group_token(group)
    }

    fn reconnects(&self) -> watch::Receiver<u64> {
        self.inner.connections.subscribe()
    }

    /// The stream capturing `topic`, declared if needed.
    async fn topic_stream(&self, topic: &str) -> Result<StreamRef, BrokerError> {
        if let Some(stream) = self.cached_stream(topic) {
            return Ok(stream);
        }
        names::check_subject_length(topic)?;
        names::check_topic(topic).map_err(BrokerError::Rejected)?;
        let stream = provision::declare_stream(
            &self.inner.js,
            &self.topic_stream_name(topic),
            topic,
            format!("accord: events on `{topic}`"),
            &self.inner.settings,
        )
        .await?;
        self.lock_streams().insert(topic.to_owned(), stream.clone());
        Ok(stream)
    }

    fn cached_stream(&self, topic: &str) -> Option<StreamRef> {
        self.lock_streams().get(topic).cloned()
    }

    /// Forgets the stream of `topic`, so the next use declares it again.
    fn forget_stream(&self, topic: &str) {
        self.lock_streams().remove(topic);
    }

    fn lock_streams(&self) -> std::sync::MutexGuard<'_, HashMap<String, StreamRef>> {
        // The map is only read and written whole; a panic elsewhere leaves
        // it consistent.
        self.inner
            .streams
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Publishes `message`; `Ok(false)` when no stream captures its topic
    /// (any more).
    async fn publish_once(&self, message: &Message) -> Result<bool, BrokerError> {
        let mut headers = headers::to_nats(message, Some(self.inner.options.max_header_bytes))?;
        if self.inner.options.publish_dedupe {
            if let Some(id) = message.id().filter(|id| !id.is_empty()) {
                headers::insert(&mut headers, headers::MESSAGE_ID, id)?;
            }
        }
        self.check_size(&headers, message.payload.len(), Bound::Event)?;
        let stream = self.topic_stream(&message.topic).await?;
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
            .send_publish(message.topic.clone(), publish)
            .await
            .map_err(|e| publish_error(&what(), e))?;
        match ack.await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == PublishErrorKind::StreamNotFound => Ok(false),
            Err(e) => Err(publish_error(&what(), e)),
        }
    }

    /// Stores a dead letter of `group` and waits for JetStream to confirm.
    async fn publish_dead_letter(
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
    fn check_size(
        &self,
        headers: &async_nats::HeaderMap,
        payload: usize,
        bound: Bound,
    ) -> Result<(), BrokerError> {
        let max_payload = self.inner.client.max_payload();
        headers::check_size(headers, payload, max_payload, bound).map_err(BrokerError::from)
    }

    /// Declares `spec` on the stream of `topic`, redeclaring the stream
    /// once if it was deleted since it was looked up.
    async fn group_source(
        &self,
        topic: &str,
        group: &str,
        options: &SubscribeOptions,
    ) -> Result<Source, BrokerError> {
        let mut retried = false;
        loop {
            let stream = self.topic_stream(topic).await?;
            let name = if stream.owned {
                NatsBroker::consumer_name(group)
            } else {
                // An adopted stream may capture several of the group's
                // topics; each needs a consumer of its own.
                format!(
                    "{}_{}",
                    NatsBroker::consumer_name(group),
                    names::topic_token(topic)
                )
            };
            let spec = ConsumerSpec {
                name,
                description: format!("accord: group `{group}` on `{topic}`"),
                filter_subject: topic.to_owned(),
                ack_wait: options.ack_wait,
                max_ack_pending: i64::try_from(options.max_in_flight.saturating_mul(4))
                    .unwrap_or(i64::MAX)
                    .max(MIN_MAX_ACK_PENDING),
            };
            match provision::declare_consumer(&self.inner.js, &stream.name, &spec).await {
                Ok(consumer) => {
                    return Ok(Source {
                        stream: stream.name,
                        spec,
                        consumer,
                    })
                }
                Err(error @ BrokerError::Rejected(_)) if !retried => {
                    tracing::debug!(%error, "redeclaring the stream of `{topic}`");
                    self.forget_stream(topic);
                    retried = true;
                }
                Err(error) => return Err(error),
            }
        }
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

impl Subscribe for NatsBroker {
    type Subscription = NatsSubscription;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            per_key_order: false,
            dedupes_publishes: self.inner.options.publish_dedupe,
        }
    }

    async fn subscribe(&self, options: SubscribeOptions) -> Result<NatsSubscription, BrokerError> {
        let topics: BTreeSet<&String> = options.topics.iter().collect();
        let mut sources = Vec::with_capacity(topics.len());
        for topic in topics {
            sources.push(self.group_source(topic, &options.group, &options).await?);
        }
        Ok(subscription::open(
            self.clone(),
            &options.group,
            sources,
            options.max_in_flight,
            Reading::Group,
        ))
    }

    async fn dead_letters(&self, group: &str) -> Result<NatsSubscription, BrokerError> {
        let options = SubscribeOptions::new(group, Vec::<String>::new());
        let spec = ConsumerSpec {
            name: NatsBroker::consumer_name(group),
            description: format!("accord: dead letters of group `{group}`"),
            filter_subject: self.dead_letter_subject(group),
            ack_wait: options.ack_wait,
            max_ack_pending: MIN_MAX_ACK_PENDING,
        };
        let stream = self.inner.dead_letters.name.clone();
        let consumer = provision::declare_consumer(&self.inner.js, &stream, &spec).await?;
        Ok(subscription::open(
            self.clone(),
            &format!("dead-letter:{group}"),
            vec![Source {
                stream,
                spec,
                consumer,
            }],
            options.max_in_flight,
            Reading::DeadLetters,
        ))
    }
}

impl RequestReply for NatsBroker {
    type Responder = NatsResponder;

    async fn request(&self, message: Message, timeout: Duration) -> Result<Message, BrokerError> {
        names::check_subject_length(&message.topic)?;
        let headers = headers::to_nats(&message, Some(self.inner.options.max_header_bytes))?;
        self.check_size(&headers, message.payload.len(), Bound::Core)?;
        let request = async_nats::Request::new()
            .payload(message.payload.clone())
            .headers(headers)
            .timeout(Some(timeout));
        match self
            .inner
            .client
            .send_request(message.topic.clone(), request)
            .await
        {
            Ok(reply) => Ok(headers::from_nats(
                reply.subject.as_str(),
                reply.headers.as_ref(),
                reply.payload,
            )),
            Err(error) => Err(match error.kind() {
                RequestErrorKind::NoResponders => BrokerError::NoResponders(message.topic),
                RequestErrorKind::TimedOut => BrokerError::Timeout(timeout),
                RequestErrorKind::InvalidSubject | RequestErrorKind::MaxPayloadExceeded => {
                    BrokerError::Rejected(format!("a request on `{}`: {error}", message.topic))
                }
                RequestErrorKind::Other => {
                    BrokerError::Connection(format!("a request on `{}`: {error}", message.topic))
                }
            }),
        }
    }

    async fn respond(&self, topic: &str, group: &str) -> Result<NatsResponder, BrokerError> {
        let subscriber = self
            .inner
            .client
            .queue_subscribe(topic.to_owned(), names::group_token(group))
            .await
            .map_err(|e| BrokerError::Rejected(format!("serving requests on `{topic}`: {e}")))?;
        // Once the server has the subscription, requests find it.
        self.inner
            .client
            .flush()
            .await
            .map_err(|e| BrokerError::Connection(format!("serving requests on `{topic}`: {e}")))?;
        Ok(NatsResponder {
            subscriber,
            broker: self.clone(),
            topic: topic.to_owned(),
        })
    }
}

/// A request server on a [`NatsBroker`]: a member of a NATS queue group.
pub struct NatsResponder {
    subscriber: async_nats::Subscriber,
    broker: NatsBroker,
    topic: String,
}

impl fmt::Debug for NatsResponder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsResponder")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl Responder for NatsResponder {
    type Request = NatsRequest;

    async fn next(&mut self) -> Option<NatsRequest> {
        loop {
            let message = self.subscriber.next().await?;
            // A plain publish on the topic expects no reply.
            let Some(reply) = message.reply else {
                continue;
            };
            return Some(NatsRequest {
                message: headers::from_nats(
                    message.subject.as_str(),
                    message.headers.as_ref(),
                    message.payload,
                ),
                reply,
                broker: self.broker.clone(),
            });
        }
    }
}

/// A request waiting for its reply on a [`NatsBroker`].
pub struct NatsRequest {
    message: Message,
    reply: async_nats::Subject,
    broker: NatsBroker,
}

impl fmt::Debug for NatsRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsRequest")
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl PendingRequest for NatsRequest {
    fn message(&self) -> &Message {
        &self.message
    }

    async fn reply(self, reply: Message) -> Result<(), BrokerError> {
        let headers = self.encode_reply(&reply)?;
        self.send_reply(headers, reply.payload).await
    }

    async fn reply_or<F>(self, reply: Message, instead: F) -> Result<(), BrokerError>
    where
        F: FnOnce(&TooLarge) -> Message + Send,
    {
        match self.encode_reply(&reply) {
            Ok(headers) => self.send_reply(headers, reply.payload).await,
            Err(BrokerError::TooLarge(too_large)) => {
                let fallback = instead(&too_large);
                let headers = self.encode_reply(&fallback)?;
                self.send_reply(headers, fallback.payload).await?;
                Err(BrokerError::TooLarge(too_large))
            }
            Err(error) => Err(error),
        }
    }
}

impl NatsRequest {
    /// The headers of `reply`, refused when it is over a limit.
    fn encode_reply(&self, reply: &Message) -> Result<async_nats::HeaderMap, BrokerError> {
        let broker = &self.broker;
        let headers = headers::to_nats(reply, Some(broker.inner.options.max_header_bytes))?;
        broker.check_size(&headers, reply.payload.len(), Bound::Core)?;
        Ok(headers)
    }

    async fn send_reply(
        &self,
        headers: async_nats::HeaderMap,
        payload: bytes::Bytes,
    ) -> Result<(), BrokerError> {
        self.broker
            .inner
            .client
            .publish_with_headers(self.reply.clone(), headers, payload)
            .await
            .map_err(|e| BrokerError::Connection(format!("sending a reply: {e}")))
    }
}

/// What this backend declares, checked on a live server: the one at
/// `ACCORD_NATS_URL` (default `nats://127.0.0.1:4222`). Without one the
/// tests say so and pass, except on CI (`CI` set). Every name is unique to
/// the test, and the streams it created are deleted at its end.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::{Delivery, Subscription};
    use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy};
    use async_nats::jetstream::stream::Config;

    async fn broker(options: NatsOptions) -> Option<NatsBroker> {
        let url =
            std::env::var("ACCORD_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
        match NatsBroker::connect_with(&url, options).await {
            Ok(broker) => Some(broker),
            Err(e) if std::env::var_os("CI").is_some() => panic!("CI needs NATS at {url}: {e}"),
            Err(e) => {
                println!("skipped: no NATS with JetStream at {url}: {e}");
                None
            }
        }
    }

    fn unique(what: &str) -> String {
        let mut id = uuid::Uuid::new_v4().simple().to_string();
        id.truncate(10);
        format!("accord-unit-{what}-{id}")
    }

    async fn delete_streams(broker: &NatsBroker, names: &[String]) {
        for name in names {
            let _ = broker.jetstream().delete_stream(name).await;
        }
    }

    async fn consumer_config(
        broker: &NatsBroker,
        stream: &str,
        name: &str,
    ) -> async_nats::jetstream::consumer::Config {
        broker
            .jetstream()
            .get_stream(stream)
            .await
            .unwrap()
            .consumer_info(name)
            .await
            .unwrap()
            .config
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn declares_a_stream_per_topic_and_a_consumer_per_group() {
        let Some(broker) = broker(NatsOptions::new()).await else {
            return;
        };
        let topic = format!("{}.placed", unique("orders"));
        let stream = broker.topic_stream_name(&topic);
        assert_eq!(stream, format!("ACCORD_{}", topic.replace('.', "_")));

        // Published before any group: kept for the first one.
        broker
            .publish(Message::new(&topic, "early").with_key("customer-7"))
            .await
            .unwrap();
        let info = broker
            .jetstream()
            .get_stream(&stream)
            .await
            .unwrap()
            .cached_info()
            .clone();
        assert_eq!(info.config.subjects, vec![topic.clone()]);
        assert_eq!(info.config.duplicate_window, DEFAULT_DUPLICATE_WINDOW);
        assert_eq!(info.state.messages, 1);

        let options = SubscribeOptions::new("first", [&topic])
            .max_in_flight(8)
            .ack_wait(Duration::from_secs(7));
        let mut first = broker.subscribe(options).await.unwrap();
        let delivery = first.next().await.unwrap();
        assert_eq!(&delivery.message().payload[..], b"early");
        assert_eq!(delivery.message().key.as_deref(), Some("customer-7"));
        assert_eq!(delivery.message().topic, topic);
        assert_eq!(delivery.attempt(), 1);
        delivery.ack().await.unwrap();

        let config = consumer_config(&broker, &stream, "first").await;
        assert_eq!(config.durable_name.as_deref(), Some("first"));
        assert_eq!(config.filter_subject, topic);
        assert_eq!(config.ack_policy, AckPolicy::Explicit);
        assert_eq!(config.ack_wait, Duration::from_secs(7));
        assert_eq!(config.max_deliver, -1);
        assert!(config.max_ack_pending >= 8);
        assert_eq!(config.deliver_policy, DeliverPolicy::All);

        // A group declared later starts with what is published from then on.
        let mut later = broker
            .subscribe(SubscribeOptions::new("later", [&topic]))
            .await
            .unwrap();
        let config = consumer_config(&broker, &stream, "later").await;
        assert_eq!(config.deliver_policy, DeliverPolicy::New);
        broker.publish(Message::new(&topic, "next")).await.unwrap();
        let delivery = later.next().await.unwrap();
        assert_eq!(&delivery.message().payload[..], b"next");
        delivery.ack().await.unwrap();

        // Declaring again changes nothing but the settings that differ.
        drop(first);
        let again = broker
            .subscribe(SubscribeOptions::new("first", [&topic]).ack_wait(Duration::from_secs(9)))
            .await
            .unwrap();
        let config = consumer_config(&broker, &stream, "first").await;
        assert_eq!(config.ack_wait, Duration::from_secs(9));
        assert_eq!(config.deliver_policy, DeliverPolicy::All);
        drop(again);
        drop(later);
        delete_streams(&broker, &[stream]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_repeated_event_id_is_stored_once() {
        let Some(broker) = broker(NatsOptions::new()).await else {
            return;
        };
        let topic = format!("{}.event", unique("dedupe"));
        let event = Message::new(&topic, "{}").with_header("ce-id", "event-1");
        broker.publish(event.clone()).await.unwrap();
        broker.publish(event).await.unwrap();
        broker
            .publish(Message::new(&topic, "{}").with_header("ce-id", "event-2"))
            .await
            .unwrap();
        let stream = broker.topic_stream_name(&topic);
        let mut handle = broker.jetstream().get_stream(&stream).await.unwrap();
        assert_eq!(handle.info().await.unwrap().state.messages, 2);
        delete_streams(&broker, &[stream]).await;

        let Some(storing) = super::tests::broker(NatsOptions::new().publish_dedupe(false)).await
        else {
            return;
        };
        let topic = format!("{}.event", unique("no-dedupe"));
        let event = Message::new(&topic, "{}").with_header("ce-id", "event-1");
        storing.publish(event.clone()).await.unwrap();
        storing.publish(event).await.unwrap();
        let stream = storing.topic_stream_name(&topic);
        let mut handle = storing.jetstream().get_stream(&stream).await.unwrap();
        assert_eq!(handle.info().await.unwrap().state.messages, 2);
        delete_streams(&storing, &[stream]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stream_an_operator_declared_is_used_as_it_is() {
        let Some(broker) = broker(NatsOptions::new()).await else {
            return;
        };
        let base = unique("ops");
        let operators = format!("OPS-{base}");
        broker
            .jetstream()
            .create_stream(Config {
                name: operators.clone(),
                subjects: vec![format!("{base}.>")],
                ..Default::default()
            })
            .await
            .unwrap();
        let (placed, cancelled) = (format!("{base}.placed"), format!("{base}.cancelled"));
        let mut sub = broker
            .subscribe(SubscribeOptions::new("billing", [&placed, &cancelled]))
            .await
            .unwrap();
        broker.publish(Message::new(&cancelled, "c")).await.unwrap();
        broker.publish(Message::new(&placed, "p")).await.unwrap();
        let mut got = BTreeSet::new();
        for _ in 0..2 {
            let delivery = sub.next().await.unwrap();
            got.insert(delivery.message().topic.clone());
            delivery.ack().await.unwrap();
        }
        assert_eq!(got, BTreeSet::from([placed.clone(), cancelled.clone()]));

        let streams: Vec<String> = broker
            .jetstream()
            .stream_names()
            .filter_map(|name| async move { name.ok() })
            .collect()
            .await;
        assert!(
            !streams.contains(&broker.topic_stream_name(&placed)),
            "no stream of accord's own for a subject an operator's stream captures"
        );
        let names: BTreeSet<String> = broker
            .jetstream()
            .get_stream(&operators)
            .await
            .unwrap()
            .consumer_names()
            .filter_map(|name| async move { name.ok() })
            .collect()
            .await;
        assert_eq!(
            names,
            BTreeSet::from([
                format!("billing_{}", names::topic_token(&placed)),
                format!("billing_{}", names::topic_token(&cancelled)),
            ])
        );
        drop(sub);
        delete_streams(&broker, &[operators]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dead_letters_keep_the_message_and_say_why() {
        let Some(broker) = broker(NatsOptions::new()).await else {
            return;
        };
        let topic = format!("{}.t", unique("dead"));
        let group = unique("group");
        let mut sub = broker
            .subscribe(SubscribeOptions::new(&group, [&topic]))
            .await
            .unwrap();
        broker
            .publish(
                Message::new(&topic, "poison")
                    .with_key("k")
                    .with_header("X-Case", "Kept"),
            )
            .await
            .unwrap();
        let delivery = sub.next().await.unwrap();
        delivery.dead_letter("it broke\nbadly").await.unwrap();
        let mut dead = broker.dead_letters(&group).await.unwrap();
        let letter = dead.next().await.unwrap();
        let message = letter.message();
        assert_eq!(message.topic, topic);
        assert_eq!(message.key.as_deref(), Some("k"));
        assert_eq!(message.header("X-Case"), Some("Kept"));
        assert_eq!(message.header(DEAD_LETTER_REASON), Some("it broke badly"));
        assert_eq!(message.header(DEAD_LETTER_ATTEMPTS), Some("1"));
        assert_eq!(message.header(DEAD_LETTER_GROUP), Some(group.as_str()));
        let (stream, _) = letter.stream_position();
        assert_eq!(stream, broker.dead_letter_stream_name());
        letter.ack().await.unwrap();
        drop(dead);
        let js = broker.jetstream();
        let dead_letters = js
            .get_stream(broker.dead_letter_stream_name())
            .await
            .unwrap();
        let _ = dead_letters
            .purge()
            .filter(broker.dead_letter_subject(&group))
            .await;
        let _ = dead_letters
            .delete_consumer(&NatsBroker::consumer_name(&group))
            .await;
        drop(sub);
        delete_streams(&broker, &[broker.topic_stream_name(&topic)]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_nats_cannot_carry_is_refused() {
        let Some(broker) = broker(NatsOptions::new()).await else {
            return;
        };
        for topic in ["a.*", "a b", "a..b"] {
            assert!(
                matches!(
                    broker.publish(Message::new(topic, "x")).await,
                    Err(BrokerError::Rejected(_))
                ),
                "{topic:?}"
            );
        }
        let topic = format!("{}.t", unique("refused"));
        let result = broker
            .publish(Message::new(&topic, "x").with_header("x", "two\nlines"))
            .await;
        assert!(
            matches!(result, Err(BrokerError::Rejected(_))),
            "{result:?}"
        );
        delete_streams(&broker, &[broker.topic_stream_name(&topic)]).await;
    }

    /// A subject over the server's control line closes the connection; a
    /// topic that long is refused before it is sent, and the connection
    /// carries on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_topic_too_long_for_a_subject_is_refused() {
        let Some(broker) = broker(NatsOptions::new()).await else {
            return;
        };
        let stats = broker.client().statistics();
        let connects = stats.connects.load(std::sync::atomic::Ordering::Relaxed);
        let long = format!("{}.{}", unique("long"), "t".repeat(5000));
        for result in [
            broker.publish(Message::new(&long, "x")).await,
            broker
                .request(Message::new(&long, "x"), Duration::from_secs(1))
                .await
                .map(drop),
        ] {
            let Err(BrokerError::TooLarge(error)) = result else {
                panic!("{result:?}");
            };
            assert_eq!(error.part, crate::broker::MessagePart::Topic);
            assert!(error.to_string().contains("the topic is 5"), "{error}");
        }
        let topic = format!("{}.t", unique("after-long"));
        broker.publish(Message::new(&topic, "x")).await.unwrap();
        assert_eq!(
            stats.connects.load(std::sync::atomic::Ordering::Relaxed),
            connects,
            "no connection was lost"
        );
        delete_streams(&broker, &[broker.topic_stream_name(&topic)]).await;
    }
}
