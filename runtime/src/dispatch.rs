//! The dispatch table a generated server builds: one handler per request
//! method, indexed like the contract's [`Route`]s. Every request transport
//! (HTTP, in-process, a broker) serves calls through [`Dispatcher::dispatch`],
//! which adds the tracing span and turns a handler panic into a 500 problem.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::FutureExt;
use tracing::Instrument;

use crate::descriptor::ServiceDescriptor;
use crate::error::Problem;
use crate::trace::TraceContext;
use crate::wire::{Call, Reply, Route};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One request method's handler: decodes the call, runs the method, encodes
/// the result.
pub type Handler = Box<dyn Fn(Call) -> BoxFuture<Reply> + Send + Sync>;

/// A service's request handlers, ready to be served by any transport.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    descriptor: &'static ServiceDescriptor,
    routes: &'static [Route],
    handlers: Vec<Handler>,
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("service", &self.inner.descriptor.name)
            .field("routes", &self.inner.routes.len())
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
                routes,
                handlers,
            }),
        }
    }

    /// The contract served.
    pub fn descriptor(&self) -> &'static ServiceDescriptor {
        self.inner.descriptor
    }

    /// The request routes served, indexed like the handlers.
    pub fn routes(&self) -> &'static [Route] {
        self.inner.routes
    }

    /// Runs the handler of route `index` on `call`. Never fails: bad input,
    /// service errors and panics all come back as problem replies.
    pub fn dispatch(
        &self,
        index: usize,
        call: Call,
    ) -> impl Future<Output = Reply> + Send + 'static {
        let route = &self.inner.routes[index];
        let trace = TraceContext::incoming(
            call.headers()
                .get(crate::trace::TRACEPARENT)
                .and_then(|v| v.to_str().ok()),
        );
        let span = tracing::info_span!(
            "accord.request",
            service = route.service,
            operation = route.operation,
            status = tracing::field::Empty,
            trace_id = %trace.trace_id_hex(),
            span_id = %trace.span_id_hex(),
        );
        let handler = trace.scope((self.inner.handlers[index])(call));
        async move {
            let reply = match AssertUnwindSafe(handler).catch_unwind().await {
                Ok(reply) => reply,
                Err(panic) => {
                    let message = panic_message(&*panic);
                    tracing::error!(panic = %message, "handler panicked");
                    Reply::problem(
                        &Problem::new(500, "Internal Server Error")
                            .with_detail("the handler failed unexpectedly"),
                    )
                }
            };
            tracing::Span::current().record("status", reply.status);
            reply
        }
        .instrument(span)
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
