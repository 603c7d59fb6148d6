//! The CloudEvents 1.0 envelope in binary content mode: the event data is
//! the message body (JSON) and each context attribute is a `ce-` header.

use std::time::SystemTime;

use crate::broker::Headers;

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

/// An event id (a UUID).
pub type EventId = String;

/// The headers of a new event.
pub fn headers(id: &str, source: &str, event_type: &str, traceparent: &str) -> Headers {
    let mut headers = attributes(id, source, event_type);
    headers.insert(crate::trace::TRACEPARENT.into(), traceparent.into());
    headers
}

/// The headers of a new event but for its trace context, which the
/// publisher adds through [`crate::observe`].
pub(crate) fn attributes(id: &str, source: &str, event_type: &str) -> Headers {
    let mut headers = Headers::new();
    headers.insert(SPEC_VERSION.into(), "1.0".into());
    headers.insert(ID.into(), id.into());
    headers.insert(SOURCE.into(), source.into());
    headers.insert(TYPE.into(), event_type.into());
    headers.insert(
        TIME.into(),
        humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
    );
    headers.insert(CONTENT_TYPE.into(), "application/json".into());
    headers
}

/// A new event id.
pub fn new_id() -> EventId {
    uuid::Uuid::new_v4().to_string()
}

/// Checks the envelope of a received event: the attributes CloudEvents
/// requires are present and the data is JSON.
pub fn check(headers: &Headers) -> Result<(), String> {
    for required in [SPEC_VERSION, ID, SOURCE, TYPE] {
        if headers.get(required).is_none_or(String::is_empty) {
            return Err(format!("the `{required}` header is missing"));
        }
    }
    if headers.get(SPEC_VERSION).map(String::as_str) != Some("1.0") {
        return Err(format!(
            "unsupported CloudEvents version {:?}; expected 1.0",
            headers[SPEC_VERSION]
        ));
    }
    match headers.get(CONTENT_TYPE).map(String::as_str) {
        None => Ok(()),
        Some(ct) if ct.split(';').next().unwrap_or("").trim() == "application/json" => Ok(()),
        Some(ct) => Err(format!("the data is {ct:?}; expected application/json")),
    }
}
