//! What a delivery's [`Context`](crate::Context) is made from: the
//! delivered message, shared with the delivery, from which the handler's
//! header map and [`EventAttributes`] are built when first read.
//!
//! Most handlers read neither, so a delivery pays for neither, nor for a
//! copy of the message.

use std::sync::Arc;

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

use super::envelope;
use crate::broker::{self, Message};
use crate::context::EventAttributes;

/// A delivery as its context keeps it until the handler reads it.
#[derive(Clone)]
pub(crate) struct Delivered {
    message: Arc<Message>,
    topic: &'static str,
    group: Arc<str>,
    attempt: u32,
}

impl Delivered {
    /// `message`, delivered on `topic` (the message's own) to `group` for
    /// attempt number `attempt`.
    pub(crate) fn new(
        message: &Arc<Message>,
        topic: &'static str,
        group: &Arc<str>,
        attempt: u32,
    ) -> Self {
        Delivered {
            message: message.clone(),
            topic,
            group: group.clone(),
            attempt,
        }
    }

    /// The handler's header map: each header that is a valid HTTP header.
    pub(crate) fn header_map(&self) -> HeaderMap {
        let headers = &self.message.headers;
        let mut map = HeaderMap::with_capacity(headers.len());
        for (name, value) in headers {
            if let (Ok(name), Ok(value)) = (header_name(name), HeaderValue::try_from(value)) {
                map.append(name, value);
            }
        }
        map
    }

    /// The CloudEvents attributes and the attempt.
    pub(crate) fn attributes(&self) -> EventAttributes {
        let text = |name: &str| self.message.header(name).map(str::to_owned);
        EventAttributes {
            id: text(envelope::ID).unwrap_or_default(),
            source: text(envelope::SOURCE).unwrap_or_default(),
            event_type: text(envelope::TYPE).unwrap_or_default(),
            time: text(envelope::TIME),
            subject: text(envelope::SUBJECT),
            topic: self.topic.to_owned(),
            key: self.message.key.clone(),
            group: self.group.as_ref().to_owned(),
            attempt: self.attempt,
        }
    }
}

/// The HTTP header name of `name`: a shared name as it is (it is a valid,
/// lower-case one), any other parsed.
fn header_name(name: &broker::HeaderName) -> Result<HeaderName, http::header::InvalidHeaderName> {
    match name.as_static() {
        Some(name) => Ok(HeaderName::from_static(name)),
        None => HeaderName::try_from(name.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_key_and_attributes_come_back_as_delivered() {
        let message = Message::new("orders.placed", "{}")
            .with_header(envelope::ID, "e-1")
            .with_header(envelope::SOURCE, "/orders")
            .with_header(envelope::TYPE, "orders.placed")
            .with_header(envelope::SUBJECT, "order 7")
            .with_header("x-empty", "")
            .with_header("x-line", "a\nb")
            .with_header("Not A Name", "v")
            .with_key("customer-7");
        let group: Arc<str> = "billing".into();
        let delivered = Delivered::new(&Arc::new(message), "orders.placed", &group, 3);
        let map = delivered.header_map();
        assert_eq!(map.len(), 5, "the line break and the bad name are left out");
        assert_eq!(map[envelope::ID], "e-1");
        assert_eq!(map["x-empty"], "");
        assert_eq!(
            delivered.attributes(),
            EventAttributes {
                id: "e-1".into(),
                source: "/orders".into(),
                event_type: "orders.placed".into(),
                time: None,
                subject: Some("order 7".into()),
                topic: "orders.placed".into(),
                key: Some("customer-7".into()),
                group: "billing".into(),
                attempt: 3,
            }
        );
        let bare = Delivered::new(&Arc::new(Message::new("t", "{}")), "t", &group, 1);
        assert!(bare.header_map().is_empty());
        assert_eq!(bare.attributes().key, None);
        assert_eq!(bare.attributes().id, "");
    }
}
