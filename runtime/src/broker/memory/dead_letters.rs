//! Browsing and removing the dead letters the memory broker keeps: a
//! dead letter's position is its sequence in the broker. Dead letters
//! taken by a [`dead_letters`](crate::broker::Subscribe::dead_letters)
//! reader and not yet settled are not listed.

use std::collections::HashSet;

use super::state::dead_letter_group;
use super::MemoryBroker;
use crate::broker::dead_letters::MAX_PAGE;
use crate::broker::{BrokerError, DeadLetter, DeadLetters, Message};

impl DeadLetters for MemoryBroker {
    async fn group_exists(&self, group: &str) -> Result<bool, BrokerError> {
        let state = self.lock();
        Ok(
            state.groups.contains_key(group)
                || state.groups.contains_key(&dead_letter_group(group)),
        )
    }

    async fn count_dead_letters(&self, group: &str) -> Result<u64, BrokerError> {
        let state = self.lock();
        Ok(state
            .groups
            .get(&dead_letter_group(group))
            .map_or(0, |letters| letters.waiting_len() as u64))
    }

    async fn list_dead_letters(
        &self,
        group: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, BrokerError> {
        let state = self.lock();
        let Some(letters) = state.groups.get(&dead_letter_group(group)) else {
            return Ok(Vec::new());
        };
        Ok(letters
            .waiting()
            .into_iter()
            // Sequences start at 0; positions after 0 start at the oldest.
            .filter(|entry| entry.seq + 1 > after)
            .take(limit.min(MAX_PAGE))
            .map(|entry| DeadLetter {
                position: entry.seq + 1,
                message: Message::clone(&entry.message),
            })
            .collect())
    }

    async fn remove_dead_letters(
        &self,
        group: &str,
        letters: &[DeadLetter],
    ) -> Result<u64, BrokerError> {
        let mut state = self.lock();
        let Some(queue) = state.groups.get_mut(&dead_letter_group(group)) else {
            return Ok(0);
        };
        let seqs: HashSet<u64> = letters
            .iter()
            .filter(|letter| letter.position > 0)
            .map(|letter| letter.position - 1)
            .collect();
        Ok(queue.remove_waiting(|seq| seqs.contains(&seq)) as u64)
    }

    async fn purge_dead_letters(&self, group: &str) -> Result<u64, BrokerError> {
        let mut state = self.lock();
        let Some(queue) = state.groups.get_mut(&dead_letter_group(group)) else {
            return Ok(0);
        };
        Ok(queue.remove_waiting(|_| true) as u64)
    }
}
