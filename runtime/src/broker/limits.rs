//! Size limits every backend applies, and the error for a message over one.
//!
//! Brokers bound what one message may carry: NATS a `max_payload` for
//! headers and payload together (1 MiB unless the server says otherwise)
//! and, for JetStream, 64 KiB of headers; AMQP a frame size the connection
//! negotiates (128 KiB on RabbitMQ), which the message properties, headers
//! included, must fit in. A message over such a limit is not merely
//! refused: RabbitMQ closes the whole connection, taking every publish and
//! ack in flight on it along. So each backend measures a message before it
//! publishes it, and refuses it itself with [`BrokerError::TooLarge`],
//! which names what is too large, its size and the limit.
//!
//! Two more bounds keep a message that was accepted movable later:
//!
//! - A dead-letter reason is at most [`MAX_REASON_BYTES`], on one line
//!   ([`dead_letter_reason`]). Reasons quote what failed (a handler's error,
//!   a decoding error quoting the payload), so without a cap a large event
//!   that failed could never be dead-lettered: its reason alone would be
//!   over the limits above.
//! - A publish leaves [`DEAD_LETTER_HEADROOM`] below the broker's limits,
//!   the room the dead-letter headers take, so that any event a publisher
//!   got accepted can still be dead-lettered. Copies of a delivered
//!   message (retries, dead letters) are held only to the broker's own
//!   limits: a message a foreign publisher filled to the limit cannot take
//!   the dead-letter headers, and stays with its group, tried again with
//!   backoff (see [`Retry::dead_letter_or_retry`](super::Retry::dead_letter_or_retry)).
//! - Each header of a publish, request or reply is at most a configurable
//!   size ([`DEFAULT_MAX_HEADER_BYTES`] unless set), an event id or a
//!   trace header being small by nature.

use std::borrow::Cow;
use std::fmt;

use super::BrokerError;

/// The most bytes a dead-letter reason takes, marker included: a longer
/// one is cut (on a character boundary) and ends with a marker saying how
/// long it was. Fixed, as [`DEAD_LETTER_HEADROOM`] is reckoned from it.
pub const MAX_REASON_BYTES: usize = 1024;

/// The room, in bytes, a publish leaves below the broker's size limits for
/// the headers a dead letter adds: the reason (at most
/// [`MAX_REASON_BYTES`]), the attempt count, the topic and the group, for
/// topic and group names up to 1 KiB each.
pub const DEAD_LETTER_HEADROOM: usize = 4096;

/// The largest single header (name and value, in bytes) a publish,
/// request or reply may carry unless the backend is set otherwise
/// (`NatsOptions::max_header_bytes`, `AmqpOptions::max_header_bytes`): well
/// above an event id, a trace header or a bearer token, well below the
/// brokers' own limits.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;

/// What part of a message is over a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessagePart {
    /// One header, by name (its name and value together are measured).
    Header(String),
    /// The headers together (for AMQP, the message properties); names the
    /// largest header.
    Headers {
        /// The name of the largest header.
        largest: String,
    },
    /// The whole message: headers and payload.
    Message,
    /// The topic (a NATS subject, an AMQP routing key).
    Topic,
}

impl fmt::Display for MessagePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessagePart::Header(name) => write!(f, "the header `{}`", cap_text(name, 80)),
            MessagePart::Headers { largest } => write!(
                f,
                "the headers (the largest is `{}`)",
                cap_text(largest, 80)
            ),
            MessagePart::Message => f.write_str("the message (headers and payload)"),
            MessagePart::Topic => f.write_str("the topic"),
        }
    }
}

/// A message, or a part of it, over a size limit: it was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    /// What is too large.
    pub part: MessagePart,
    /// Its size, in bytes, as the limit counts it.
    pub size: usize,
    /// The most the limit allows, in bytes.
    pub limit: usize,
    /// Which limit it is and where it comes from, for the error message.
    pub limit_name: String,
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is {} bytes, over the {} bytes allowed by {}",
            self.part, self.size, self.limit, self.limit_name
        )
    }
}

impl From<TooLarge> for BrokerError {
    fn from(too_large: TooLarge) -> Self {
        BrokerError::TooLarge(Box::new(too_large))
    }
}

/// `reason` as a dead letter stores it and logs show it: on one line, at
/// most [`MAX_REASON_BYTES`].
pub fn dead_letter_reason(reason: &str) -> Cow<'_, str> {
    cap_text(reason, MAX_REASON_BYTES)
}

/// `text` on one line and at most `max` bytes: line breaks and other
/// control characters become spaces, and a longer text is cut on a
/// character boundary, ending with a marker that says how long it was.
pub fn cap_text(text: &str, max: usize) -> Cow<'_, str> {
    let clean = text.len() <= max && !text.chars().any(char::is_control);
    if clean {
        return Cow::Borrowed(text);
    }
    let marker = format!("… [truncated from {} bytes]", text.len());
    let mut out = String::with_capacity(max.min(text.len()));
    let budget = if text.len() <= max {
        text.len()
    } else {
        max.saturating_sub(marker.len())
    };
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if out.len() + c.len_utf8() > budget {
            break;
        }
        out.push(c);
    }
    if text.len() > max && out.len() + marker.len() <= max {
        out.push_str(&marker);
    }
    Cow::Owned(out)
}

/// Refuses a header whose name and value together exceed `limit` bytes.
#[cfg(any(feature = "nats", feature = "amqp", feature = "kafka", test))]
pub(crate) fn check_header(
    name: &str,
    value: &str,
    limit: usize,
    limit_name: impl FnOnce() -> String,
) -> Result<(), TooLarge> {
    let size = name.len() + value.len();
    if size > limit {
        return Err(TooLarge {
            part: MessagePart::Header(name.to_owned()),
            size,
            limit,
            limit_name: limit_name(),
        });
    }
    Ok(())
}

/// The name of the largest of `headers` (by name and value together).
#[cfg(any(feature = "nats", feature = "amqp", feature = "kafka", test))]
pub(crate) fn largest_header<'a>(headers: impl IntoIterator<Item = (&'a str, usize)>) -> String {
    headers
        .into_iter()
        .max_by_key(|(_, size)| *size)
        .map(|(name, _)| name.to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_one_line_text_is_kept_as_it_is() {
        assert!(matches!(cap_text("fine", 10), Cow::Borrowed("fine")));
        assert_eq!(cap_text("two\nlines\r\n", 100), "two lines  ");
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary_with_a_marker() {
        let text = "é".repeat(5000);
        let capped = dead_letter_reason(&text);
        assert!(capped.len() <= MAX_REASON_BYTES, "{}", capped.len());
        assert!(capped.len() > MAX_REASON_BYTES - 40, "uses the room it has");
        assert!(capped.starts_with("éé"));
        assert!(
            capped.ends_with("… [truncated from 10000 bytes]"),
            "{capped}"
        );
        let body = capped.trim_end_matches("… [truncated from 10000 bytes]");
        assert!(body.chars().all(|c| c == 'é'));
    }

    #[test]
    fn a_limit_smaller_than_the_marker_still_holds() {
        let capped = cap_text("abcdefghij", 4);
        assert!(capped.len() <= 4, "{capped:?}");
    }

    #[test]
    fn too_large_names_the_part_its_size_and_the_limit() {
        let error = BrokerError::from(
            check_header("ce-id", &"x".repeat(100), 50, || "a test limit".to_owned()).unwrap_err(),
        );
        assert_eq!(
            error.to_string(),
            "the message is too large: the header `ce-id` is 105 bytes, over the 50 bytes \
             allowed by a test limit"
        );
        assert!(check_header("ce-id", "x", 50, String::new).is_ok());
        let headers = [("a", 3), ("big", 30), ("c", 4)];
        assert_eq!(largest_header(headers), "big");
    }
}
