//! One attempt of a call as the client hands it to a transport: the call,
//! kept by the client or handed over, and the headers the attempt adds to
//! the call's own.
//!
//! The trace context and the time left are written per attempt rather than
//! into the call: an idempotent call is kept for a retry, and a transport
//! that builds its own request (HTTP) then writes them straight into that
//! request, so a call whose own headers are empty (a GET with no header
//! arguments) is sent without a header map of its own or a copy of one.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::deadline::{timeout_value, TIMEOUT_HEADER};
use crate::observe::CarrierMut;
use crate::trace::{TraceContext, TRACEPARENT};
use crate::wire::Call;

/// A call on its way to the transport for one attempt: kept by the client,
/// to send again if this attempt fails (an idempotent call), or handed
/// over.
#[derive(Debug)]
pub enum Sending<'a> {
    /// The client keeps the call: the transport copies what it must.
    Kept(&'a Call),
    /// The call is the transport's: it is sent once.
    Handed(Call),
}

/// The headers one attempt of a call carries beyond the call's own: the
/// trace context of the call and the time the attempt has left
/// ([`accord-timeout`](crate::deadline)). Every attempt of a call carries
/// the same trace context.
#[derive(Debug, Clone)]
pub struct AttemptHeaders {
    trace: TraceHeaders,
    left: Duration,
}

/// The trace context as the client's propagation wrote it once per call.
#[derive(Debug, Clone, Default)]
pub(crate) struct TraceHeaders {
    /// accord's own `traceparent`, kept as the context it is made from.
    traceparent: Option<TraceContext>,
    /// What an OpenTelemetry propagator wrote instead.
    written: Option<HeaderMap>,
}

impl CarrierMut for TraceHeaders {
    fn set(&mut self, name: &str, value: String) {
        self.written
            .get_or_insert_with(HeaderMap::new)
            .set(name, value);
    }

    fn set_traceparent(&mut self, trace: &TraceContext) {
        self.traceparent = Some(*trace);
    }
}

impl AttemptHeaders {
    /// The headers of an attempt of a call traced as `trace`, with `left`
    /// before the call's deadline.
    pub(crate) fn new(trace: TraceHeaders, left: Duration) -> Self {
        AttemptHeaders { trace, left }
    }

    /// Sets the time the attempt has left.
    pub(crate) fn set_left(&mut self, left: Duration) {
        self.left = left;
    }

    /// The time the attempt has left, as `accord-timeout` says it.
    pub fn left(&self) -> Duration {
        self.left
    }

    /// Writes these headers into `headers`, replacing any of the same
    /// names.
    pub fn write_to(&self, headers: &mut HeaderMap) {
        // Names made once, not parsed from text at every attempt.
        static TRACEPARENT_NAME: HeaderName = HeaderName::from_static(TRACEPARENT);
        static TIMEOUT_NAME: HeaderName = HeaderName::from_static(TIMEOUT_HEADER);
        if let Some(trace) = &self.trace.traceparent {
            let value = HeaderValue::from_bytes(&trace.header_bytes())
                .expect("a traceparent is visible ASCII");
            headers.insert(TRACEPARENT_NAME.clone(), value);
        }
        if let Some(written) = &self.trace.written {
            for (name, value) in written {
                headers.insert(name.clone(), value.clone());
            }
        }
        headers.insert(TIMEOUT_NAME.clone(), timeout_value(self.left));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_trace_and_the_time_left() {
        let trace = TraceContext::new_root();
        let mut traced = TraceHeaders::default();
        traced.set_traceparent(&trace);
        traced.set("tracestate", "vendor=1".to_owned());
        let attempt = AttemptHeaders::new(traced, Duration::from_millis(1500));
        let mut headers = HeaderMap::new();
        headers.insert(TIMEOUT_HEADER, http::HeaderValue::from_static("9"));
        attempt.write_to(&mut headers);
        assert_eq!(headers[TRACEPARENT], trace.to_string());
        assert_eq!(headers["tracestate"], "vendor=1");
        assert_eq!(headers.get_all(TIMEOUT_HEADER).iter().count(), 1);
        assert_eq!(headers[TIMEOUT_HEADER], "1500");
    }
}
