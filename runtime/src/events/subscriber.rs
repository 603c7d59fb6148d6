//! The subscriber runtime: runs a service's event handlers for one group.
//!
//! Each delivery is decoded, checked against the dedupe store, and handed
//! to its handler inside a span that continues the publisher's trace. On
//! success the delivery is acked. A handler error or panic is retried after
//! an exponential backoff with jitter, up to `max_attempts`; then the event
//! is dead-lettered with the reason. An event that cannot be decoded is
//! dead-lettered at once. A duplicate (by event id) of an event the group
//! has already handled or dead-lettered is acknowledged and skipped. A
//! dead letter replayed for this group (see [`crate::broker::dead_letters`])
//! is deduped by its event id and replay number, and one replayed for
//! another group is skipped.
//! Nothing is dropped: shutting down stops taking deliveries, lets the
//! handlers in flight finish within a grace period, and releases the rest
//! for redelivery.
//!
//! Nothing loops on one event either. A reason is capped (one line, at most
//! [`MAX_REASON_BYTES`]) before it is logged or dead-lettered: reasons
//! quote what failed, and a decoding error would otherwise quote the
//! payload, making the dead letter of a large event too large to store. A
//! dead letter the broker refuses leaves the event with the group,
//! delivered again after the backoff of its attempt rather than at once,
//! and the event counts as dead-lettered only once it was stored.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use foldhash::HashMap;
use futures_util::future::Either;
use futures_util::FutureExt;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tower::ServiceExt;
use tracing::Instrument;

use super::dedupe::{Begin, DedupeStore, MemoryDedupe};
use super::envelope;
use super::intercept::{
    delivery_context, failure_reason, run_plain, EventCall, EventRun, EventService, RunHandler,
};
use super::publisher::EventRoute;
use super::takers;
use crate::broker::dead_letters::{replay_count, REPLAY_GROUP};
use crate::broker::limits::{cap_text, dead_letter_reason, MAX_REASON_BYTES};
use crate::broker::{BrokerError, ConsumeEvents, KeyOrder, Message, Retry, SubscribeOptions};
use crate::context::Context;
use crate::dispatch::BoxFuture;
use crate::observe;
use crate::observe::metrics::{self, Settled, UNKNOWN_OPERATION};
use crate::trace::TraceContext;

/// Decodes an event payload into a run of its handler: generated per event
/// method.
pub type EventHandler = Box<dyn Fn(Bytes) -> Result<EventRun, String> + Send + Sync>;

/// A service's event handlers, by topic: what `{Trait}Subscriber` builds.
pub struct EventHandlers {
    service: &'static str,
    handlers: Vec<(&'static EventRoute, EventHandler)>,
}

impl fmt::Debug for EventHandlers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventHandlers")
            .field("service", &self.service)
            .field(
                "topics",
                &self
                    .handlers
                    .iter()
                    .map(|(r, _)| r.topic)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl EventHandlers {
    /// Handlers for `service`'s events; used by generated code.
    pub fn new(service: &'static str, handlers: Vec<(&'static EventRoute, EventHandler)>) -> Self {
        EventHandlers { service, handlers }
    }

    /// The topics handled.
    pub fn topics(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.handlers.iter().map(|(route, _)| route.topic)
    }
}

/// Wraps a typed handler as an [`EventHandler`]; used by generated code.
pub fn event_handler<S, T, F, Fut, E>(server: Arc<S>, f: F) -> EventHandler
where
    S: Send + Sync + 'static,
    T: DeserializeOwned,
    T: Send + 'static,
    F: Fn(Arc<S>, T, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Debug,
{
    let f = Arc::new(f);
    Box::new(move |payload: Bytes| {
        let event: T = decode(&payload)?;
        let (f, server) = (f.clone(), server.clone());
        Ok(Box::new(move |context: Context| {
            let fut = f(server, event, context);
            Box::pin(async move { fut.await.map_err(|e| format!("{e:?}")) }) as BoxFuture<_>
        }) as EventRun)
    })
}

/// Decodes an event payload. A payload that does not decode is decoded
/// again, tracking the field path, to say where it went wrong: the common
/// case pays for no path.
fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, String> {
    if let Ok(event) = serde_json::from_slice(payload) {
        return Ok(event);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(payload);
    let event: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let error = shorten_quotes(&e.into_inner().to_string());
        if path == "." {
            error
        } else {
            format!("{}: {error}", cap_text(&path, MAX_PATH_BYTES))
        }
    })?;
    deserializer
        .end()
        .map_err(|e| shorten_quotes(&e.to_string()))?;
    Ok(event)
}

/// How much of a string a decoding error quotes, in bytes: serde quotes the
/// offending value, which may be most of the payload.
const MAX_QUOTED_BYTES: usize = 64;

/// How much of the field path a decoding error names, in bytes (a path runs
/// through map keys, which may be long).
const MAX_PATH_BYTES: usize = 256;

/// `error` with each quoted string longer than [`MAX_QUOTED_BYTES`] cut
/// short, followed by its length: what a decoding error says about a
/// value, without the value.
fn shorten_quotes(error: &str) -> String {
    let mut out = String::with_capacity(error.len().min(1024));
    let mut rest = error;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..=open]);
        let quoted = &rest[open + 1..];
        // The closing quote: serde escapes quotes inside as `\"`.
        let mut close = None;
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    close = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        let Some(close) = close else {
            rest = quoted;
            break;
        };
        let inner = &quoted[..close];
        if inner.len() > MAX_QUOTED_BYTES {
            let mut cut = MAX_QUOTED_BYTES;
            while !inner.is_char_boundary(cut) {
                cut -= 1;
            }
            out.push_str(&inner[..cut]);
            out.push_str(&format!("…\" ({} bytes)", inner.len()));
        } else {
            out.push_str(inner);
            out.push('"');
        }
        rest = &quoted[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Retry delays: exponential from `initial`, capped at `max`, each drawn
/// at random from its upper half so members that failed together do not
/// retry together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The delay before the second attempt.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
    /// The factor from one delay to the next.
    pub multiplier: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(60),
            multiplier: 2.0,
        }
    }
}

impl Backoff {
    /// The delay after failed attempt number `attempt` (from 1).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(63) as i32;
        let full = self.initial.as_secs_f64() * self.multiplier.powi(exponent);
        let capped = full.min(self.max.as_secs_f64());
        Duration::from_secs_f64(capped * (0.5 + fastrand::f64() * 0.5))
    }
}

/// Counts of what a subscriber did, for monitoring and tests.
#[derive(Debug, Default)]
pub struct SubscriberStats {
    /// Handled successfully and acked.
    pub handled: AtomicU64,
    /// Failed attempts scheduled for another try.
    pub retried: AtomicU64,
    /// Moved to the dead letters: counted once the broker stored the dead
    /// letter, not when one was attempted.
    pub dead_lettered: AtomicU64,
    /// Skipped as already handled or dead-lettered.
    pub duplicates: AtomicU64,
}

/// Runs event handlers for one group on a broker.
///
/// ```text
/// let handle = Subscriber::new(broker, "inventory")
///     .max_attempts(5)
///     .start(MyInventory.into_event_handlers())
///     .await?;
/// // ...
/// handle.shutdown().await;
/// ```
pub struct Subscriber<B> {
    broker: B,
    group: String,
    concurrency: usize,
    max_attempts: u32,
    backoff: Backoff,
    ack_wait: Duration,
    shutdown_grace: Duration,
    close_wait: Duration,
    dedupe: Arc<dyn DedupeStore>,
    layered: Option<EventService>,
    key_order: KeyOrder,
}

impl<B> fmt::Debug for Subscriber<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("group", &self.group)
            .field("concurrency", &self.concurrency)
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .field("key_order", &self.key_order)
            .field("layered", &self.layered.is_some())
            .finish_non_exhaustive()
    }
}

impl<B: ConsumeEvents> Subscriber<B> {
    /// A subscriber for `group`: 16 handlers at once, 5 attempts, the
    /// default backoff, 30 s ack wait and shutdown grace, 10 s close wait,
    /// in-memory dedupe.
    pub fn new(broker: B, group: impl Into<String>) -> Self {
        Subscriber {
            broker,
            group: group.into(),
            concurrency: 16,
            max_attempts: 5,
            backoff: Backoff::default(),
            ack_wait: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            close_wait: Duration::from_secs(10),
            dedupe: Arc::new(MemoryDedupe::default()),
            layered: None,
            key_order: KeyOrder::Unordered,
        }
    }

    /// Wraps every attempt at handling an event in `layer`: a tower
    /// [`Layer`](tower::Layer) over an [`EventService`].
    ///
    /// The layer's service sees each [`EventCall`] (the delivery's
    /// [`Context`] and payload) before the handler and the outcome after.
    /// Returning an error instead of calling the inner service refuses the
    /// attempt: it counts as a handler failure, retried after the backoff
    /// and dead-lettered after the last attempt. Layers added later wrap
    /// the ones added before.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower::Layer<EventService>,
        L::Service: tower::Service<EventCall, Response = (), Error = tower::BoxError>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower::Service<EventCall>>::Future: Send + 'static,
    {
        let below = self
            .layered
            .take()
            .unwrap_or_else(|| EventService::new(RunHandler));
        self.layered = Some(EventService::new(layer.layer(below)));
        self
    }

    /// How many handlers run at once (at least 1; default 16), which is
    /// also how many deliveries the subscription holds unsettled at once.
    ///
    /// Each is a handling task started with the subscriber and kept until
    /// it shuts down, taking one delivery after another: an idle one holds
    /// its future's state (a few KB, the size of the largest handler's
    /// future), so memory grows with `limit` from the start.
    ///
    /// Handlers run at once while they wait (on a database, a call, a
    /// timer). A handler that finishes without waiting is run by the task
    /// that took its delivery, which then takes the next one itself, so
    /// such handlers run one after another: CPU-heavy work belongs in
    /// `tokio::task::spawn_blocking`, as anywhere on a tokio runtime.
    pub fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = limit.max(1);
        self
    }

    /// How many attempts an event gets before it is dead-lettered (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The delays between attempts.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// How long a handler may run before its event is delivered again
    /// elsewhere.
    pub fn ack_wait(mut self, wait: Duration) -> Self {
        self.ack_wait = wait;
        self
    }

    /// How long shutdown waits for handlers in flight (default 30 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// How long shutdown waits, once the handlers are done, for the
    /// subscription to close on the broker (default 10 s): a Kafka
    /// member's last commits and its leaving the group, a NATS member's
    /// last acks, a RabbitMQ member's consumers cancelled and what they
    /// were sent ahead handed back. Past it the close goes on in the
    /// background and shutdown returns (see
    /// [`SubscriberHandle::shutdown`]).
    pub fn close_wait(mut self, wait: Duration) -> Self {
        self.close_wait = wait;
        self
    }

    /// Whether events with the same key are handled one at a time, in
    /// publish order (default unordered; see [`KeyOrder`] for the
    /// trade-off). A backend that cannot keep the order refuses to start.
    pub fn key_order(mut self, order: KeyOrder) -> Self {
        self.key_order = order;
        self
    }

    /// The store that suppresses duplicates.
    pub fn dedupe(mut self, store: Arc<dyn DedupeStore>) -> Self {
        self.dedupe = store;
        self
    }

    /// Joins the group on every handled topic and starts handling.
    pub async fn start(self, handlers: EventHandlers) -> Result<SubscriberHandle, BrokerError> {
        let options = SubscribeOptions::new(self.group.clone(), handlers.topics())
            .max_in_flight(self.concurrency)
            .ack_wait(self.ack_wait)
            .key_order(self.key_order);
        let subscription = self.broker.subscribe(options).await?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let stats = Arc::new(SubscriberStats::default());
        let worker = Worker {
            service: handlers.service,
            handlers: handlers
                .handlers
                .into_iter()
                .map(|(route, handler)| (route.topic, (route, handler)))
                .collect(),
            group: self.group.clone().into(),
            max_attempts: self.max_attempts,
            backoff: self.backoff,
            dedupe: self.dedupe,
            stats: stats.clone(),
            layered: self.layered,
        };
        let worker = Arc::new(worker);
        let group: Arc<str> = worker.group.clone();
        let task = tokio::spawn(takers::run(
            subscription,
            move |delivery| {
                let worker = worker.clone();
                async move { worker.handle(delivery).await }
            },
            self.concurrency,
            (self.shutdown_grace, self.close_wait),
            stop_rx,
            group,
        ));
        tracing::info!(group = %self.group, service = handlers.service, "subscriber started");
        Ok(SubscriberHandle {
            group: self.group,
            stop: stop_tx,
            task,
            stats,
        })
    }
}

/// A running subscriber.
///
/// Dropping the handle leaves the subscriber running for the life of the
/// process; call [`shutdown`](SubscriberHandle::shutdown) to stop it.
#[derive(Debug)]
#[must_use = "keep the handle to shut the subscriber down gracefully"]
pub struct SubscriberHandle {
    group: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    stats: Arc<SubscriberStats>,
}

impl SubscriberHandle {
    /// The group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// What it has done so far.
    pub fn stats(&self) -> &SubscriberStats {
        &self.stats
    }

    /// A shared handle on the counts, which outlives the subscriber.
    pub fn stats_handle(&self) -> Arc<SubscriberStats> {
        self.stats.clone()
    }

    /// Stops taking deliveries, waits for the handlers in flight (up to the
    /// shutdown grace) and releases what is left for redelivery; returns
    /// once the subscription is closed on the broker as well (see
    /// [`Subscription::close`](crate::broker::Subscription::close)), so a
    /// subscriber of the same group started next joins without this one,
    /// and a process that exits next has its last settlements on the
    /// broker. The close runs while the handlers finish, and once they are
    /// done is waited for at most the [close wait](Subscriber::close_wait);
    /// one that takes longer (a broker that does not answer) goes on in the
    /// background.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

struct Worker {
    service: &'static str,
    handlers: HashMap<&'static str, (&'static EventRoute, EventHandler)>,
    group: Arc<str>,
    max_attempts: u32,
    backoff: Backoff,
    dedupe: Arc<dyn DedupeStore>,
    stats: Arc<SubscriberStats>,
    layered: Option<EventService>,
}

impl Worker {
    async fn handle<D: Retry>(&self, delivery: D) {
        let message = delivery.message();
        let attempt = delivery.attempt();
        let topic = message.topic.as_str();
        let route = self.handlers.get(topic);
        let span = tracing::info_span!(
            "accord.event",
            service = self.service,
            operation = route.map_or("", |(r, _)| r.operation),
            topic = %topic,
            group = %self.group,
            event_id = message.id().unwrap_or_default(),
            attempt,
            trace_id = tracing::field::Empty,
            span_id = tracing::field::Empty,
        );
        let trace = observe::continue_trace(&span, &message.headers);
        trace
            .scope(
                self.settle(delivery, route, attempt, trace)
                    .instrument(span),
            )
            .await;
    }

    async fn settle<D: Retry>(
        &self,
        delivery: D,
        route: Option<&(&'static EventRoute, EventHandler)>,
        attempt: u32,
        trace: TraceContext,
    ) {
        let message = delivery.message();
        let Some((route, handler)) = route else {
            let reason = format!("no handler for topic `{}`", message.topic);
            self.dead_letter(delivery, UNKNOWN_OPERATION, &reason).await;
            return;
        };
        if let Err(reason) = envelope::check(&message.headers, &message.topic) {
            self.dead_letter(
                delivery,
                route.operation,
                &format!("invalid envelope: {reason}"),
            )
            .await;
            return;
        }
        if let Some(target) = message.header(REPLAY_GROUP) {
            if target != &*self.group {
                // A dead letter of another group replayed on the topic:
                // that group's, not this one's, to handle again.
                self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(replay_group = target, "replay for another group skipped");
                return log_settle(delivery.ack().await);
            }
        }
        let run = match handler(message.payload.clone()) {
            Ok(run) => run,
            Err(reason) => {
                self.dead_letter(
                    delivery,
                    route.operation,
                    &format!("undecodable payload: {reason}"),
                )
                .await;
                return;
            }
        };
        // The group gave up on the original and remembers it as done, so a
        // replay is deduped by its event id and replay number: the same
        // replay twice is handled once.
        let id = match replay_count(message) {
            0 => ClaimId::Event(message.clone()),
            n => ClaimId::Replay(format!(
                "{}\u{0}replay {n}",
                message.id().unwrap_or_default()
            )),
        };
        let begun = self.dedupe.begin(&self.group, id.as_str()).await;
        let claim = match begun {
            Begin::New => Claim {
                store: self.dedupe.clone(),
                group: self.group.clone(),
                id,
                open: true,
            },
            Begin::Duplicate => {
                self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                self.settled(route, Settled::Duplicate);
                tracing::debug!("duplicate event skipped");
                return log_settle(delivery.ack().await);
            }
            Begin::InProgress => {
                // Another member holds it now; look again once it is likely done.
                return log_settle(Box::pin(delivery.retry(self.backoff.delay(1))).await);
            }
        };
        let context = delivery_context(message, route, &self.group, attempt, trace);
        let attempted = match &self.layered {
            None => Either::Left(run_plain(context, run)),
            Some(layered) => {
                let call = EventCall::new(context.clone(), message.payload.clone(), run);
                let layered = context.scope(layered.clone().oneshot(call));
                Either::Right(layered.map(|outcome| outcome.map_err(failure_reason)))
            }
        };
        let started = std::time::Instant::now();
        let failure = match AssertUnwindSafe(attempted).catch_unwind().await {
            Ok(Ok(())) => None,
            Ok(Err(reason)) => Some(reason),
            Err(panic) => Some(format!("handler panicked: {}", panic_text(&*panic))),
        };
        metrics::event_handled(route, &self.group, started);
        match failure {
            None => {
                claim.complete().await;
                self.stats.handled.fetch_add(1, Ordering::Relaxed);
                self.settled(route, Settled::Handled);
                log_settle(delivery.ack().await);
            }
            Some(reason) if attempt >= self.max_attempts => {
                let reason = format!("{reason} (attempt {attempt} of {})", self.max_attempts);
                // The group is done with this event: a duplicate of it that
                // arrives later is skipped, not handled after the event was
                // dead-lettered. The claim is held until then so that no
                // duplicate starts in between.
                if self.dead_letter(delivery, route.operation, &reason).await {
                    claim.complete().await;
                } else {
                    claim.abort().await;
                }
            }
            Some(reason) => {
                claim.abort().await;
                let delay = self.backoff.delay(attempt);
                let reason = dead_letter_reason(&reason);
                tracing::warn!(%reason, ?delay, "event handler failed; retrying");
                self.stats.retried.fetch_add(1, Ordering::Relaxed);
                self.settled(route, Settled::Retried);
                log_settle(Box::pin(delivery.retry(delay)).await);
            }
        }
    }

    /// Counts a delivery to `route` settled so, in the metrics.
    fn settled(&self, route: &EventRoute, settled: Settled) {
        metrics::event_settled(self.service, route.operation, &self.group, settled);
    }

    /// Dead-letters the delivery; whether the broker took it.
    ///
    /// The reason is capped here, once for every backend, so that a large
    /// event whose reason quotes it can still be dead-lettered. A dead
    /// letter the broker refuses leaves the event with the group, delivered
    /// again after the backoff of its attempt, so a refusal that lasts is
    /// tried again ever more slowly rather than at once. It counts as
    /// dead-lettered once the broker stored it.
    ///
    /// The future is boxed: dead-lettering is the rare path, and its state
    /// would otherwise be part of every delivery's future.
    fn dead_letter<'a, D: Retry + 'a>(
        &'a self,
        delivery: D,
        operation: &'static str,
        reason: &'a str,
    ) -> std::pin::Pin<Box<impl Future<Output = bool> + 'a>> {
        Box::pin(self.dead_letter_now(delivery, operation, reason))
    }

    async fn dead_letter_now<D: Retry>(
        &self,
        delivery: D,
        operation: &'static str,
        reason: &str,
    ) -> bool {
        let reason = dead_letter_reason(reason);
        let delay = self.backoff.delay(delivery.attempt());
        match delivery.dead_letter_or_retry(&reason, delay).await {
            Ok(()) => {
                self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
                metrics::event_settled(self.service, operation, &self.group, Settled::DeadLettered);
                tracing::error!(%reason, "event dead-lettered");
                true
            }
            Err(error) => {
                let error = cap_text(&error.to_string(), MAX_REASON_BYTES).into_owned();
                tracing::warn!(
                    %error,
                    %reason,
                    ?delay,
                    "could not dead-letter the event; it is delivered again after the delay"
                );
                false
            }
        }
    }
}

/// A dedupe claim on an event id for the duration of one attempt.
///
/// A handler abandoned mid-attempt (its task cancelled at the end of the
/// shutdown grace) drops its claim unsettled; the claim is then released,
/// so the event's redelivery is not mistaken for one still in progress.
struct Claim {
    store: Arc<dyn DedupeStore>,
    group: Arc<str>,
    id: ClaimId,
    open: bool,
}

/// The id a claim is on: the event's own, read from the delivered message
/// (no copy of it), or a replay's.
enum ClaimId {
    Event(Arc<Message>),
    Replay(String),
}

impl ClaimId {
    fn as_str(&self) -> &str {
        match self {
            ClaimId::Event(message) => message.id().unwrap_or_default(),
            ClaimId::Replay(id) => id,
        }
    }
}

impl Claim {
    /// Records that the group is done with the event.
    async fn complete(mut self) {
        self.store.complete(&self.group, self.id.as_str()).await;
        self.open = false;
    }

    /// Releases the claim for another attempt.
    async fn abort(mut self) {
        self.store.abort(&self.group, self.id.as_str()).await;
        self.open = false;
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let store = self.store.clone();
            let group = self.group.clone();
            let id = std::mem::replace(&mut self.id, ClaimId::Replay(String::new()));
            runtime.spawn(async move { store.abort(&group, id.as_str()).await });
        }
    }
}

fn log_settle(result: Result<(), BrokerError>) {
    if let Err(error) = result {
        // The broker will deliver the event again: nothing is lost.
        let error = cap_text(&error.to_string(), MAX_REASON_BYTES).into_owned();
        tracing::warn!(%error, "could not settle a delivery; it will be redelivered");
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&'static str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::broker::{
        Delivery, MemoryBroker, Publish, Subscribe, Subscription, DEAD_LETTER_REASON,
    };
    use crate::events::MemoryDedupe;

    static ROUTE: EventRoute = EventRoute {
        service: "test",
        operation: "happened",
        topic: "test.happened",
    };

    fn event(id: &str) -> Message {
        Message {
            topic: ROUTE.topic.into(),
            key: None,
            headers: envelope::headers(
                id,
                "/test",
                ROUTE.topic,
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
            payload: Bytes::from_static(b"{}"),
        }
    }

    /// Handlers whose handler counts its runs and then does `outcome`.
    fn counting(
        runs: &Arc<AtomicUsize>,
        outcome: fn() -> BoxFuture<Result<(), String>>,
    ) -> EventHandlers {
        let runs = runs.clone();
        let handler = event_handler(Arc::new(()), move |_, _: serde_json::Value, _| {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                outcome().await
            }
        });
        EventHandlers::new("test", vec![(&ROUTE, handler)])
    }

    async fn until(what: &str, condition: impl Fn() -> bool) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while !condition() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{what}"));
    }

    fn quick() -> Backoff {
        Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(2),
            multiplier: 2.0,
        }
    }

    #[tokio::test]
    async fn a_dropped_handle_leaves_the_subscriber_running() {
        let broker = MemoryBroker::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let handle = Subscriber::new(broker.clone(), "g")
            .start(counting(&runs, || Box::pin(async { Ok(()) })))
            .await
            .unwrap();
        drop(handle);
        broker.publish(event("e1")).await.unwrap();
        until("the event is handled after the handle was dropped", || {
            runs.load(Ordering::SeqCst) == 1
        })
        .await;
    }

    #[tokio::test]
    async fn a_duplicate_of_a_dead_lettered_event_is_skipped() {
        let broker = MemoryBroker::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let handle = Subscriber::new(broker.clone(), "g")
            .max_attempts(2)
            .backoff(quick())
            .start(counting(&runs, || Box::pin(async { Err("no".to_owned()) })))
            .await
            .unwrap();
        broker.publish(event("e1")).await.unwrap();
        let mut dead = broker.dead_letters("g").await.unwrap();
        let letter = tokio::time::timeout(Duration::from_secs(10), dead.next())
            .await
            .unwrap()
            .unwrap();
        assert!(letter
            .message()
            .header(DEAD_LETTER_REASON)
            .unwrap()
            .contains("attempt 2 of 2"));
        letter.ack().await.unwrap();

        broker.publish(event("e1")).await.unwrap();
        let stats = handle.stats_handle();
        until("the duplicate is skipped", || {
            stats.duplicates.load(Ordering::SeqCst) == 1
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 2, "the duplicate did not run");
        assert_eq!(stats.dead_lettered.load(Ordering::SeqCst), 1);
        handle.shutdown().await;
    }

    #[tokio::test]
    async fn a_replayed_dead_letter_is_handled_once_by_its_group_only() {
        use crate::broker::{replay_dead_letters, DeadLetters, Selection};

        let broker = MemoryBroker::new();
        let fail = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let runs = Arc::new(AtomicUsize::new(0));
        let handler = {
            let (fail, runs) = (fail.clone(), runs.clone());
            event_handler(Arc::new(()), move |_, _: serde_json::Value, _| {
                let (fail, runs) = (fail.clone(), runs.clone());
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    if fail.load(Ordering::SeqCst) {
                        Err("down".to_owned())
                    } else {
                        Ok(())
                    }
                }
            })
        };
        let handle = Subscriber::new(broker.clone(), "g")
            .max_attempts(1)
            .start(EventHandlers::new("test", vec![(&ROUTE, handler)]))
            .await
            .unwrap();
        let others = Arc::new(AtomicUsize::new(0));
        let other = Subscriber::new(broker.clone(), "other")
            .start(counting(&others, || Box::pin(async { Ok(()) })))
            .await
            .unwrap();
        broker.publish(event("e1")).await.unwrap();
        let stats = handle.stats_handle();
        until("the event is dead-lettered", || {
            stats.dead_lettered.load(Ordering::SeqCst) == 1
        })
        .await;
        let listed = broker.list_dead_letters("g", 0, 10).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].event_id(), Some("e1"));

        fail.store(false, Ordering::SeqCst);
        let replayed = replay_dead_letters(&broker, "g", &Selection::All)
            .await
            .unwrap();
        assert_eq!(replayed.len(), 1);
        assert_eq!(broker.count_dead_letters("g").await.unwrap(), 0);
        until("the replay is handled", || {
            stats.handled.load(Ordering::SeqCst) == 1
        })
        .await;
        // The same replay again (as when removing it had failed) is a
        // duplicate for the group.
        broker.publish(listed[0].replay_message("g")).await.unwrap();
        until("the repeated replay is skipped", || {
            stats.duplicates.load(Ordering::SeqCst) == 1
        })
        .await;
        let other_stats = other.stats_handle();
        until("the other group skips both replays", || {
            other_stats.duplicates.load(Ordering::SeqCst) == 2
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 2, "one failure, one replay");
        assert_eq!(others.load(Ordering::SeqCst), 1, "the other group ran once");
        handle.shutdown().await;
        other.shutdown().await;
    }

    #[tokio::test]
    async fn an_attempt_abandoned_at_shutdown_releases_its_dedupe_claim() {
        let broker = MemoryBroker::new();
        let dedupe = Arc::new(MemoryDedupe::default());
        let stuck_runs = Arc::new(AtomicUsize::new(0));
        let stuck = Subscriber::new(broker.clone(), "g")
            .shutdown_grace(Duration::from_millis(20))
            .dedupe(dedupe.clone())
            .start(counting(&stuck_runs, || Box::pin(std::future::pending())))
            .await
            .unwrap();
        broker.publish(event("e1")).await.unwrap();
        until("the stuck handler starts", || {
            stuck_runs.load(Ordering::SeqCst) == 1
        })
        .await;
        stuck.shutdown().await;

        let runs = Arc::new(AtomicUsize::new(0));
        let next = Subscriber::new(broker.clone(), "g")
            .backoff(quick())
            .dedupe(dedupe)
            .start(counting(&runs, || Box::pin(async { Ok(()) })))
            .await
            .unwrap();
        let stats = next.stats_handle();
        until("the next member handles the released event", || {
            stats.handled.load(Ordering::SeqCst) == 1
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        next.shutdown().await;
    }

    #[test]
    fn a_decoding_error_names_the_field_and_the_mismatch_not_the_value() {
        #[derive(Debug, serde::Deserialize)]
        struct Event {
            _amount: u64,
        }
        let handler = event_handler(Arc::new(()), |_, _: Event, _| async {
            Ok::<(), String>(())
        });
        let payload = format!(r#"{{"_amount":"{}"}}"#, "a".repeat(600 * 1024));
        let reason = match handler(Bytes::from(payload)) {
            Ok(_) => panic!("a string is not a u64"),
            Err(reason) => reason,
        };
        let quoted = format!("\"{}…\" (614400 bytes)", "a".repeat(64));
        assert!(
            reason.starts_with(&format!(
                "_amount: invalid type: string {quoted}, expected u64"
            )),
            "{reason}"
        );
        assert!(reason.len() < 200, "{reason}");
    }

    #[test]
    fn quotes_are_shortened_escapes_and_all() {
        let long = format!("{}\\\"{}", "x".repeat(40), "é".repeat(40));
        let text = format!("before \"{long}\" between \"short\" after");
        let shortened = shorten_quotes(&text);
        assert!(shortened.starts_with("before \"xxxx"), "{shortened}");
        assert!(
            shortened.ends_with(&format!(
                "…\" ({} bytes) between \"short\" after",
                long.len()
            )),
            "{shortened}"
        );
        assert_eq!(shorten_quotes("no quotes"), "no quotes");
        assert_eq!(shorten_quotes("open \"end"), "open \"end");
    }

    #[test]
    fn backoff_grows_then_caps_and_jitters_within_the_upper_half() {
        let backoff = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            multiplier: 2.0,
        };
        for _ in 0..100 {
            let first = backoff.delay(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = backoff.delay(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = backoff.delay(30);
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_secs(1));
        }
    }
}
