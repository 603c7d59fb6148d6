//! The CloudEvents 1.0 envelope in binary content mode: the event data is
//! the message body (JSON) and each context attribute is a `ce-` header.

use std::fmt::Write as _;
use std::time::SystemTime;

use bytes::Bytes;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::broker::limits::cap_text;
use crate::broker::{EventEnvelope, HeaderName, Headers};
use crate::observe::CarrierMut;
use crate::trace::{TraceContext, TRACEPARENT};

/// `ce-specversion`.
pub const SPEC_VERSION: &str = "ce-specversion";
/// `ce-id`: unique per event; redeliveries and republished duplicates keep it.
pub const ID: &str = "ce-id";
/// `ce-source`: the publishing service.
pub const SOURCE: &str = "ce-source";
/// `ce-type`: the event type, the topic.
pub const TYPE: &str = "ce-type";
/// `ce-time`: when the event was published (RFC 3339).
pub const TIME: &str = "ce-time";
/// `ce-subject`: what the event is about (optional; accord does not set it).
pub const SUBJECT: &str = "ce-subject";
/// `content-type`: the `datacontenttype` attribute in binary mode.
pub const CONTENT_TYPE: &str = "content-type";

/// The names of the headers every event carries, in the order
/// [`headers`] and [`EventEnvelope::headers`](crate::broker::EventEnvelope::headers)
/// write them: the CloudEvents attributes accord sets, then the trace
/// context. `ce-subject`, which accord does not set, is not among them.
pub const NAMES: [&str; 7] = [
    SPEC_VERSION,
    ID,
    SOURCE,
    TYPE,
    TIME,
    CONTENT_TYPE,
    TRACEPARENT,
];

/// An event id (a UUID).
pub type EventId = String;

/// The headers of a new event: those a publisher sends
/// ([`EventEnvelope::to_message`]), with the time now.
pub fn headers(id: &str, source: &str, event_type: &str, traceparent: &str) -> Headers {
    let time = Timestamp::now();
    let extra = [(HeaderName::from_static(TRACEPARENT), traceparent.to_owned())];
    let envelope = EventEnvelope {
        topic: event_type,
        key: None,
        id,
        source,
        time: time.as_str(),
        extra: &extra,
        payload: Bytes::new(),
    };
    envelope.to_message().headers
}

/// A `ce-time` value, formatted without allocating: RFC 3339 in UTC with
/// milliseconds (24 bytes).
#[derive(Clone, Copy)]
pub(crate) struct Timestamp {
    text: [u8; Timestamp::CAPACITY],
    len: usize,
}

impl Timestamp {
    /// Room for the longest RFC 3339 text humantime writes (with
    /// nanoseconds, 30 bytes).
    const CAPACITY: usize = 32;

    /// Now.
    pub(crate) fn now() -> Self {
        let mut out = Timestamp {
            text: [0; Self::CAPACITY],
            len: 0,
        };
        let _ = write!(
            out,
            "{}",
            humantime::format_rfc3339_millis(SystemTime::now())
        );
        out
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only whole `str`s are written, and only while they fit.
        std::str::from_utf8(&self.text[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for Timestamp {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.text.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The trace headers of an event being published, as the trace context
/// writes them ([`crate::observe`]): `traceparent`, and with OpenTelemetry
/// whatever its propagator adds. Bounded by the propagator's fields (one
/// entry per name).
#[derive(Debug, Default)]
pub(crate) struct TraceHeaders(Vec<(HeaderName, String)>);

impl TraceHeaders {
    pub(crate) fn as_slice(&self) -> &[(HeaderName, String)] {
        &self.0
    }
}

impl CarrierMut for TraceHeaders {
    fn set_traceparent(&mut self, trace: &TraceContext) {
        // Every event sends one: written from a fixed buffer rather than
        // formatted.
        let bytes = trace.header_bytes();
        let value = std::str::from_utf8(&bytes).expect("a traceparent is visible ASCII");
        self.set(TRACEPARENT, value.to_owned());
    }

    fn set(&mut self, name: &str, value: String) {
        if let Some(entry) = self.0.iter_mut().find(|(n, _)| n == name) {
            entry.1 = value;
            return;
        }
        // `traceparent` and `tracestate` are shared, not copied.
        self.0.push((HeaderName::new(name), value));
    }
}

/// A new event id.
pub fn new_id() -> EventId {
    uuid::Uuid::new_v4().to_string()
}

/// The longest header value a reason quotes; longer ones are cut, so a
/// hostile header cannot inflate a dead-letter reason or a log line.
const QUOTED_MAX: usize = 96;

/// Checks the envelope of an event received on `topic`: the attributes
/// CloudEvents requires are present, `ce-type` is the event type the topic
/// carries (accord's event type is its topic), `ce-time`, when present, is
/// an RFC 3339 timestamp, and the data is JSON.
pub fn check(headers: &Headers, topic: &str) -> Result<(), String> {
    // One pass over the headers picks out the attributes looked at, rather
    // than a lookup for each.
    let [mut spec_version, mut id, mut source, mut event_type, mut time, mut content_type] =
        [None; 6];
    for (name, value) in headers {
        let slot = match name.as_str() {
            SPEC_VERSION => &mut spec_version,
            ID => &mut id,
            SOURCE => &mut source,
            TYPE => &mut event_type,
            TIME => &mut time,
            CONTENT_TYPE => &mut content_type,
            _ => continue,
        };
        *slot = Some(value);
    }
    for (required, value) in [
        (SPEC_VERSION, spec_version),
        (ID, id),
        (SOURCE, source),
        (TYPE, event_type),
    ] {
        if value.is_none_or(str::is_empty) {
            return Err(format!("the `{required}` header is missing"));
        }
    }
    let (spec_version, event_type) = (spec_version.unwrap_or(""), event_type.unwrap_or(""));
    if spec_version != "1.0" {
        return Err(format!(
            "unsupported CloudEvents version {}; expected 1.0",
            quoted(spec_version)
        ));
    }
    if event_type != topic {
        return Err(format!(
            "the `{TYPE}` header is {}, but topic `{topic}` carries events of type `{topic}`",
            quoted(event_type)
        ));
    }
    if let Some(time) = time {
        if OffsetDateTime::parse(time, &Rfc3339).is_err() {
            return Err(format!(
                "the `{TIME}` header is {}, not an RFC 3339 timestamp",
                quoted(time)
            ));
        }
    }
    match content_type {
        None => Ok(()),
        Some(ct) if ct.split(';').next().unwrap_or("").trim() == "application/json" => Ok(()),
        Some(ct) => Err(format!(
            "the data is {}; expected application/json",
            quoted(ct)
        )),
    }
}

/// `value` in quotes, on one line and cut to [`QUOTED_MAX`] bytes by the
/// same rule as every dead-letter reason.
fn quoted(value: &str) -> String {
    format!("{:?}", cap_text(value, QUOTED_MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Headers {
        headers("id-1", "orders", "orders.placed", "")
    }

    #[test]
    fn a_published_envelope_passes() {
        assert_eq!(check(&valid(), "orders.placed"), Ok(()));
    }

    #[test]
    fn a_type_other_than_the_topic_is_named() {
        let err = check(&valid(), "orders.cancelled").unwrap_err();
        assert!(
            err.contains("`ce-type` header is \"orders.placed\""),
            "{err}"
        );
        assert!(err.contains("orders.cancelled"), "{err}");
    }

    #[test]
    fn times_with_any_offset_pass_and_other_times_are_named() {
        for time in [
            "2026-12-05T18:00:00Z",
            "2026-12-05T18:00:00.123456+02:00",
            "2026-12-05t18:00:00-05:30",
        ] {
            let mut headers = valid();
            headers.insert(TIME, time);
            assert_eq!(check(&headers, "orders.placed"), Ok(()), "{time}");
        }
        for time in [
            "yesterday",
            "2026-12-05",
            "2026-12-05 18:00:00",
            "1765000000",
        ] {
            let mut headers = valid();
            headers.insert(TIME, time);
            let err = check(&headers, "orders.placed").unwrap_err();
            assert!(err.contains("not an RFC 3339 timestamp"), "{time}: {err}");
        }
    }

    #[test]
    fn a_missing_attribute_a_version_and_a_content_type_are_named() {
        for required in [SPEC_VERSION, ID, SOURCE, TYPE] {
            let mut headers = valid();
            headers.remove(required);
            assert_eq!(
                check(&headers, "orders.placed"),
                Err(format!("the `{required}` header is missing"))
            );
            headers.insert(required, String::new());
            assert!(
                check(&headers, "orders.placed").is_err(),
                "{required} empty"
            );
        }
        let mut headers = valid();
        headers.insert(SPEC_VERSION, "0.3");
        let err = check(&headers, "orders.placed").unwrap_err();
        assert!(err.contains("version \"0.3\"; expected 1.0"), "{err}");
        let mut headers = valid();
        headers.insert(CONTENT_TYPE, "application/json; charset=utf-8");
        assert_eq!(check(&headers, "orders.placed"), Ok(()));
        headers.insert(CONTENT_TYPE, "text/plain");
        let err = check(&headers, "orders.placed").unwrap_err();
        assert!(err.contains("expected application/json"), "{err}");
    }

    #[test]
    fn ce_time_may_be_absent() {
        let mut headers = valid();
        headers.remove(TIME);
        assert_eq!(check(&headers, "orders.placed"), Ok(()));
    }

    #[test]
    fn a_long_header_value_is_cut_in_the_reason() {
        let mut headers = valid();
        headers.insert(TYPE, "é".repeat(10_000));
        let err = check(&headers, "orders.placed").unwrap_err();
        assert!(err.len() < 300, "{} bytes", err.len());
    }
}
