//! Interceptors around event handlers, and the [`Context`] of a delivery.
//!
//! A subscriber's layers ([`Subscriber::layer`](super::Subscriber::layer))
//! are tower layers over [`EventService`], a `Service<EventCall>` whose
//! innermost service runs the handler. An [`EventCall`] is one attempt at
//! one delivery: its payload (already decoded for the handler, so a layer
//! cannot make an undecodable event pass) and its context (the CloudEvents
//! attributes, the attempt, the headers and the trace). A layer may refuse
//! the attempt by returning an error: that counts as a handler failure, so
//! the event is retried after the backoff and dead-lettered after the last
//! attempt, never dropped.

use std::fmt;
use std::future::Future;
use std::task::{Context as TaskContext, Poll};

use std::sync::Arc;

use bytes::Bytes;
use tower::util::BoxCloneSyncService;
use tower::{BoxError, Service};

use super::delivered::Delivered;
use super::publisher::EventRoute;
use crate::broker::Message;
use crate::context::Context;
use crate::dispatch::BoxFuture;
use crate::trace::TraceContext;

/// Runs a decoded event's handler with the context the layers passed on.
pub type EventRun = Box<dyn FnOnce(Context) -> BoxFuture<Result<(), String>> + Send>;

/// The service an event interceptor wraps; an error is a failed attempt.
pub type EventService = BoxCloneSyncService<EventCall, (), BoxError>;

/// One attempt at handling one event, as an interceptor sees it.
pub struct EventCall {
    context: Context,
    payload: Bytes,
    run: EventRun,
}

impl fmt::Debug for EventCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventCall")
            .field("context", &self.context)
            .field("payload", &self.payload.len())
            .finish_non_exhaustive()
    }
}

impl EventCall {
    pub(super) fn new(context: Context, payload: Bytes, run: EventRun) -> Self {
        EventCall {
            context,
            payload,
            run,
        }
    }

    /// The delivery's context: CloudEvents attributes, attempt, headers, trace.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The context, to add to before the handler sees it.
    pub fn context_mut(&mut self) -> &mut Context {
        &mut self.context
    }

    /// The event's data as it arrived (JSON).
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }
}

/// The error of an attempt whose handler itself failed (rather than a
/// layer refusing it).
#[derive(Debug)]
pub(super) struct HandlerFailed(pub(super) String);

impl fmt::Display for HandlerFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HandlerFailed {}

/// The innermost [`EventService`]: runs the handler with the call's context
/// as the current one.
#[derive(Debug, Clone, Copy)]
pub(super) struct RunHandler;

impl Service<EventCall> for RunHandler {
    type Response = ();
    type Error = BoxError;
    type Future = BoxFuture<Result<(), BoxError>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, call: EventCall) -> Self::Future {
        let EventCall { context, run, .. } = call;
        let attempt = context.clone().scope(run(context));
        Box::pin(async move { attempt.await.map_err(|e| HandlerFailed(e).into()) })
    }
}

/// What a failed attempt says, by who failed it.
pub(super) fn failure_reason(error: BoxError) -> String {
    match error.downcast::<HandlerFailed>() {
        Ok(failed) => format!("handler failed: {}", failed.0),
        Err(other) => format!("refused by an interceptor: {other}"),
    }
}

/// The context of a delivery of `message` to `route`'s handler; its
/// headers and attributes are made when the handler first reads them.
pub(super) fn delivery_context(
    message: &Arc<Message>,
    route: &'static EventRoute,
    group: &Arc<str>,
    attempt: u32,
    trace: TraceContext,
) -> Context {
    let delivered = Delivered::new(message, route.topic, group, attempt);
    Context::delivery(route.service, route.operation, delivered, trace)
}

/// Runs `attempt` as the handler of a delivery with `context` current.
pub(super) fn run_plain(
    context: Context,
    run: EventRun,
) -> impl Future<Output = Result<(), String>> + Send {
    let attempt = context.clone().scope(run(context));
    async move {
        attempt
            .await
            .map_err(|error| format!("handler failed: {error}"))
    }
}
