//! [`Context`]: what a handler knows about the call or event it serves,
//! beyond its typed arguments.
//!
//! Every transport builds one per call (HTTP, in process, a broker's
//! request/reply) and per event delivery, from what arrived on the wire:
//! the headers, the caller's deadline, the trace context, and for an event
//! its CloudEvents attributes and attempt number. Interceptors
//! ([`Dispatcher::layer`](crate::Dispatcher::layer),
//! [`Subscriber::layer`](crate::Subscriber::layer)) read it and may add to
//! its [extensions](Context::extensions) (an authentication layer puts the
//! verified identity there); the handler then sees the result.
//!
//! A handler reaches it in two ways. A contract method may declare an
//! argument of type `&accord::Context` (or `accord::Context`): the macro
//! recognises it by type, passes the call's context to the server's method
//! and keeps it off the wire, out of the generated client and out of every
//! document. And code running inside a handler, however deep (a client call
//! to another service), finds it with [`Context::current`]: that is how a
//! client uses the time left of the call being served.
//!
//! A context is cheap to clone: the data sits behind one `Arc`, and changing
//! it ([`headers_mut`](Context::headers_mut),
//! [`extensions_mut`](Context::extensions_mut)) copies only when another
//! clone shares it.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock};

use http::{Extensions, HeaderMap};
use tokio::task::futures::TaskLocalFuture;
use tokio::time::Instant;

use crate::events::Delivered;
use crate::trace::TraceContext;
use crate::wire::Route;

tokio::task_local! {
    static CURRENT: Context;
}

/// The context of one call or one event delivery.
#[derive(Clone, Default)]
pub struct Context {
    inner: Arc<Inner>,
}

#[derive(Clone, Default)]
struct Inner {
    // For a delivery, made from `delivered` when first read.
    headers: OnceLock<HeaderMap>,
    deadline: Option<Instant>,
    trace: Option<TraceContext>,
    service: Option<&'static str>,
    operation: Option<&'static str>,
    route: Option<&'static Route>,
    // Boxed: a call carries none, and the context stays small for calls.
    // For a delivery, made from `delivered` when first read.
    event: OnceLock<Box<EventAttributes>>,
    // What a delivery's headers and event are made from, so that a
    // handler that reads neither does not pay for them. Not boxed: a
    // delivery would pay one more allocation, a call pays a few bytes.
    delivered: Option<Delivered>,
    extensions: Extensions,
}

impl Inner {
    fn headers(&self) -> &HeaderMap {
        self.headers.get_or_init(|| {
            self.delivered
                .as_ref()
                .map_or_else(HeaderMap::new, |delivered| delivered.header_map())
        })
    }

    fn event(&self) -> Option<&EventAttributes> {
        if let Some(event) = self.event.get() {
            return Some(event.as_ref());
        }
        let delivered = self.delivered.as_ref()?;
        let event = self.event.get_or_init(|| Box::new(delivered.attributes()));
        Some(event.as_ref())
    }
}

/// The CloudEvents attributes of an event being handled, and its delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventAttributes {
    /// `id`: unique per event; a redelivery keeps it.
    pub id: String,
    /// `source`: the publishing service (`/orders` by default).
    pub source: String,
    /// `type`: the event type, which accord sets to the topic.
    pub event_type: String,
    /// `time`: when it was published (RFC 3339), if the publisher said.
    pub time: Option<String>,
    /// `subject`: what the event is about, if the publisher said.
    pub subject: Option<String>,
    /// The topic it was delivered on.
    pub topic: String,
    /// Its key (the contract's `key = "..."` field), if it has one.
    pub key: Option<String>,
    /// The subscriber group handling it.
    pub group: String,
    /// Which attempt this is, from 1.
    pub attempt: u32,
}

impl Context {
    /// An empty context: no headers, no deadline, no trace.
    pub fn new() -> Self {
        Context::default()
    }

    /// A context carrying `headers`, as a transport received them.
    pub fn with_headers(headers: HeaderMap) -> Self {
        Context {
            inner: Arc::new(Inner {
                headers: OnceLock::from(headers),
                ..Inner::default()
            }),
        }
    }

    /// The context of a delivery of `delivered` to `operation` of
    /// `service`, with `trace`; its headers and event attributes are made
    /// when first read.
    pub(crate) fn delivery(
        service: &'static str,
        operation: &'static str,
        delivered: Delivered,
        trace: TraceContext,
    ) -> Self {
        Context {
            inner: Arc::new(Inner {
                trace: Some(trace),
                service: Some(service),
                operation: Some(operation),
                delivered: Some(delivered),
                ..Inner::default()
            }),
        }
    }

    /// The context of the call or event being handled on this task, if any.
    ///
    /// Set while a request handler or an event handler runs (and while the
    /// interceptors around it run), so that code deep inside a handler can
    /// find the deadline and the trace without passing them along.
    pub fn current() -> Option<Context> {
        CURRENT.try_with(Context::clone).ok()
    }

    /// `f` of the [current](Context::current) context, without cloning it.
    pub fn with_current<R>(f: impl FnOnce(&Context) -> R) -> Option<R> {
        CURRENT.try_with(f).ok()
    }

    /// Runs `future` with this context as the [current](Context::current) one.
    pub fn scope<F: Future>(self, future: F) -> TaskLocalFuture<Context, F> {
        CURRENT.scope(self, future)
    }

    /// The headers of the call (HTTP headers, or a broker message's
    /// headers). They come from the wire, so each transport bounds them:
    /// see the README's "Limits and timeouts".
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// The headers, to change before the handler sees them.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        let inner = Arc::make_mut(&mut self.inner);
        inner.headers();
        inner
            .headers
            .get_mut()
            .expect("the headers were made just above")
    }

    /// The instant by which the caller needs the answer, from the time left
    /// it sent (`accord-timeout`, see [`deadline`](crate::deadline)), or as
    /// an interceptor shortened it. `None` when the caller sent none.
    pub fn deadline(&self) -> Option<Instant> {
        self.inner.deadline
    }

    /// The time left before the [deadline](Context::deadline), zero once it
    /// has passed; `None` without a deadline.
    pub fn remaining(&self) -> Option<std::time::Duration> {
        self.inner
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Sets the deadline, keeping the earlier one when there is already one.
    pub fn shorten_deadline(&mut self, deadline: Instant) {
        let current = self.inner.deadline;
        if current.is_none_or(|d| deadline < d) {
            Arc::make_mut(&mut self.inner).deadline = Some(deadline);
        }
    }

    /// The trace context of the call or event, once the server has taken
    /// it from `traceparent` (or started a new trace).
    pub fn trace(&self) -> Option<TraceContext> {
        self.inner.trace
    }

    /// Sets the trace context.
    pub fn set_trace(&mut self, trace: TraceContext) {
        Arc::make_mut(&mut self.inner).trace = Some(trace);
    }

    /// The service the call or event is for, once routed.
    pub fn service(&self) -> Option<&'static str> {
        self.inner.service
    }

    /// The contract method the call or event is for (`place_order`), once
    /// routed: what an interceptor keys per-method rules on.
    pub fn operation(&self) -> Option<&'static str> {
        self.inner.operation
    }

    /// The request route being served, for a call; `None` for an event.
    pub fn route(&self) -> Option<&'static Route> {
        self.inner.route
    }

    /// Records the request route the call is for.
    pub fn set_route(&mut self, route: &'static Route) {
        let inner = Arc::make_mut(&mut self.inner);
        inner.route = Some(route);
        inner.service = Some(route.service);
        inner.operation = Some(route.operation);
    }

    /// The CloudEvents attributes and the attempt, for an event; `None` for
    /// a call.
    pub fn event(&self) -> Option<&EventAttributes> {
        self.inner.event()
    }

    /// Records the event being handled and the contract method handling it.
    pub fn set_event(
        &mut self,
        service: &'static str,
        operation: &'static str,
        event: EventAttributes,
    ) {
        let inner = Arc::make_mut(&mut self.inner);
        inner.service = Some(service);
        inner.operation = Some(operation);
        inner.event = OnceLock::from(Box::new(event));
    }

    /// Values interceptors attach to the call, by type: an authentication
    /// layer puts the verified identity here, and the handler reads it.
    pub fn extensions(&self) -> &Extensions {
        &self.inner.extensions
    }

    /// The extensions, to add to.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut Arc::make_mut(&mut self.inner).extensions
    }

    /// The headers, taken out (cloned only if another clone shares them).
    pub(crate) fn into_headers(self) -> HeaderMap {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        inner.headers();
        inner.headers.take().unwrap_or_default()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Context")
            .field("service", &inner.service)
            .field("operation", &inner.operation)
            .field("headers", &inner.headers().len())
            .field("deadline", &inner.deadline)
            .field("trace", &inner.trace.map(|t| t.to_string()))
            .field("event", &inner.event())
            .field("extensions", &inner.extensions.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn the_current_context_is_the_one_in_scope() {
        assert!(Context::current().is_none());
        let mut context = Context::new();
        context.extensions_mut().insert("alice");
        let seen = context
            .clone()
            .scope(async { Context::current().map(|c| c.extensions().get::<&str>().copied()) })
            .await;
        assert_eq!(seen, Some(Some("alice")));
    }

    #[test]
    fn a_change_does_not_reach_other_clones() {
        let mut one = Context::new();
        one.headers_mut()
            .insert("x-a", http::HeaderValue::from_static("1"));
        let other = one.clone();
        one.headers_mut()
            .insert("x-b", http::HeaderValue::from_static("2"));
        assert_eq!(other.headers().len(), 1);
        assert_eq!(one.headers().len(), 2);
    }

    #[test]
    fn a_delivery_shows_its_headers_and_event_and_keeps_changes_to_them() {
        use crate::broker::Message;

        let message = Message::new("orders.placed", "{}")
            .with_header("ce-id", "e-1")
            .with_header("x-a", "1");
        let group: Arc<str> = "billing".into();
        let delivered = Delivered::new(&Arc::new(message), "orders.placed", &group, 2);
        let trace = TraceContext::new_root();
        let mut context = Context::delivery("billing", "order_placed", delivered, trace);
        assert_eq!(context.operation(), Some("order_placed"));
        assert_eq!(context.trace(), Some(trace));
        let shared = context.clone();
        context
            .headers_mut()
            .insert("x-b", http::HeaderValue::from_static("2"));
        assert_eq!(context.headers().len(), 3);
        assert_eq!(context.headers()["x-a"], "1");
        assert_eq!(
            shared.headers().len(),
            2,
            "a clone keeps the headers as delivered"
        );
        let event = context.event().expect("a delivery has its event");
        assert_eq!((event.id.as_str(), event.attempt), ("e-1", 2));
        assert_eq!(event.group, "billing");
        assert_eq!(context.into_headers().len(), 3);
        assert_eq!(shared.into_headers().len(), 2);
    }

    #[tokio::test]
    async fn a_deadline_only_gets_shorter() {
        let now = Instant::now();
        let mut context = Context::new();
        context.shorten_deadline(now + Duration::from_secs(5));
        context.shorten_deadline(now + Duration::from_secs(10));
        assert_eq!(context.deadline(), Some(now + Duration::from_secs(5)));
        context.shorten_deadline(now + Duration::from_secs(1));
        assert_eq!(context.deadline(), Some(now + Duration::from_secs(1)));
        assert!(context.remaining().unwrap() <= Duration::from_secs(1));
    }
}
