//! Where accord's telemetry meets the application's: the trace context of
//! calls and events, and (in [`metrics`]) their counts and latencies.
//!
//! Every transport goes through the same few hooks here, so each concern
//! is written once: a server continues the caller's trace, a client or
//! publisher sends its own. Without the `otel` feature the ids are
//! accord's own ([`TraceContext`]); with it they are those of the
//! OpenTelemetry span that `tracing-opentelemetry` builds for accord's
//! span, and the headers are read and written by the global text-map
//! propagator, so accord's spans join the application's traces (see
//! `observe::otel`, documented with the feature on).

pub mod metrics;
#[cfg(feature = "otel")]
pub mod otel;

use http::{HeaderMap, HeaderValue};
use tracing::Span;

use crate::broker::{HeaderName, Headers};
use crate::trace::{TraceContext, TRACEPARENT};

/// Headers a trace context is read from: an HTTP header map or a broker
/// message's headers.
pub(crate) trait Carrier {
    /// The value of header `name`, if it is text.
    fn get(&self, name: &str) -> Option<&str>;
    /// The names of the headers (what a propagator may ask for).
    #[cfg_attr(not(feature = "otel"), allow(dead_code))]
    fn keys(&self) -> Vec<&str>;
}

/// Headers a trace context is written to.
pub(crate) trait CarrierMut {
    /// Sets header `name`; a value that cannot be a header is left out.
    fn set(&mut self, name: &str, value: String);

    /// Sets the `traceparent` header to `trace`.
    fn set_traceparent(&mut self, trace: &TraceContext) {
        self.set(TRACEPARENT, trace.to_string());
    }
}

impl Carrier for HeaderMap {
    fn get(&self, name: &str) -> Option<&str> {
        HeaderMap::get(self, name).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        HeaderMap::keys(self).map(|k| k.as_str()).collect()
    }
}

impl CarrierMut for HeaderMap {
    fn set(&mut self, name: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::try_from(name),
            HeaderValue::try_from(value),
        ) {
            self.insert(name, value);
        }
    }

    fn set_traceparent(&mut self, trace: &TraceContext) {
        // Every call sends one: a fixed buffer and a static name keep it to
        // the value's one allocation.
        let value =
            HeaderValue::from_bytes(&trace.header_bytes()).expect("a traceparent is visible ASCII");
        self.insert(http::HeaderName::from_static(TRACEPARENT), value);
    }
}

impl Carrier for Headers {
    fn get(&self, name: &str) -> Option<&str> {
        Headers::get(self, name)
    }

    fn keys(&self) -> Vec<&str> {
        Headers::keys(self).map(HeaderName::as_str).collect()
    }
}

impl CarrierMut for Headers {
    fn set(&mut self, name: &str, value: String) {
        self.insert(HeaderName::new(name), value);
    }
}

/// The trace context of a call or event received with `carrier`, served in
/// `span`: the caller's trace continued (or a new one when it sent none),
/// recorded on `span` as `trace_id` and `span_id`.
pub(crate) fn continue_trace(span: &Span, carrier: &impl Carrier) -> TraceContext {
    #[cfg(feature = "otel")]
    let trace = otel::continue_trace(span, carrier)
        .unwrap_or_else(|| TraceContext::incoming(carrier.get(TRACEPARENT)));
    #[cfg(not(feature = "otel"))]
    let trace = TraceContext::incoming(carrier.get(TRACEPARENT));
    if !span.is_disabled() {
        span.record("trace_id", tracing::field::display(trace.trace_id_hex()));
        span.record("span_id", tracing::field::display(trace.span_id_hex()));
    }
    trace
}

/// The trace context a call or event sent from within `span` carries,
/// written into `carrier`: a child of the trace being served, or a new
/// trace.
pub(crate) fn send_trace(span: &Span, carrier: &mut impl CarrierMut) -> TraceContext {
    #[cfg(feature = "otel")]
    if let Some(trace) = otel::send_trace(span, carrier) {
        return trace;
    }
    #[cfg(not(feature = "otel"))]
    let _ = span;
    let trace = TraceContext::outgoing();
    carrier.set_traceparent(&trace);
    trace
}
