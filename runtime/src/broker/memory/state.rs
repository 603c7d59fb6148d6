//! The broker's state behind its one lock: the groups, which topics feed
//! them, the backlog kept for topics no group consumes yet, and the rules
//! for admitting a message.

use std::collections::VecDeque;
use std::sync::Arc;

use foldhash::HashMap;
use tokio::sync::{mpsc, Notify};

use super::group::Group;
use super::options::MemoryLimits;
use super::queue::{Entry, Usage};
use super::request::MemoryRequest;
use crate::broker::{BrokerError, Message};

/// The name under which a group's dead letters are kept.
pub(super) fn dead_letter_group(group: &str) -> String {
    format!("dead-letter:{group}")
}

/// Messages published on topics no group consumes yet, kept for the first
/// group that does, within one bound over all topics.
#[derive(Debug, Default)]
pub(super) struct Unclaimed {
    topics: HashMap<String, VecDeque<Entry>>,
    pub(super) usage: Usage,
    /// Woken when the backlog may have room again.
    pub(super) space: Arc<Notify>,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) groups: HashMap<String, Group>,
    topic_groups: HashMap<String, Vec<String>>,
    pub(super) unclaimed: Unclaimed,
    pub(super) responders: HashMap<String, Vec<mpsc::Sender<MemoryRequest>>>,
    next_seq: u64,
    next_delivery: u64,
    pub(super) closed: bool,
}

/// Why a message was not admitted yet.
#[derive(Debug)]
pub(super) struct Full {
    /// Woken when the full queue may have room.
    pub(super) space: Arc<Notify>,
    /// Which queue is full and what it holds, for the error if it stays
    /// full.
    pub(super) what: String,
}

impl State {
    pub(super) fn next_delivery(&mut self) -> u64 {
        let id = self.next_delivery;
        self.next_delivery += 1;
        id
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Declares `group` on `topics`; the first group on a topic takes what
    /// was kept for it. Returns whether the unclaimed backlog shrank.
    pub(super) fn declare(&mut self, group: &str, topics: &[String]) -> bool {
        if !self.groups.contains_key(group) {
            self.groups.insert(group.to_owned(), Group::default());
        }
        let mut claimed = false;
        for topic in topics {
            let groups = self.topic_groups.entry(topic.clone()).or_default();
            if groups.iter().any(|g| g == group) {
                continue;
            }
            groups.push(group.to_owned());
            if let Some(kept) = self.unclaimed.topics.remove(topic) {
                let target = self.groups.get_mut(group).expect("declared above");
                for entry in kept {
                    self.unclaimed.usage.remove(entry.size);
                    target.claim(entry);
                }
                claimed = true;
            }
        }
        claimed
    }

    /// Admits `message` to every group its topic feeds, or to the
    /// unclaimed backlog, all or nothing, and returns the wake-ups of the
    /// groups that can deliver it now. `Ok(Err(full))` when a queue it goes
    /// to is full; `Err` when the message can never be admitted.
    pub(super) fn offer(
        &mut self,
        message: &Arc<Message>,
        size: usize,
        limits: &MemoryLimits,
    ) -> Result<Result<Vec<Arc<Notify>>, Full>, BrokerError> {
        let topic = message.topic.as_str();
        let targets = self.topic_groups.get(topic).filter(|g| !g.is_empty());
        let Some(targets) = targets else {
            if size > limits.unclaimed_max_bytes {
                return Err(too_large(
                    size,
                    topic,
                    limits.unclaimed_max_bytes,
                    "the backlog kept for topics no group consumes yet",
                    "unclaimed_max_bytes",
                ));
            }
            let usage = self.unclaimed.usage;
            if !usage.has_room(
                size,
                limits.unclaimed_max_messages,
                limits.unclaimed_max_bytes,
            ) {
                return Ok(Err(Full {
                    space: self.unclaimed.space.clone(),
                    what: format!(
                        "no group consumes topic `{topic}` yet, and the backlog kept for the \
                         first one is full: {}",
                        holds(
                            usage,
                            limits.unclaimed_max_messages,
                            limits.unclaimed_max_bytes
                        )
                    ),
                }));
            }
            let seq = self.next_seq();
            self.unclaimed.usage.add(size);
            let entry = Entry::new(seq, message.clone(), size);
            self.unclaimed
                .topics
                .entry(topic.to_owned())
                .or_default()
                .push_back(entry);
            return Ok(Ok(Vec::new()));
        };
        if size > limits.max_bytes {
            return Err(too_large(
                size,
                topic,
                limits.max_bytes,
                "a group",
                "max_bytes",
            ));
        }
        for name in targets {
            let group = self
                .groups
                .get(name)
                .expect("a topic's groups are declared");
            let usage = group.usage();
            if !usage.has_room(size, limits.max_messages, limits.max_bytes) {
                return Ok(Err(Full {
                    space: group.space.clone(),
                    what: format!(
                        "group `{name}` on topic `{topic}` is full: {}",
                        holds(usage, limits.max_messages, limits.max_bytes)
                    ),
                }));
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut woken = Vec::new();
        for name in targets {
            let group = self
                .groups
                .get_mut(name)
                .expect("a topic's groups are declared");
            if group.push(Entry::new(seq, message.clone(), size)) {
                woken.push(group.available.clone());
            }
        }
        Ok(Ok(woken))
    }

    /// Whether `group`'s dead letters have room for one of `size` bytes;
    /// creates them on first use.
    pub(super) fn dead_letter_room(
        &mut self,
        group: &str,
        size: usize,
        limits: &MemoryLimits,
    ) -> Result<(), Full> {
        let name = dead_letter_group(group);
        let letters = self.groups.entry(name).or_default();
        let usage = letters.usage();
        if usage.has_room(size, limits.max_messages, limits.max_bytes) {
            Ok(())
        } else {
            Err(Full {
                space: letters.space.clone(),
                what: format!(
                    "the dead letters of group `{group}` are full: {}",
                    holds(usage, limits.max_messages, limits.max_bytes)
                ),
            })
        }
    }

    /// Adds a dead letter to `group`'s dead letters, which
    /// [`dead_letter_room`](Self::dead_letter_room) found room in; returns
    /// their wake-up.
    pub(super) fn push_dead_letter(
        &mut self,
        group: &str,
        message: Message,
        size: usize,
    ) -> Arc<Notify> {
        let seq = self.next_seq();
        let letters = self
            .groups
            .get_mut(&dead_letter_group(group))
            .expect("created when its room was checked");
        letters.push(Entry::new(seq, Arc::new(message), size));
        letters.available.clone()
    }

    /// Every notifier a waiter may be parked on, to wake them all at close.
    pub(super) fn all_notifiers(&self) -> Vec<Arc<Notify>> {
        let mut all = vec![self.unclaimed.space.clone()];
        for group in self.groups.values() {
            all.push(group.available.clone());
            all.push(group.space.clone());
        }
        all
    }
}

fn too_large(
    size: usize,
    topic: &str,
    max_bytes: usize,
    holder: &str,
    setting: &str,
) -> BrokerError {
    BrokerError::Rejected(format!(
        "a message of {size} bytes on topic `{topic}` is larger than the {max_bytes} bytes \
         {holder} may hold in the memory broker, so it can never be accepted (raise \
         `MemoryBroker::builder().{setting}`)"
    ))
}

fn holds(usage: Usage, max_messages: usize, max_bytes: usize) -> String {
    format!(
        "it holds {} messages (at most {max_messages}) and {} bytes (at most {max_bytes})",
        usage.messages, usage.bytes
    )
}
