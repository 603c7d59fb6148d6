//! Where accord's telemetry meets the application's: the trace context of
//! calls and events.
//!
//! Every transport goes through the same few hooks here, so each concern
//! is written once: a server continues the caller's trace
//! ([`continue_trace`]), a client or publisher sends its own
//! ([`send_trace`]), with accord's own ids ([`TraceContext`]).

use http::{HeaderMap, HeaderValue};
use tracing::Span;

use crate::broker::Headers;
use crate::trace::{TraceContext, TRACEPARENT};

/// Headers a trace context is read from: an HTTP header map or a broker
/// message's headers.
pub(crate) trait Carrier {
    /// The value of header `name`, if it is text.
    fn get(&self, name: &str) -> Option<&str>;
}

/// Headers a trace context is written to.
pub(crate) trait CarrierMut {
    /// Sets header `name`; a value that cannot be a header is left out.
    fn set(&mut self, name: &str, value: String);
}

impl Carrier for HeaderMap {
    fn get(&self, name: &str) -> Option<&str> {
        HeaderMap::get(self, name).and_then(|v| v.to_str().ok())
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
}

impl Carrier for Headers {
    fn get(&self, name: &str) -> Option<&str> {
        Headers::get(self, name).map(String::as_str)
    }
}

impl CarrierMut for Headers {
    fn set(&mut self, name: &str, value: String) {
        self.insert(name.to_owned(), value);
    }
}

/// The trace context of a call or event received with `carrier`, served in
/// `span`: the caller's trace continued (or a new one when it sent none),
/// recorded on `span` as `trace_id` and `span_id`.
pub(crate) fn continue_trace(span: &Span, carrier: &impl Carrier) -> TraceContext {
    let trace = TraceContext::incoming(carrier.get(TRACEPARENT));
    span.record("trace_id", tracing::field::display(trace.trace_id_hex()));
    span.record("span_id", tracing::field::display(trace.span_id_hex()));
    trace
}

/// The trace context a call or event sent from within `span` carries,
/// written into `carrier`: a child of the trace being served, or a new
/// trace. It is recorded on `span` as `trace_id` when the span has that
/// field.
pub(crate) fn send_trace(span: &Span, carrier: &mut impl CarrierMut) -> TraceContext {
    let trace = TraceContext::outgoing();
    carrier.set(TRACEPARENT, trace.to_string());
    span.record("trace_id", tracing::field::display(trace.trace_id_hex()));
    trace
}
