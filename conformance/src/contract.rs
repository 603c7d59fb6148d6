//! The small contract the subscriber checks run, and helpers to bind its
//! event to a per-run topic.
//!
//! Event topics of a `#[accord::service]` are fixed when it compiles, so
//! checks that must not see other runs' events build their
//! [`EventHandlers`] with [`route`] on a topic of their own; the generated
//! roles are exercised by
//! [`generated_contract_round_trip`](crate::generated_contract_round_trip).

use std::sync::Arc;

use accord::broker::Message;
use accord::events::{envelope, event_handler, EventHandler, EventHandlers, EventRoute};
use accord::prelude::*;
use accord::trace::TraceContext;
use bytes::Bytes;

/// The service name the checks' events carry.
pub const SERVICE: &str = "conformance";

/// The topic of [`Conformance`]'s `probe` event.
pub const PROBE_TOPIC: &str = "accord.conformance.probe";

/// An event the checks publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Probe {
    /// The run that published it.
    pub run: String,
    /// Its number within the run.
    pub n: u64,
}

/// The checks' contract.
#[accord::service(name = "conformance", version = "0.1.0")]
pub trait Conformance {
    /// A probe published by a check.
    #[event(topic = "accord.conformance.probe")]
    async fn probe(&self, event: Probe);
}

/// A route for `operation` on `topic`, created once per call and kept for
/// the rest of the process (routes are `'static`, as generated ones are).
pub fn route(operation: &str, topic: &str) -> &'static EventRoute {
    Box::leak(Box::new(EventRoute {
        service: SERVICE,
        operation: Box::leak(operation.to_owned().into_boxed_str()),
        topic: Box::leak(topic.to_owned().into_boxed_str()),
    }))
}

/// Handlers for the given routes, as generated code builds them.
pub fn handlers(routes: Vec<(&'static EventRoute, EventHandler)>) -> EventHandlers {
    EventHandlers::new(SERVICE, routes)
}

/// A handler decoding a [`Probe`] and running `f` on it.
pub fn probe_handler<F, Fut, E>(f: F) -> EventHandler
where
    F: Fn(Probe) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Debug,
{
    event_handler(Arc::new(f), |f: Arc<F>, probe: Probe, _| f(probe))
}

/// The message a publisher sends for `payload` with event id `id`: what a
/// duplicate publish of the same event repeats.
pub fn event_message(topic: &str, id: &str, payload: Bytes) -> Message {
    Message {
        topic: topic.to_owned(),
        key: None,
        headers: envelope::headers(
            id,
            &format!("/{SERVICE}"),
            topic,
            &TraceContext::new_root().to_string(),
        ),
        payload,
    }
}

/// The JSON body of `probe`.
pub fn probe_payload(probe: &Probe) -> Bytes {
    Bytes::from(serde_json::to_vec(probe).expect("a probe encodes"))
}
