//! OpenTelemetry (feature `otel`): accord's spans as spans of the
//! application's tracer provider.
//!
//! With `tracing-opentelemetry`'s layer installed, every tracing span
//! becomes an OpenTelemetry span. accord then makes its server spans
//! (`accord.request`, `accord.event`) continue the caller's trace: the
//! parent is read from the incoming headers by the **global text-map
//! propagator** and set with [`OpenTelemetrySpanExt::set_parent`]. Its
//! client calls and published events carry the context of the span they
//! are sent from ([`OpenTelemetrySpanExt::context`]), written by the same
//! propagator. The ids accord reports ([`TraceContext`], the spans'
//! `trace_id` and `span_id` fields, [`Context::trace`](crate::Context::trace))
//! are those of the OpenTelemetry spans, so they match what the exporter
//! shows.
//!
//! The application installs the propagator and the layer once at start:
//!
//! ```text
//! use opentelemetry::trace::TracerProvider as _;
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! opentelemetry::global::set_text_map_propagator(
//!     opentelemetry_sdk::propagation::TraceContextPropagator::new(),
//! );
//! let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
//!     .with_batch_exporter(exporter)
//!     .build();
//! let tracer = provider.tracer("shop");
//! tracing_subscriber::registry()
//!     .with(tracing_opentelemetry::layer().with_tracer(tracer))
//!     .init();
//! ```
//!
//! Without the layer (or with accord's spans filtered out) there is no
//! OpenTelemetry span to take ids from, and accord falls back to its own
//! W3C trace context, as without the feature. Without a propagator (the
//! global default propagates nothing) nothing is read or written: install
//! `TraceContextPropagator` to speak `traceparent`.

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanContext, TraceContextExt};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::{Carrier, CarrierMut};
use crate::trace::TraceContext;

/// Sets `span`'s parent to the context the global propagator finds in
/// `carrier` (none: a new trace), and returns the ids of its
/// OpenTelemetry span; `None` when the span has none (no layer).
pub(super) fn continue_trace(span: &Span, carrier: &impl Carrier) -> Option<TraceContext> {
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        // Only what the caller sent: not the context of whatever span
        // happens to be entered where the server runs.
        propagator.extract_with_context(&opentelemetry::Context::new(), &Extract(carrier))
    });
    // Fails only without the layer or on a disabled span, when the
    // context below is empty and accord's own ids are used instead.
    let _ = span.set_parent(parent);
    ids(span.context().span().span_context())
}

/// Writes the context of `span`'s OpenTelemetry span into `carrier` with
/// the global propagator, and returns its ids; `None` when the span has
/// none (no layer), and nothing is written.
pub(super) fn send_trace(span: &Span, carrier: &mut impl CarrierMut) -> Option<TraceContext> {
    let context = span.context();
    let trace = ids(context.span().span_context())?;
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut Inject(carrier));
    });
    Some(trace)
}

/// accord's view of an OpenTelemetry span context, if it is a valid one.
fn ids(span: &SpanContext) -> Option<TraceContext> {
    span.is_valid().then(|| TraceContext {
        trace_id: u128::from_be_bytes(span.trace_id().to_bytes()),
        span_id: u64::from_be_bytes(span.span_id().to_bytes()),
        sampled: span.is_sampled(),
    })
}

struct Extract<'a, C>(&'a C);

impl<C: Carrier> Extractor for Extract<'_, C> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys()
    }
}

struct Inject<'a, C>(&'a mut C);

impl<C: CarrierMut> Injector for Inject<'_, C> {
    fn set(&mut self, key: &str, value: String) {
        self.0.set(key, value);
    }
}
