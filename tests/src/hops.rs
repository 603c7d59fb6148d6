//! A small contract whose handlers report what their [`Context`] held,
//! and can call the next service of a chain: the fixture of the context,
//! interceptor and deadline tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::prelude::*;
use accord::{CallError, Context, InProcess, NoError, Transport};

/// Calls that report what their handler saw, and a chain of them.
#[accord::service(name = "hops", version = "1.0.0")]
pub trait Hops {
    /// What the handler saw of its context.
    #[request(method = "GET", path = "/seen")]
    async fn seen(&self, context: &Context, #[header("x-tenant")] tenant: Option<String>) -> Seen;

    /// Calls the next service's `relay` (if there is one), then reports the
    /// time each hop had left, this one first.
    #[request(method = "POST", path = "/relay")]
    async fn relay(&self, context: &Context, depth: u32) -> Vec<Option<u64>>;

    /// Waits `millis`, then answers; counts the waits that finished.
    #[request(method = "POST", path = "/wait")]
    async fn wait(&self, millis: u64);

    /// Recorded with its context by the subscriber.
    #[event(topic = "hops.pinged")]
    async fn pinged(&self, note: String, context: Context) -> Result<(), String>;
}

/// What a `seen` handler found in its context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Seen {
    /// The contract method its context named.
    pub operation: Option<String>,
    /// The tenant an interceptor put in the extensions.
    pub tenant: Option<String>,
    /// The milliseconds left before its deadline.
    pub remaining_ms: Option<u64>,
    /// Its trace id, as hex.
    pub trace_id: Option<String>,
    /// Whether `Context::current()` agreed with the argument.
    pub current_matches: bool,
}

/// The tenant an interceptor verified, as it puts it in the extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant(pub String);

/// An event as its handler saw it.
#[derive(Debug, Clone)]
pub struct Pinged {
    /// The payload.
    pub note: String,
    /// The handler's context.
    pub context: Context,
}

/// A `Hops` server; with a next hop, `relay` calls it.
#[derive(Clone, Default)]
#[allow(missing_debug_implementations)] // the next hop is a trait object
pub struct HopServer {
    next: Option<Arc<dyn Relay>>,
    /// Waits that ran to their end.
    pub finished_waits: Arc<AtomicUsize>,
    /// Calls that reached a handler.
    pub handled: Arc<AtomicUsize>,
    /// Events handled, with their contexts.
    pub pinged: Arc<Mutex<Vec<Pinged>>>,
}

/// The next hop of a chain, over any transport.
pub trait Relay: Send + Sync + 'static {
    /// Calls `relay(depth)` on the next service.
    fn relay(
        &self,
        depth: u32,
    ) -> futures_util::future::BoxFuture<'_, Result<Vec<Option<u64>>, CallError<NoError>>>;
}

impl<T: Transport> Relay for HopsClient<T> {
    fn relay(
        &self,
        depth: u32,
    ) -> futures_util::future::BoxFuture<'_, Result<Vec<Option<u64>>, CallError<NoError>>> {
        Box::pin(async move { HopsClient::relay(self, &depth).await })
    }
}

impl HopServer {
    /// A server whose `relay` calls `next`.
    pub fn with_next(next: impl Relay) -> Self {
        HopServer {
            next: Some(Arc::new(next)),
            ..HopServer::default()
        }
    }
}

fn remaining_ms(context: &Context) -> Option<u64> {
    context.remaining().map(|d| d.as_millis() as u64)
}

impl HopsServer for HopServer {
    async fn seen(&self, context: &Context, _tenant: Option<String>) -> Seen {
        self.handled.fetch_add(1, Ordering::SeqCst);
        let current = Context::current();
        Seen {
            operation: context.operation().map(str::to_owned),
            tenant: context.extensions().get::<Tenant>().map(|t| t.0.clone()),
            remaining_ms: remaining_ms(context),
            trace_id: context.trace().map(|t| t.trace_id_hex()),
            current_matches: current.is_some_and(|c| {
                c.operation() == context.operation()
                    && c.deadline() == context.deadline()
                    && c.trace() == context.trace()
                    && c.extensions().get::<Tenant>() == context.extensions().get::<Tenant>()
            }),
        }
    }

    async fn relay(&self, context: &Context, depth: u32) -> Vec<Option<u64>> {
        self.handled.fetch_add(1, Ordering::SeqCst);
        let mine = remaining_ms(context);
        let mut hops = vec![mine];
        if let (Some(next), true) = (&self.next, depth > 1) {
            match next.relay(depth - 1).await {
                Ok(rest) => hops.extend(rest),
                Err(error) => panic!("the next hop failed: {error}"),
            }
        }
        hops
    }

    async fn wait(&self, millis: u64) {
        self.handled.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(millis)).await;
        self.finished_waits.fetch_add(1, Ordering::SeqCst);
    }
}

impl HopsSubscriber for HopServer {
    async fn pinged(&self, note: String, context: Context) -> Result<(), String> {
        self.pinged.lock().unwrap().push(Pinged { note, context });
        Ok(())
    }
}

/// A client of `server` in process.
pub fn in_process(server: HopServer) -> HopsClient<InProcess> {
    HopsClient::with_transport(InProcess::new(server.into_dispatcher()))
}
