//! The dispatch table a generated server builds: one handler per request
//! method, indexed like the contract's [`Route`]s. Every request transport
//! (HTTP, in-process, a broker) serves calls through [`Dispatcher::dispatch`],
//! which fills in the call's [`Context`] (route, trace, deadline), runs the
//! interceptors and the handler inside the tracing span, answers a call
//! past its deadline with a 504 problem, and turns a panic into a 500
//! problem.
//!
//! Interceptors are tower layers over [`CallService`], a
//! `Service<Call, Response = Reply>`, added with [`Dispatcher::layer`];
//! because every transport goes through the dispatcher, one layer wraps
//! HTTP, in-process and broker calls alike. A dispatcher without layers
//! calls the handler directly, with no boxed service in between.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use futures_util::future::{Either, Map};
use futures_util::FutureExt;
use http::{HeaderMap, HeaderValue};
use tokio::task::futures::TaskLocalFuture;
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};
use tracing::Instrument;

use crate::context::Context;
use crate::deadline;
use crate::descriptor::ServiceDescriptor;
use crate::error::Problem;
use crate::observe::{self, Carrier};
use crate::trace;
use crate::wire::{Call, Reply, Route};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One request method's handler: decodes the call, runs the method, encodes
/// the result.
pub type Handler = Box<dyn Fn(Call) -> BoxFuture<Reply> + Send + Sync>;

/// The service an interceptor wraps: it takes a [`Call`] whose
/// [`Context`] names the route, and answers with the [`Reply`]. It never
/// fails; a rejection is a problem reply ([`Reply::problem`]).
pub type CallService = BoxCloneSyncService<Call, Reply, Infallible>;

/// A service's request handlers, ready to be served by any transport.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    descriptor: &'static ServiceDescriptor,
    endpoint: Endpoint,
    /// The handlers behind every layer added; `None` without layers.
    layered: Option<CallService>,
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("service", &self.inner.descriptor.name)
            .field("routes", &self.inner.endpoint.table.routes.len())
            .field("layered", &self.inner.layered.is_some())
            .finish()
    }
}

impl Dispatcher {
    /// A dispatcher over `handlers`, which must line up with `routes`.
    pub fn new(
        descriptor: &'static ServiceDescriptor,
        routes: &'static [Route],
        handlers: Vec<Handler>,
    ) -> Self {
        assert_eq!(
            routes.len(),
            handlers.len(),
            "generated dispatch table is out of step with its routes"
        );
        Dispatcher {
            inner: Arc::new(Inner {
                descriptor,
                endpoint: Endpoint {
                    table: Arc::new(Table { routes, handlers }),
                },
                layered: None,
            }),
        }
    }

    /// The contract served.
    pub fn descriptor(&self) -> &'static ServiceDescriptor {
        self.inner.descriptor
    }

    /// The request routes served, indexed like the handlers.
    pub fn routes(&self) -> &'static [Route] {
        self.inner.endpoint.table.routes
    }

    /// Wraps every call, on every transport that serves this dispatcher,
    /// in `layer`: a tower [`Layer`] over a [`CallService`].
    ///
    /// The layer's service sees each [`Call`] with its [`Context`] filled
    /// in (route, headers, deadline, trace) before the handler, and may
    /// answer it itself (a [`Reply::problem`], say) without calling the
    /// handler; it sees the handler's [`Reply`] after. Layers added later
    /// wrap the ones added before, so the last one added runs first. The
    /// [current context](Context::current) is set while layers run, and is
    /// the one the layers passed on while the handler runs.
    ///
    /// ```text
    /// let dispatcher = MyOrders::default().into_dispatcher().layer(RequireHeader("x-tenant"));
    /// ```
    pub fn layer<L>(self, layer: L) -> Dispatcher
    where
        L: Layer<CallService>,
        L::Service:
            Service<Call, Response = Reply, Error = Infallible> + Clone + Send + Sync + 'static,
        <L::Service as Service<Call>>::Future: Send + 'static,
    {
        let inner = match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner,
            Err(shared) => Inner {
                descriptor: shared.descriptor,
                endpoint: shared.endpoint.clone(),
                layered: shared.layered.clone(),
            },
        };
        let below = inner
            .layered
            .unwrap_or_else(|| CallService::new(inner.endpoint.clone()));
        Dispatcher {
            inner: Arc::new(Inner {
                descriptor: inner.descriptor,
                endpoint: inner.endpoint,
                layered: Some(CallService::new(layer.layer(below))),
            }),
        }
    }

    /// Runs the handler of route `index` on `call`, behind the layers.
    /// Never fails: bad input, a passed deadline, service errors and panics
    /// all come back as problem replies.
    pub fn dispatch(
        &self,
        index: usize,
        call: Call,
    ) -> impl Future<Output = Reply> + Send + 'static {
        self.dispatch_arrived(index, tokio::time::Instant::now(), call)
    }

    /// [`dispatch`](Self::dispatch) of a call that arrived at `arrived`,
    /// for a transport that read the clock as it did: the call's
    /// `accord-timeout` counts from then, and so does its latency.
    pub(crate) fn dispatch_arrived(
        &self,
        index: usize,
        arrived: tokio::time::Instant,
        mut call: Call,
    ) -> impl Future<Output = Reply> + Send + 'static {
        let route = &self.inner.endpoint.table.routes[index];
        let span = tracing::info_span!(
            "accord.request",
            service = route.service,
            operation = route.operation,
            status = tracing::field::Empty,
            trace_id = tracing::field::Empty,
            span_id = tracing::field::Empty,
        );
        let sent = Sent::scan(call.headers());
        let trace = observe::continue_trace(&span, &sent);
        let timeout = deadline::timeout_sent(sent.timeout, sent.timeout_again);
        // The clock for the metrics and the debug event; the trace id only
        // when the per-request debug event is wanted.
        let started = arrived.into_std();
        let logged =
            tracing::enabled!(tracing::Level::DEBUG).then(|| trace.trace_id_hex().to_string());
        let context = call.context_mut();
        context.set_route(route);
        context.set_trace(trace);
        let deadline = timeout.map(|timeout| {
            if let Some(timeout) = timeout {
                context.shorten_deadline(arrived + timeout);
            }
        });
        let at = context.deadline();
        let run = deadline.map(|()| match &self.inner.layered {
            None => Either::Left(self.inner.endpoint.run(call)),
            Some(layered) => {
                let scope = call.context().clone();
                let layered = scope.scope(layered.clone().oneshot(call));
                Either::Right(layered.map(|reply| match reply {
                    Ok(reply) => reply,
                    Err(never) => match never {},
                }))
            }
        });
        // A span no subscriber wants (no subscriber at all, or one filtering
        // it out) is neither entered at every poll nor written to.
        let traced = !span.is_disabled();
        let answered = async move {
            let reply = match run {
                Err(refused) => refused,
                Ok(run) => run_within(at, run).await,
            };
            if traced {
                tracing::Span::current().record("status", reply.status);
            }
            observe::metrics::request_answered(route, reply.status, started);
            if let Some(trace_id) = logged {
                tracing::debug!(
                    method = %route.method,
                    route = route.path,
                    status = reply.status,
                    latency_us = started.elapsed().as_micros() as u64,
                    trace_id,
                    "request answered"
                );
            }
            reply
        };
        if traced {
            Either::Left(answered.instrument(span))
        } else {
            Either::Right(answered)
        }
    }
}

/// The headers of a call that dispatch reads itself, found in one pass over
/// them rather than a hashed look-up each: `traceparent` (the first value,
/// as [`HeaderMap::get`] gives it) and `accord-timeout`. As a trace
/// [`Carrier`], it answers any other header from the map.
struct Sent<'a> {
    headers: &'a HeaderMap,
    traceparent: Option<&'a HeaderValue>,
    timeout: Option<&'a HeaderValue>,
    timeout_again: bool,
}

impl<'a> Sent<'a> {
    fn scan(headers: &'a HeaderMap) -> Self {
        let mut sent = Sent {
            headers,
            traceparent: None,
            timeout: None,
            timeout_again: false,
        };
        for (name, value) in headers {
            let name = name.as_str();
            if name == trace::TRACEPARENT {
                sent.traceparent.get_or_insert(value);
            } else if name == deadline::TIMEOUT_HEADER {
                if sent.timeout.is_some() {
                    sent.timeout_again = true;
                } else {
                    sent.timeout = Some(value);
                }
            }
        }
        sent
    }
}

impl Carrier for Sent<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        if name == trace::TRACEPARENT {
            self.traceparent.and_then(|value| value.to_str().ok())
        } else {
            Carrier::get(self.headers, name)
        }
    }

    fn keys(&self) -> Vec<&str> {
        Carrier::keys(self.headers)
    }
}

/// Runs `run` (the handler, or the layers) until `deadline`, turning a
/// panic into a 500 problem and a passed deadline into a 504 problem.
async fn run_within(
    deadline: Option<tokio::time::Instant>,
    run: impl Future<Output = Reply>,
) -> Reply {
    let guarded = AssertUnwindSafe(run).catch_unwind();
    let outcome = match deadline {
        None => Ok(guarded.await),
        Some(at) => tokio::time::timeout_at(at, guarded).await,
    };
    match outcome {
        Ok(Ok(reply)) => reply,
        Ok(Err(panic)) => {
            let message = panic_message(&*panic);
            tracing::error!(panic = %message, "handler panicked");
            Reply::problem(
                &Problem::new(500, "Internal Server Error")
                    .with_detail("the handler failed unexpectedly"),
            )
        }
        Err(_elapsed) => deadline::exceeded_while_running(),
    }
}

/// The handlers by route index.
struct Table {
    routes: &'static [Route],
    handlers: Vec<Handler>,
}

/// The innermost [`CallService`]: runs the handler of the call's route with
/// the call's context as the current one.
#[derive(Clone)]
struct Endpoint {
    table: Arc<Table>,
}

type EndpointFuture =
    Map<TaskLocalFuture<Context, BoxFuture<Reply>>, fn(Reply) -> Result<Reply, Infallible>>;

impl Endpoint {
    fn run(&self, call: Call) -> TaskLocalFuture<Context, BoxFuture<Reply>> {
        let context = call.context().clone();
        let future = match context.route() {
            Some(route)
                if self
                    .table
                    .routes
                    .get(route.index)
                    .is_some_and(|r| std::ptr::eq(r, route)) =>
            {
                (self.table.handlers[route.index])(call)
            }
            _ => {
                let problem = Problem::new(500, "Internal Server Error").with_detail(
                    "an interceptor passed on a call whose context names no route of this service",
                );
                Box::pin(std::future::ready(Reply::problem(&problem))) as BoxFuture<Reply>
            }
        };
        context.scope(future)
    }
}

impl Service<Call> for Endpoint {
    type Response = Reply;
    type Error = Infallible;
    type Future = EndpointFuture;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, call: Call) -> Self::Future {
        self.run(call)
            .map(Ok as fn(Reply) -> Result<Reply, Infallible>)
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<non-string panic payload>")
}

/// Wraps an async closure over a shared server as a [`Handler`]; used by
/// generated code.
pub fn handler<S, F, Fut>(server: Arc<S>, f: F) -> Handler
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Call) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    Box::new(move |call| Box::pin(f(server.clone(), call)))
}
