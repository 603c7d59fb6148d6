//! What a delivery's [`Context`](crate::Context) is made from: the
//! message's headers and key copied into one buffer, from which the
//! handler's header map and [`EventAttributes`] are built when first read.
//!
//! Most handlers read neither, so a delivery pays one copy of its headers
//! instead of a header map and the attributes' strings.

use std::sync::Arc;

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

use super::envelope;
use crate::broker::Message;
use crate::context::EventAttributes;

/// The bytes of a part's length in [`Delivered`]'s buffer.
const LEN: usize = std::mem::size_of::<usize>();

/// A delivery as its context keeps it until the handler reads it.
#[derive(Clone)]
pub(crate) struct Delivered {
    /// Each header as its name and then its value, each part preceded by
    /// its length in bytes; then the key's text, if there is one.
    text: Box<[u8]>,
    /// Where the headers end in `text`.
    headers_end: usize,
    has_key: bool,
    topic: &'static str,
    group: Arc<str>,
    attempt: u32,
}

impl Delivered {
    /// `message`, delivered on `topic` (the message's own) to `group` for
    /// attempt number `attempt`.
    pub(crate) fn new(
        message: &Message,
        topic: &'static str,
        group: &Arc<str>,
        attempt: u32,
    ) -> Self {
        let headers_len: usize = message
            .headers
            .iter()
            .map(|(name, value)| 2 * LEN + name.len() + value.len())
            .sum();
        let key = message.key.as_deref();
        let mut text = Vec::with_capacity(headers_len + key.map_or(0, str::len));
        for (name, value) in &message.headers {
            for part in [name, value] {
                text.extend_from_slice(&part.len().to_ne_bytes());
                text.extend_from_slice(part.as_bytes());
            }
        }
        if let Some(key) = key {
            text.extend_from_slice(key.as_bytes());
        }
        Delivered {
            text: text.into_boxed_slice(),
            headers_end: headers_len,
            has_key: key.is_some(),
            topic,
            group: group.clone(),
            attempt,
        }
    }

    /// The headers, by name, in the message's order.
    fn headers(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let mut rest = &self.text[..self.headers_end];
        std::iter::from_fn(move || {
            let name = take_part(&mut rest)?;
            let value = take_part(&mut rest)?;
            Some((name, value))
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The handler's header map: each header that is a valid HTTP header.
    pub(crate) fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.headers().count());
        for (name, value) in self.headers() {
            if let (Ok(name), Ok(value)) = (header_name(name), HeaderValue::try_from(value)) {
                map.append(name, value);
            }
        }
        map
    }

    /// The CloudEvents attributes and the attempt.
    pub(crate) fn attributes(&self) -> EventAttributes {
        let text = |name: &str| self.header(name).map(str::to_owned);
        let key = self.has_key.then(|| {
            std::str::from_utf8(&self.text[self.headers_end..])
                .unwrap_or_default()
                .to_owned()
        });
        EventAttributes {
            id: text(envelope::ID).unwrap_or_default(),
            source: text(envelope::SOURCE).unwrap_or_default(),
            event_type: text(envelope::TYPE).unwrap_or_default(),
            time: text(envelope::TIME),
            subject: text(envelope::SUBJECT),
            topic: self.topic.to_owned(),
            key,
            group: self.group.as_ref().to_owned(),
            attempt: self.attempt,
        }
    }
}

/// The next part of `rest`, taken off it. Every part was written whole
/// from a `str`, so it is text.
fn take_part<'a>(rest: &mut &'a [u8]) -> Option<&'a str> {
    let (len, after) = rest.split_first_chunk::<LEN>()?;
    let len = usize::from_ne_bytes(*len);
    let (part, after) = after.split_at_checked(len)?;
    *rest = after;
    std::str::from_utf8(part).ok()
}

/// The HTTP header name `name`: the names of the envelope without copying
/// them, any other name parsed.
fn header_name(name: &str) -> Result<HeaderName, http::header::InvalidHeaderName> {
    match envelope::known_name(name) {
        Some(known) => Ok(HeaderName::from_static(known)),
        None => HeaderName::try_from(name),
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
        let delivered = Delivered::new(&message, "orders.placed", &group, 3);
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
        let bare = Delivered::new(&Message::new("t", "{}"), "t", &group, 1);
        assert!(bare.header_map().is_empty());
        assert_eq!(bare.attributes().key, None);
        assert_eq!(bare.attributes().id, "");
    }
}
