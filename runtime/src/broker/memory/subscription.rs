//! Group members and their deliveries.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::queue::message_size;
use super::state::Full;
use super::MemoryBroker;
use crate::broker::{
    BrokerError, Delivery, Message, Retry, Subscription, DEAD_LETTER_ATTEMPTS, DEAD_LETTER_GROUP,
    DEAD_LETTER_REASON, DEAD_LETTER_TOPIC,
};

/// A member of a group on a [`MemoryBroker`].
#[derive(Debug)]
pub struct MemorySubscription {
    pub(super) broker: MemoryBroker,
    pub(super) group: Arc<str>,
    /// The group's wake-up for new deliveries; groups are never removed,
    /// so this stays the group's.
    pub(super) available: Arc<Notify>,
    pub(super) max_in_flight: usize,
    pub(super) ack_wait: Duration,
    pub(super) in_flight: Arc<AtomicUsize>,
}

impl Subscription for MemorySubscription {
    type Delivery = MemoryDelivery;

    async fn next(&mut self) -> Option<MemoryDelivery> {
        loop {
            let available = self.available.notified();
            tokio::pin!(available);
            available.as_mut().enable();
            let wake_at = {
                let mut state = self.broker.lock();
                if state.closed {
                    return None;
                }
                let now = Instant::now();
                let id = state.next_delivery();
                let group = state.groups.get_mut(&*self.group)?;
                let wake_at = group.tick(now);
                if self.in_flight.load(Ordering::Acquire) < self.max_in_flight {
                    if let Some(mut entry) = group.take() {
                        entry.attempts += 1;
                        let attempt = entry.attempts;
                        let message = entry.message.clone();
                        group.lend(id, entry, now + self.ack_wait);
                        self.in_flight.fetch_add(1, Ordering::AcqRel);
                        return Some(MemoryDelivery {
                            broker: self.broker.clone(),
                            group: self.group.clone(),
                            id,
                            attempt,
                            message,
                            member_in_flight: self.in_flight.clone(),
                            settled: false,
                        });
                    }
                }
                wake_at
            };
            match wake_at {
                Some(at) => {
                    tokio::select! {
                        _ = &mut available => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => available.await,
            }
        }
    }
}

/// A delivery from a [`MemoryBroker`]. It shares the published message:
/// no delivery copies it.
#[derive(Debug)]
pub struct MemoryDelivery {
    broker: MemoryBroker,
    group: Arc<str>,
    id: u64,
    attempt: u32,
    message: Arc<Message>,
    member_in_flight: Arc<AtomicUsize>,
    settled: bool,
}

enum Settle {
    Ack,
    Release,
    Retry(Duration),
}

impl MemoryDelivery {
    /// Marks this delivery settled for its member.
    fn close(&mut self) {
        self.settled = true;
        self.member_in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    fn finish(mut self, how: Settle) {
        self.close();
        self.broker.settle(&self.group, self.id, how);
    }

    /// The dead letter for this delivery: the message with the dead-letter
    /// headers, and its size.
    fn letter(&self, reason: &str) -> (Message, usize) {
        // The one copy of the message the broker makes: a dead letter
        // carries headers the delivered message does not.
        let mut message = Message::clone(&self.message);
        message.headers.insert(
            DEAD_LETTER_REASON,
            crate::broker::limits::dead_letter_reason(reason),
        );
        message
            .headers
            .insert(DEAD_LETTER_ATTEMPTS, self.attempt.to_string());
        message.headers.insert(DEAD_LETTER_TOPIC, &message.topic);
        message.headers.insert(DEAD_LETTER_GROUP, &*self.group);
        let size = message_size(&message);
        (message, size)
    }
}

impl Drop for MemoryDelivery {
    fn drop(&mut self) {
        if !self.settled {
            self.close();
            self.broker.settle(&self.group, self.id, Settle::Release);
        }
    }
}

impl Delivery for MemoryDelivery {
    fn message(&self) -> &Arc<Message> {
        &self.message
    }

    fn attempt(&self) -> u32 {
        self.attempt
    }

    async fn ack(self) -> Result<(), BrokerError> {
        self.finish(Settle::Ack);
        Ok(())
    }

    /// Moves the message to the group's dead letters. While they are full
    /// this waits, up to the broker's publish wait, for room; then it fails
    /// and the message is released to be delivered again. It also fails
    /// when the delivery's ack wait ran out first: the message was then
    /// given to another member.
    async fn dead_letter(self, reason: &str) -> Result<(), BrokerError> {
        self.dead_letter_within(reason, None).await
    }
}

impl Retry for MemoryDelivery {
    async fn retry(self, delay: Duration) -> Result<(), BrokerError> {
        self.finish(Settle::Retry(delay));
        Ok(())
    }

    /// As [`dead_letter`](Self::dead_letter), but a message whose dead
    /// letters stayed full comes back after `retry_after` rather than at
    /// once.
    async fn dead_letter_or_retry(
        self,
        reason: &str,
        retry_after: Duration,
    ) -> Result<(), BrokerError> {
        self.dead_letter_within(reason, Some(retry_after)).await
    }
}

impl MemoryDelivery {
    /// Dead-letters the message, waiting up to the publish wait for room;
    /// when none came, the message goes back to its group, after
    /// `retry_after` if given.
    async fn dead_letter_within(
        mut self,
        reason: &str,
        retry_after: Option<Duration>,
    ) -> Result<(), BrokerError> {
        let (letter, size) = self.letter(reason);
        let mut letter = Some(letter);
        let limits = self.broker.limits();
        let deadline = Instant::now() + limits.publish_wait;
        let mut expired = false;
        loop {
            let full = match self.try_dead_letter(&mut letter, size) {
                Ok(done) => return done,
                Err(full) => full,
            };
            // Register for room, then look again: room made before the
            // registration is seen by the second look, room made after it
            // ends the wait.
            let space = full.space.notified();
            tokio::pin!(space);
            space.as_mut().enable();
            let again = match self.try_dead_letter(&mut letter, size) {
                Ok(done) => return done,
                Err(again) => again,
            };
            if expired {
                let error = BrokerError::Rejected(format!(
                    "{}; no room within {:?}, so the message goes to group `{}` again",
                    again.what, limits.publish_wait, self.group
                ));
                match retry_after {
                    Some(delay) => self.finish(Settle::Retry(delay)),
                    // Dropping `self` releases the message to the group.
                    None => drop(self),
                }
                return Err(error);
            }
            if tokio::time::timeout_at(deadline, space).await.is_err() {
                expired = true;
            }
        }
    }
}

impl MemoryDelivery {
    /// Moves the message to the dead letters if they have room: `Ok` with
    /// the outcome once there is nothing more to wait for.
    fn try_dead_letter(
        &mut self,
        letter: &mut Option<Message>,
        size: usize,
    ) -> Result<Result<(), BrokerError>, Full> {
        let limits = self.broker.limits();
        let mut state = self.broker.lock();
        if state.closed {
            return Ok(Err(BrokerError::Closed));
        }
        let lent = state
            .groups
            .get(&*self.group)
            .is_some_and(|g| g.is_lent(self.id));
        if !lent {
            // The message was given to another member: nothing to settle.
            drop(state);
            self.close();
            return Ok(Err(BrokerError::Rejected(format!(
                "the delivery's ack wait ran out before it was dead-lettered; the message \
                 goes to group `{}` again",
                self.group
            ))));
        }
        state.dead_letter_room(&self.group, size, &limits)?;
        let group = state.groups.get_mut(&*self.group).expect("checked above");
        let entry = group.settle(self.id).expect("checked above");
        group.finish(&entry);
        let (space, available) = (group.space.clone(), group.available.clone());
        let letter = letter.take().expect("dead-lettered once");
        let letters = state.push_dead_letter(&self.group, letter, size);
        drop(state);
        self.close();
        space.notify_waiters();
        available.notify_waiters();
        letters.notify_waiters();
        Ok(Ok(()))
    }
}

impl MemoryBroker {
    fn settle(&self, group: &str, id: u64, how: Settle) {
        let mut state = self.lock();
        let Some(g) = state.groups.get_mut(group) else {
            return;
        };
        // A delivery whose ack wait ran out was already given to another
        // member; settling the stale one changes nothing.
        let Some(entry) = g.settle(id) else {
            return;
        };
        match how {
            Settle::Ack => {
                g.finish(&entry);
                let space = g.space.clone();
                // Members wait for a message to become ready or for their
                // own deliveries to settle; with nothing ready, the next
                // message to become ready wakes them.
                let available = g.has_ready().then(|| g.available.clone());
                drop(state);
                space.notify_waiters();
                if let Some(available) = available {
                    available.notify_waiters();
                }
            }
            Settle::Release => {
                g.put_back(entry);
                let available = g.available.clone();
                drop(state);
                available.notify_waiters();
            }
            Settle::Retry(delay) => {
                g.delay(entry, Instant::now() + delay);
                let available = g.available.clone();
                drop(state);
                // Members sleeping until the next due time must learn of
                // an earlier one.
                available.notify_waiters();
            }
        }
    }
}
