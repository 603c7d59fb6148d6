//! Names of the Kafka topics and consumer groups accord uses, derived from
//! accord's topics and groups.
//!
//! A Kafka topic name is 1 to 249 ASCII letters, digits, `.`, `_` and
//! `-`, and neither `.` nor `..`. An accord topic is used as the Kafka
//! topic of the same name, so it must already be one: anything else is
//! refused with an error naming the character. Consumer group ids take any
//! text, so a group is the consumer group of the same name. The dead-letter
//! topic of a group keeps the group's letters, digits, `.`, `_` and `-`;
//! when anything else had to be replaced, or the name is too long, it ends
//! in `__` and a hash of the group, so two groups never share one.

use crate::broker::key_partition::fnv1a;
use crate::broker::BrokerError;

/// The longest Kafka topic name.
pub(crate) const MAX_TOPIC_CHARS: usize = 249;

/// The longest readable part of a derived name kept before the hash.
const MAX_READABLE: usize = 180;

/// Refuses `topic` unless it is a legal Kafka topic name.
pub(crate) fn check_topic(topic: &str) -> Result<(), BrokerError> {
    let refuse = |why: String| {
        Err(BrokerError::Rejected(format!(
            "`{}` cannot be a Kafka topic: {why}",
            crate::broker::limits::cap_text(topic, 80)
        )))
    };
    if topic.is_empty() {
        return refuse("it is empty".into());
    }
    if topic == "." || topic == ".." {
        return refuse("`.` and `..` are reserved".into());
    }
    if topic.len() > MAX_TOPIC_CHARS {
        return refuse(format!(
            "it is {} characters, over Kafka's {MAX_TOPIC_CHARS}",
            topic.len()
        ));
    }
    if let Some(bad) = topic.chars().find(|c| !legal(*c)) {
        return refuse(format!(
            "{bad:?} is not allowed (only ASCII letters, digits, `.`, `_` and `-`)"
        ));
    }
    Ok(())
}

fn legal(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// The dead-letter topic of `group`: `<prefix>.dead-letter.<group>`.
pub(crate) fn dead_letter_topic(prefix: &str, group: &str) -> String {
    format!("{}.dead-letter.{}", token(prefix), token(group))
}

/// The consumer group that reads `group`'s dead letters:
/// `<prefix>.dead-letters.<group>`.
pub(crate) fn dead_letter_reader(prefix: &str, group: &str) -> String {
    format!("{prefix}.dead-letters.{group}")
}

/// `name` with what a topic cannot carry replaced, hashed when changed.
fn token(name: &str) -> String {
    let mut readable: String = name
        .chars()
        .map(|c| if legal(c) { c } else { '_' })
        .collect();
    let mut exact = !name.is_empty() && readable == name && !readable.contains("__");
    if readable.len() > MAX_READABLE {
        readable.truncate(MAX_READABLE);
        exact = false;
    }
    if exact {
        readable
    } else {
        format!("{readable}__{:016x}", fnv1a(name.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_must_be_legal_kafka_names() {
        assert!(check_topic("orders.placed").is_ok());
        assert!(check_topic("a-b_c.D9").is_ok());
        assert!(check_topic(&"a".repeat(MAX_TOPIC_CHARS)).is_ok());
        for bad in ["", ".", "..", "a b", "a/b", "é", "a*"] {
            let error = check_topic(bad).unwrap_err().to_string();
            assert!(
                error.contains("cannot be a Kafka topic"),
                "{bad:?}: {error}"
            );
        }
        let error = check_topic(&"a".repeat(300)).unwrap_err().to_string();
        assert!(error.contains("over Kafka's 249"), "{error}");
    }

    #[test]
    fn dead_letter_topics_are_legal_and_distinct() {
        assert_eq!(
            dead_letter_topic("accord", "billing"),
            "accord.dead-letter.billing"
        );
        let odd = dead_letter_topic("accord", "a b");
        assert!(check_topic(&odd).is_ok(), "{odd}");
        assert_ne!(odd, dead_letter_topic("accord", "a_b"));
        let long = dead_letter_topic("accord", &"g".repeat(400));
        assert!(check_topic(&long).is_ok(), "{long}");
        assert_ne!(long, dead_letter_topic("accord", &"g".repeat(401)));
    }
}
