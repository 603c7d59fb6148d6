//! Reading, replaying and purging a group's dead letters, on any backend
//! that implements [`DeadLetters`].
//!
//! A dead letter is listed with its **position**: where the backend keeps
//! it, oldest first (a JetStream stream sequence, a place in a RabbitMQ
//! queue at the time of listing, a sequence in the memory broker). Pages
//! go by position: [`DeadLetters::list_dead_letters`] returns those after
//! a position, at most [`MAX_PAGE`] at a time.
//!
//! **Replay** publishes a dead letter again on the topic it was published
//! on, with its event id (`ce-id`) and every other header it had, marked
//! for the group that gave up on it ([`REPLAY_GROUP`]) and numbered
//! ([`REPLAY`]), and then removes it from the dead letters:
//!
//! - other groups on the topic acknowledge and skip it, whatever their
//!   dedupe remembers, so a replay reaches the one group it is for;
//! - that group's subscriber dedupes it by event id and replay number, so
//!   the same dead letter replayed twice (the removal after a replay failed,
//!   say) is handled once, while an event dead-lettered again after a replay
//!   can be replayed again;
//! - the handler sees the original event id, so dedupe an application
//!   keeps by event id still holds.
//!
//! A replay is published before the dead letter is removed: a failure in
//! between leaves the dead letter in place, and replaying it again is
//! harmless (see above).

use std::collections::BTreeSet;

use super::{
    BrokerError, DeadLetters, Message, Publish, DEAD_LETTER_ATTEMPTS, DEAD_LETTER_GROUP,
    DEAD_LETTER_REASON, DEAD_LETTER_TOPIC,
};

/// Header: the group a replayed dead letter is for; other groups skip it.
pub const REPLAY_GROUP: &str = "accord-replay-group";
/// Header: how many times this event was replayed from the dead letters,
/// from 1. With the event id it is what the group dedupes a replay by.
pub const REPLAY: &str = "accord-replay";

/// How many dead letters a page holds unless asked otherwise: 20.
pub const DEFAULT_PAGE: usize = 20;
/// The most dead letters one page holds: 1,000.
pub const MAX_PAGE: usize = 1000;
/// The most dead letters one replay or selective purge looks through:
/// 10,000. Larger backlogs are worked through in several runs.
pub const MAX_SCAN: usize = 10_000;

/// One dead letter of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Where the backend keeps it; later dead letters have larger positions.
    pub position: u64,
    /// The message as dead-lettered: its topic is the topic it was
    /// published on, its headers include the `accord-dead-letter-*` ones.
    pub message: Message,
}

impl DeadLetter {
    /// The event id (`ce-id`), if it has one.
    pub fn event_id(&self) -> Option<&str> {
        self.message.id()
    }

    /// Why the group gave up on it.
    pub fn reason(&self) -> Option<&str> {
        self.message.header(DEAD_LETTER_REASON)
    }

    /// How many delivery attempts it had.
    pub fn attempts(&self) -> Option<u32> {
        self.message.header(DEAD_LETTER_ATTEMPTS)?.parse().ok()
    }

    /// The topic it was published on.
    pub fn topic(&self) -> &str {
        self.message
            .header(DEAD_LETTER_TOPIC)
            .unwrap_or(&self.message.topic)
    }

    /// How many times it was replayed before it was dead-lettered again.
    pub fn replays(&self) -> u32 {
        replay_count(&self.message)
    }

    /// The message a replay publishes for `group`: the original topic,
    /// key, payload and headers (the event id among them), without the
    /// dead-letter headers, marked for `group` with the next replay number.
    pub fn replay_message(&self, group: &str) -> Message {
        let mut message = self.message.clone();
        message.topic = self.topic().to_owned();
        for header in [
            DEAD_LETTER_REASON,
            DEAD_LETTER_ATTEMPTS,
            DEAD_LETTER_TOPIC,
            DEAD_LETTER_GROUP,
        ] {
            message.headers.remove(header);
        }
        let next = replay_count(&self.message).saturating_add(1);
        message.headers.insert(REPLAY_GROUP, group);
        message.headers.insert(REPLAY, next.to_string());
        message
    }
}

/// The replay number of `message`; 0 when it is not a replay.
pub fn replay_count(message: &Message) -> u32 {
    message
        .header(REPLAY)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Which dead letters an operation takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every dead letter of the group (up to [`MAX_SCAN`]).
    All,
    /// Those with one of these event ids.
    Ids(BTreeSet<String>),
}

impl Selection {
    /// Whether `letter` is selected.
    pub fn matches(&self, letter: &DeadLetter) -> bool {
        match self {
            Selection::All => true,
            Selection::Ids(ids) => letter.event_id().is_some_and(|id| ids.contains(id)),
        }
    }
}

/// The dead letters of `group` that `selection` takes, oldest first, up to
/// [`MAX_SCAN`] looked through.
pub async fn select_dead_letters<B: DeadLetters>(
    broker: &B,
    group: &str,
    selection: &Selection,
) -> Result<Vec<DeadLetter>, BrokerError> {
    let mut selected = Vec::new();
    let mut after = 0;
    let mut seen = 0;
    while seen < MAX_SCAN {
        let page = broker
            .list_dead_letters(group, after, MAX_PAGE.min(MAX_SCAN - seen))
            .await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.position;
        seen += page.len();
        selected.extend(page.into_iter().filter(|l| selection.matches(l)));
    }
    Ok(selected)
}

/// Replays the dead letters of `group` that `selection` takes: publishes
/// each again (see the module docs), then removes those published.
/// Returns the dead letters replayed.
///
/// A publish that fails stops the replay with its error; the dead letters
/// replayed before it are removed first, so nothing is published twice by
/// running the replay again.
pub async fn replay_dead_letters<B: DeadLetters + Publish>(
    broker: &B,
    group: &str,
    selection: &Selection,
) -> Result<Vec<DeadLetter>, BrokerError> {
    let letters = select_dead_letters(broker, group, selection).await?;
    let mut replayed = Vec::with_capacity(letters.len());
    let mut failure = None;
    for letter in letters {
        match broker.publish(letter.replay_message(group)).await {
            Ok(()) => replayed.push(letter),
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    if !replayed.is_empty() {
        broker.remove_dead_letters(group, &replayed).await?;
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(replayed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(id: &str) -> DeadLetter {
        DeadLetter {
            position: 7,
            message: Message::new("orders.placed", "{}")
                .with_header("ce-id", id)
                .with_header(DEAD_LETTER_REASON, "boom")
                .with_header(DEAD_LETTER_ATTEMPTS, "3")
                .with_header(DEAD_LETTER_TOPIC, "orders.placed")
                .with_header(DEAD_LETTER_GROUP, "billing"),
        }
    }

    #[test]
    fn a_replay_keeps_the_event_and_is_marked_for_its_group() {
        let first = letter("e-1").replay_message("billing");
        assert_eq!(first.topic, "orders.placed");
        assert_eq!(first.id(), Some("e-1"));
        assert_eq!(first.header(REPLAY_GROUP), Some("billing"));
        assert_eq!(first.header(REPLAY), Some("1"));
        assert_eq!(first.header(DEAD_LETTER_REASON), None);
        // Dead-lettered again after the replay, then replayed again.
        let again = DeadLetter {
            position: 9,
            message: first.with_header(DEAD_LETTER_REASON, "boom again"),
        };
        assert_eq!(again.replays(), 1);
        assert_eq!(again.replay_message("billing").header(REPLAY), Some("2"));
    }

    #[test]
    fn a_selection_by_id_takes_only_those() {
        let ids = Selection::Ids(["e-1".to_owned()].into());
        assert!(ids.matches(&letter("e-1")));
        assert!(!ids.matches(&letter("e-2")));
        assert!(Selection::All.matches(&letter("e-2")));
    }
}
