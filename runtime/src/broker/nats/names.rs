//! Names of the JetStream objects accord declares, derived from topics and
//! groups.
//!
//! Stream and consumer names may not contain `.`, `*`, `>`, whitespace or
//! path separators, and a subject token may not contain `.`, `*`, `>` or
//! whitespace. Each name keeps the letters, digits and `-` of what it is
//! named after, so an operator recognises it; a topic's dots become `_`.
//! Whenever anything else had to be replaced, the name ends in `__` and a
//! hash of the original, so two topics or groups never share a name.

use crate::broker::key_partition::{self, fnv1a};
use crate::broker::limits::{MessagePart, TooLarge};

/// The default prefix of the streams accord declares.
pub const DEFAULT_STREAM_PREFIX: &str = "ACCORD";

/// The default subject prefix of dead letters.
pub const DEFAULT_DEAD_LETTER_SUBJECT: &str = "accord.dead-letter";

/// The stream accord declares for `topic`, under the stream prefix
/// `prefix` (already a valid name part, see [`stream_prefix`]):
/// `<prefix>_<topic with dots as _>`.
pub(crate) fn topic_stream_name(prefix: &str, topic: &str) -> String {
    format!("{prefix}_{}", topic_token(topic))
}

/// The stream prefix as used in names: `prefix` made a valid name part.
pub(crate) fn stream_prefix(prefix: &str) -> String {
    group_token(prefix)
}

/// The dead-letter stream under the stream prefix `prefix`:
/// `<prefix>-DEAD-LETTERS`.
pub(crate) fn dead_letter_stream_name(prefix: &str) -> String {
    format!("{prefix}-DEAD-LETTERS")
}

/// The subject `group`'s dead letters are published on.
pub(crate) fn dead_letter_subject(subject_prefix: &str, group: &str) -> String {
    format!("{subject_prefix}.{}", group_token(group))
}

/// The longest readable part kept before the hash.
const MAX_READABLE: usize = 120;

/// A stream-name fragment for `topic`: dots become `_`.
pub(crate) fn topic_token(topic: &str) -> String {
    escape(topic, |c| c == '.', '_')
}

/// A consumer name, subject token or queue group for `group`: letters,
/// digits, `-` and `_` are kept.
pub(crate) fn group_token(group: &str) -> String {
    escape(group, |c| c == '_', '_')
}

/// Keeps ASCII letters, digits and `-`; turns each character `kept_as`
/// accepts into `with`; replaces anything else and appends a hash when
/// the result could be ambiguous or is too long.
fn escape(original: &str, kept_as: impl Fn(char) -> bool, with: char) -> String {
    let mut readable = String::with_capacity(original.len());
    let mut exact = !original.is_empty();
    for c in original.chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            readable.push(c);
        } else if kept_as(c) {
            readable.push(with);
        } else {
            readable.push('_');
            exact = false;
        }
    }
    // `__` is the hash separator; a readable part containing it could
    // collide with a hashed name.
    if readable.contains("__") {
        exact = false;
    }
    if readable.len() > MAX_READABLE {
        readable.truncate(MAX_READABLE);
        exact = false;
    }
    if exact {
        readable
    } else {
        format!("{readable}__{:016x}", fnv1a(original.as_bytes()))
    }
}

/// The subject token that marks a key partition of a topic: keyed events
/// of `orders.placed` are stored on `orders.placed._key.<partition>`.
pub(crate) const KEY_TOKEN: &str = "_key";

/// The subject of `topic`'s key partition `partition`.
pub(crate) fn partition_subject(topic: &str, partition: usize) -> String {
    key_partition::partition_name(topic, KEY_TOKEN, partition)
}

/// The partition number when `subject` is a key partition of `topic`.
fn partition_number(topic: &str, subject: &str) -> Option<usize> {
    let rest = subject.strip_prefix(topic)?.strip_prefix('.')?;
    let number = rest.strip_prefix(KEY_TOKEN)?.strip_prefix('.')?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse().ok()
}

/// How many key partitions of `topic` a stream capturing `subjects` holds:
/// partitions `0..n` must all be there, else there are none.
pub(crate) fn partitions_in(topic: &str, subjects: &[String]) -> usize {
    let numbers: std::collections::BTreeSet<usize> = subjects
        .iter()
        .filter_map(|subject| partition_number(topic, subject))
        .collect();
    let count = numbers.len();
    if numbers.iter().copied().eq(0..count) {
        count
    } else {
        0
    }
}

/// The topic a message stored on `subject` was published on: the subject
/// without its key partition tokens (`<topic>._key.<n>`).
///
/// Read from the end by bytes: it runs once per delivery, and most
/// subjects end in a token that is not a number.
pub(crate) fn topic_of_subject(subject: &str) -> &str {
    let Some(dot) = subject.bytes().rposition(|b| b == b'.') else {
        return subject;
    };
    let number = &subject[dot + 1..];
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return subject;
    }
    subject[..dot]
        .strip_suffix(KEY_TOKEN)
        .and_then(|rest| rest.strip_suffix('.'))
        .unwrap_or(subject)
}

/// Where a JetStream message stands, as its ack (reply) subject says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AckPosition<'a> {
    /// The stream the message is stored in.
    pub stream: &'a str,
    /// How many times it has been delivered, this time included.
    pub delivered: u64,
    /// Its sequence in the stream.
    pub stream_sequence: u64,
}

/// The stream, delivery count and stream sequence of a JetStream ack
/// subject, in either form of ADR-15: `$JS.ACK.<stream>.<consumer>.
/// <delivered>.<stream seq>.<consumer seq>.<time>.<pending>`, or with
/// `<domain>.<account hash>.` before the stream and possibly more tokens
/// after `<pending>`. `None` for any other subject.
///
/// async-nats' `Message::info` reads every field (the time included); a
/// delivery needs these three, once per message.
pub(crate) fn ack_position(reply: &str) -> Option<AckPosition<'_>> {
    let rest = reply.strip_prefix("$JS.ACK.")?;
    // The starts of the first six tokens, and how many tokens there are.
    let mut starts = [0usize; 7];
    let mut tokens = 1;
    for (at, byte) in rest.bytes().enumerate() {
        if byte == b'.' {
            if tokens < starts.len() {
                starts[tokens] = at + 1;
            }
            tokens += 1;
        }
    }
    let first = match tokens {
        7 => 0,
        n if n >= 9 => 2,
        _ => return None,
    };
    let token = |i: usize| &rest[starts[first + i]..starts[first + i + 1] - 1];
    Some(AckPosition {
        stream: token(0),
        delivered: token(2).parse().ok()?,
        stream_sequence: token(3).parse().ok()?,
    })
}

/// The longest topic accord sends as a NATS subject, in bytes. The server
/// closes the connection of a client whose protocol line (the subject, a
/// reply subject and sizes) is over its `max_control_line`, 4 KiB by
/// default; 1 KiB leaves room for the rest and for a server set lower.
pub(crate) const MAX_SUBJECT_BYTES: usize = 1024;

/// Refuses a topic too long to send as a subject.
pub(crate) fn check_subject_length(topic: &str) -> Result<(), TooLarge> {
    if topic.len() > MAX_SUBJECT_BYTES {
        return Err(TooLarge {
            part: MessagePart::Topic,
            size: topic.len(),
            limit: MAX_SUBJECT_BYTES,
            limit_name: "accord for a NATS subject, within the server's 4 KiB control line"
                .to_owned(),
        });
    }
    Ok(())
}

/// Why `topic` cannot be published or consumed as one JetStream subject,
/// if it cannot.
pub(crate) fn check_topic(topic: &str) -> Result<(), String> {
    if topic.is_empty() {
        return Err("the topic is empty".to_owned());
    }
    if topic.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "the topic {topic:?} contains whitespace; NATS subjects cannot"
        ));
    }
    for token in topic.split('.') {
        if token.is_empty() {
            return Err(format!(
                "the topic {topic:?} has an empty token; NATS subjects cannot"
            ));
        }
        if token == KEY_TOKEN {
            return Err(format!(
                "the topic {topic:?} has a `{KEY_TOKEN}` token, which accord keeps for the \
                 key partitions of a topic"
            ));
        }
        if token == "*" || token == ">" {
            return Err(format!(
                "the topic {topic:?} is a wildcard; events are published on and consumed from one subject each"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::key_partition::partition_of;

    fn valid_name(name: &str) -> bool {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }

    #[test]
    fn plain_topics_and_groups_stay_readable() {
        assert_eq!(topic_token("orders.order-placed"), "orders_order-placed");
        assert_eq!(group_token("inventory"), "inventory");
        assert_eq!(group_token("billing_v2"), "billing_v2");
    }

    #[test]
    fn anything_ambiguous_gets_a_hash_and_names_stay_distinct() {
        let names = [
            topic_token("a.b_c"),
            topic_token("a_b.c"),
            topic_token("a_b_c"),
            topic_token("a.b.c"),
            topic_token("a b"),
            topic_token("a.*"),
            topic_token("ä.b"),
            group_token("a.b"),
            group_token("a b"),
            group_token("a__b"),
            group_token("a/b"),
        ];
        for name in &names {
            assert!(valid_name(name), "{name:?} is not a valid JetStream name");
        }
        let distinct: std::collections::BTreeSet<_> = names[..7].iter().collect();
        assert_eq!(distinct.len(), 7, "{names:?}");
        assert_eq!(topic_token("a.b.c"), "a_b_c");
        assert!(topic_token("a_b.c").starts_with("a_b_c__"));
        assert_ne!(group_token("a.b"), group_token("a b"));
    }

    #[test]
    fn key_partitions_are_subjects_of_their_topic() {
        assert_eq!(
            partition_subject("orders.placed", 3),
            "orders.placed._key.3"
        );
        assert_eq!(topic_of_subject("orders.placed._key.3"), "orders.placed");
        assert_eq!(topic_of_subject("orders.placed"), "orders.placed");
        assert_eq!(topic_of_subject("a._key.x"), "a._key.x");
        let subjects: Vec<String> = std::iter::once("t".to_owned())
            .chain((0..4).map(|p| partition_subject("t", p)))
            .collect();
        assert_eq!(partitions_in("t", &subjects), 4);
        assert_eq!(partitions_in("t", &subjects[..1]), 0);
        assert_eq!(partitions_in("t", &[partition_subject("t", 1)]), 0);
        assert_eq!(partitions_in("other", &subjects), 0);
        // Stable: every publisher and member computes the same partition.
        assert_eq!(partition_of("customer-7", 8), partition_of("customer-7", 8));
        let spread: std::collections::BTreeSet<usize> =
            (0..64).map(|i| partition_of(&format!("k{i}"), 8)).collect();
        assert_eq!(spread.len(), 8, "64 keys should reach all 8 partitions");
        assert!(check_topic("a._key.1").is_err());
    }

    #[test]
    fn long_names_are_cut_and_hashed() {
        let long = "x".repeat(300);
        let name = group_token(&long);
        assert!(name.len() < 150);
        assert_ne!(name, group_token(&"x".repeat(301)));
    }

    #[test]
    fn topics_must_be_single_literal_subjects() {
        assert!(check_topic("orders.placed").is_ok());
        assert!(check_subject_length(&"a".repeat(MAX_SUBJECT_BYTES)).is_ok());
        let error = check_subject_length(&"a".repeat(5000)).unwrap_err();
        assert_eq!((error.part, error.size), (MessagePart::Topic, 5000));
        assert!(check_topic("a-b_c.d").is_ok());
        for bad in ["", "a..b", ".a", "a.", "a b", "a.*", "a.>", "*", "a\tb"] {
            assert!(check_topic(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn ack_subjects_are_read_in_both_forms() {
        let short = "$JS.ACK.ORDERS.billing.3.1042.17.1733580000000000000.5";
        assert_eq!(
            ack_position(short),
            Some(AckPosition {
                stream: "ORDERS",
                delivered: 3,
                stream_sequence: 1042,
            })
        );
        let long = "$JS.ACK.hub.ACCHASH.ORDERS.billing.1.7.7.1733580000000000000.0.r4nd0m";
        assert_eq!(
            ack_position(long),
            Some(AckPosition {
                stream: "ORDERS",
                delivered: 1,
                stream_sequence: 7,
            })
        );
        let eleven = "$JS.ACK.hub.ACCHASH.ORDERS.billing.2.9.4.1733580000000000000.0";
        assert_eq!(ack_position(eleven).map(|p| p.delivered), Some(2));
        for bad in [
            "orders.placed",
            "$JS.ACK.ORDERS.billing.3.1042.17.1733580000000000000",
            "$JS.ACK.hub.ORDERS.billing.3.1042.17.17335800.5",
            "$JS.ACK.ORDERS.billing.three.1042.17.1733580000000000000.5",
            "$JS.ACK.ORDERS.billing.3..17.1733580000000000000.5",
            "$JS.ACK.",
        ] {
            assert_eq!(ack_position(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_partition_subject_gives_its_topic_and_any_other_subject_itself() {
        assert_eq!(topic_of_subject("orders.placed._key.3"), "orders.placed");
        assert_eq!(topic_of_subject("orders._key.17"), "orders");
        assert_eq!(topic_of_subject("orders.placed"), "orders.placed");
        assert_eq!(topic_of_subject("orders.v2"), "orders.v2");
        assert_eq!(topic_of_subject("orders.2"), "orders.2");
        assert_eq!(topic_of_subject("orders.x_key.2"), "orders.x_key.2");
        assert_eq!(topic_of_subject("_key.2"), "_key.2");
        assert_eq!(topic_of_subject("orders._key."), "orders._key.");
        assert_eq!(topic_of_subject("orders._key.2a"), "orders._key.2a");
        assert_eq!(topic_of_subject("orders"), "orders");
    }
}
