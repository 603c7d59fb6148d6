//! The in-process broker: what examples and tests use first.
//!
//! It keeps the full at-least-once model of [`Broker`]: durable groups,
//! competing members, unsettled deliveries released on drop or after
//! `ack_wait`, retries after a delay, dead letters with their reason. It is
//! bounded: a publish waits while a group it feeds holds `capacity`
//! messages. Messages with the same key reach a group one at a time and in
//! publish order, also across retries.
//!
//! Messages published on a topic no group consumes yet are kept for the
//! first group that subscribes to it, so a subscriber that starts a moment
//! after its publisher loses nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::Instant;

use super::{
    Broker, BrokerError, Capabilities, Delivery, Message, PendingRequest, Responder,
    SubscribeOptions, Subscription, DEAD_LETTER_ATTEMPTS, DEAD_LETTER_GROUP, DEAD_LETTER_REASON,
    DEAD_LETTER_TOPIC,
};

/// The default most messages one group holds before publishes wait.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// An in-process broker. Clones share the same broker.
#[derive(Clone)]
pub struct MemoryBroker {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MemoryBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBroker")
            .field("capacity", &self.shared.capacity)
            .finish_non_exhaustive()
    }
}

struct Shared {
    state: Mutex<State>,
    /// Woken whenever a delivery may have become available.
    available: Notify,
    /// Woken whenever a group has room for more messages.
    space: Notify,
    capacity: usize,
}

#[derive(Default)]
struct State {
    groups: HashMap<String, Group>,
    topic_groups: HashMap<String, Vec<String>>,
    unclaimed: HashMap<String, VecDeque<Entry>>,
    responders: HashMap<String, Vec<mpsc::UnboundedSender<MemoryRequest>>>,
    next_seq: u64,
    next_delivery: u64,
    closed: bool,
}

#[derive(Clone)]
struct Entry {
    seq: u64,
    attempts: u32,
    message: Message,
}

struct InFlight {
    entry: Entry,
    deadline: Instant,
}

#[derive(Default)]
struct Group {
    ready: VecDeque<Entry>,
    delayed: Vec<(Instant, Entry)>,
    in_flight: HashMap<u64, InFlight>,
    /// Keys with a message in flight or waiting to be retried.
    blocked_keys: HashMap<String, usize>,
}

impl Group {
    fn len(&self) -> usize {
        self.ready.len() + self.delayed.len() + self.in_flight.len()
    }

    /// Puts an entry back in publish order.
    fn requeue(&mut self, entry: Entry) {
        let at = self.ready.partition_point(|e| e.seq < entry.seq);
        self.ready.insert(at, entry);
    }

    fn block(&mut self, key: &Option<String>) {
        if let Some(key) = key {
            *self.blocked_keys.entry(key.clone()).or_default() += 1;
        }
    }

    fn unblock(&mut self, key: &Option<String>) {
        if let Some(key) = key {
            if let Some(count) = self.blocked_keys.get_mut(key) {
                *count -= 1;
                if *count == 0 {
                    self.blocked_keys.remove(key);
                }
            }
        }
    }

    /// Moves due retries and expired deliveries back to `ready`; returns the
    /// next instant at which that needs doing again.
    fn tick(&mut self, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut due = Vec::new();
        self.delayed.retain(|(at, entry)| {
            if *at <= now {
                due.push(entry.clone());
                false
            } else {
                next = Some(next.map_or(*at, |n| n.min(*at)));
                true
            }
        });
        for entry in due {
            self.unblock(&entry.message.key);
            self.requeue(entry);
        }
        let expired: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(flight) = self.in_flight.remove(&id) {
                self.unblock(&flight.entry.message.key);
                self.requeue(flight.entry);
            }
        }
        for flight in self.in_flight.values() {
            next = Some(next.map_or(flight.deadline, |n| n.min(flight.deadline)));
        }
        next
    }

    fn take_ready(&mut self) -> Option<Entry> {
        let index = self.ready.iter().position(|e| {
            e.message
                .key
                .as_ref()
                .is_none_or(|k| !self.blocked_keys.contains_key(k))
        })?;
        self.ready.remove(index)
    }
}

fn dead_letter_group(group: &str) -> String {
    format!("dead-letter:{group}")
}

impl Default for MemoryBroker {
    fn default() -> Self {
        MemoryBroker::new()
    }
}

impl MemoryBroker {
    /// A broker whose groups hold at most [`DEFAULT_CAPACITY`] messages.
    pub fn new() -> Self {
        MemoryBroker::with_capacity(DEFAULT_CAPACITY)
    }

    /// A broker whose groups hold at most `capacity` messages each.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryBroker {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                available: Notify::new(),
                space: Notify::new(),
                capacity: capacity.max(1),
            }),
        }
    }

    /// Closes the broker: subscriptions end, publishes fail.
    pub fn close(&self) {
        self.lock().closed = true;
        self.shared.available.notify_waiters();
        self.shared.space.notify_waiters();
    }

    /// How many messages `group` holds: waiting, delayed or in flight.
    pub fn pending(&self, group: &str) -> usize {
        self.lock().groups.get(group).map_or(0, Group::len)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent state: every
        // mutation is completed before anything that can panic.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn declare(&self, group: &str, topics: &[String]) {
        let mut guard = self.lock();
        let state = &mut *guard;
        state.groups.entry(group.to_owned()).or_default();
        for topic in topics {
            let groups = state.topic_groups.entry(topic.clone()).or_default();
            if groups.iter().any(|g| g == group) {
                continue;
            }
            groups.push(group.to_owned());
            if let Some(unclaimed) = state.unclaimed.remove(topic) {
                let target = state.groups.get_mut(group).expect("declared above");
                for entry in unclaimed {
                    target.requeue(entry);
                }
            }
        }
        drop(guard);
        self.shared.available.notify_waiters();
    }

    fn open(&self, options: SubscribeOptions) -> MemorySubscription {
        MemorySubscription {
            broker: self.clone(),
            group: options.group,
            max_in_flight: options.max_in_flight.max(1),
            ack_wait: options.ack_wait,
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn settle(&self, group: &str, delivery: u64, how: Settle) {
        let mut state = self.lock();
        let Some(g) = state.groups.get_mut(group) else {
            return;
        };
        // A delivery whose ack wait ran out was already given to another
        // member; settling the stale one changes nothing.
        let Some(flight) = g.in_flight.remove(&delivery) else {
            return;
        };
        let entry = flight.entry;
        match how {
            Settle::Ack => {
                g.unblock(&entry.message.key);
                drop(state);
                self.shared.space.notify_waiters();
            }
            Settle::Release => {
                g.unblock(&entry.message.key);
                g.requeue(entry);
            }
            Settle::Retry(delay) => {
                // The key stays blocked until the retry is due, so later
                // messages with the same key keep their order.
                g.delayed.push((Instant::now() + delay, entry));
            }
            Settle::DeadLetter(reason) => {
                g.unblock(&entry.message.key);
                let mut message = entry.message;
                message.headers.insert(DEAD_LETTER_REASON.into(), reason);
                message
                    .headers
                    .insert(DEAD_LETTER_ATTEMPTS.into(), entry.attempts.to_string());
                message
                    .headers
                    .insert(DEAD_LETTER_TOPIC.into(), message.topic.clone());
                message
                    .headers
                    .insert(DEAD_LETTER_GROUP.into(), group.to_owned());
                let seq = state.next_seq;
                state.next_seq += 1;
                state
                    .groups
                    .entry(dead_letter_group(group))
                    .or_default()
                    .ready
                    .push_back(Entry {
                        seq,
                        attempts: 0,
                        message,
                    });
                drop(state);
                self.shared.space.notify_waiters();
            }
        }
        self.shared.available.notify_waiters();
    }
}

enum Settle {
    Ack,
    Release,
    Retry(Duration),
    DeadLetter(String),
}

impl Broker for MemoryBroker {
    type Subscription = MemorySubscription;
    type Responder = MemoryResponder;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            per_key_order: true,
            dedupes_publishes: false,
        }
    }

    async fn publish(&self, message: Message) -> Result<(), BrokerError> {
        let mut entry = Some(message);
        loop {
            let space = self.shared.space.notified();
            tokio::pin!(space);
            space.as_mut().enable();
            {
                let mut state = self.lock();
                if state.closed {
                    return Err(BrokerError::Closed);
                }
                let message = entry.take().expect("put back below when waiting");
                let targets = state
                    .topic_groups
                    .get(&message.topic)
                    .cloned()
                    .unwrap_or_default();
                let full = if targets.is_empty() {
                    state
                        .unclaimed
                        .get(&message.topic)
                        .is_some_and(|q| q.len() >= self.shared.capacity)
                } else {
                    targets.iter().any(|g| {
                        state
                            .groups
                            .get(g)
                            .is_some_and(|g| g.len() >= self.shared.capacity)
                    })
                };
                if !full {
                    let seq = state.next_seq;
                    state.next_seq += 1;
                    if targets.is_empty() {
                        let topic = message.topic.clone();
                        state.unclaimed.entry(topic).or_default().push_back(Entry {
                            seq,
                            attempts: 0,
                            message,
                        });
                    } else {
                        for group in &targets {
                            if let Some(g) = state.groups.get_mut(group) {
                                g.ready.push_back(Entry {
                                    seq,
                                    attempts: 0,
                                    message: message.clone(),
                                });
                            }
                        }
                    }
                    drop(state);
                    self.shared.available.notify_waiters();
                    return Ok(());
                }
                entry = Some(message);
            }
            space.await;
        }
    }

    async fn subscribe(
        &self,
        options: SubscribeOptions,
    ) -> Result<MemorySubscription, BrokerError> {
        if self.lock().closed {
            return Err(BrokerError::Closed);
        }
        self.declare(&options.group, &options.topics);
        Ok(self.open(options))
    }

    async fn dead_letters(&self, group: &str) -> Result<MemorySubscription, BrokerError> {
        let name = dead_letter_group(group);
        self.declare(&name, &[]);
        Ok(self.open(SubscribeOptions::new(name, Vec::<String>::new())))
    }

    async fn request(&self, message: Message, timeout: Duration) -> Result<Message, BrokerError> {
        let (reply_tx, reply_rx) = oneshot::channel();
        let topic = message.topic.clone();
        let mut request = Some(MemoryRequest {
            message,
            reply: reply_tx,
        });
        {
            let mut state = self.lock();
            if state.closed {
                return Err(BrokerError::Closed);
            }
            let Some(responders) = state.responders.get_mut(&topic) else {
                return Err(BrokerError::NoResponders(topic));
            };
            // Round robin over the live responders.
            while !responders.is_empty() {
                let responder = responders.remove(0);
                match responder.send(request.take().expect("sent at most once")) {
                    Ok(()) => {
                        responders.push(responder);
                        break;
                    }
                    Err(mpsc::error::SendError(back)) => request = Some(back),
                }
            }
            if request.is_some() {
                return Err(BrokerError::NoResponders(topic));
            }
        }
        match tokio::time::timeout(timeout, reply_rx).await {
            Err(_) => Err(BrokerError::Timeout(timeout)),
            Ok(Err(_)) => Err(BrokerError::Rejected(format!(
                "the server on `{topic}` dropped the request without replying"
            ))),
            Ok(Ok(reply)) => Ok(reply),
        }
    }

    async fn respond(&self, topic: &str, _group: &str) -> Result<MemoryResponder, BrokerError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut state = self.lock();
        if state.closed {
            return Err(BrokerError::Closed);
        }
        state
            .responders
            .entry(topic.to_owned())
            .or_default()
            .push(tx);
        Ok(MemoryResponder { requests: rx })
    }
}

/// A member of a group on a [`MemoryBroker`].
#[derive(Debug)]
pub struct MemorySubscription {
    broker: MemoryBroker,
    group: String,
    max_in_flight: usize,
    ack_wait: Duration,
    in_flight: Arc<AtomicUsize>,
}

impl Subscription for MemorySubscription {
    type Delivery = MemoryDelivery;

    async fn next(&mut self) -> Option<MemoryDelivery> {
        loop {
            let available = self.broker.shared.available.notified();
            tokio::pin!(available);
            available.as_mut().enable();
            let wake_at = {
                let mut state = self.broker.lock();
                if state.closed {
                    return None;
                }
                let now = Instant::now();
                let delivery_id = state.next_delivery;
                let group = state.groups.get_mut(&self.group)?;
                let wake_at = group.tick(now);
                if self.in_flight.load(Ordering::Acquire) < self.max_in_flight {
                    if let Some(mut entry) = group.take_ready() {
                        entry.attempts += 1;
                        group.block(&entry.message.key);
                        group.in_flight.insert(
                            delivery_id,
                            InFlight {
                                entry: entry.clone(),
                                deadline: now + self.ack_wait,
                            },
                        );
                        state.next_delivery += 1;
                        self.in_flight.fetch_add(1, Ordering::AcqRel);
                        return Some(MemoryDelivery {
                            broker: self.broker.clone(),
                            group: self.group.clone(),
                            id: delivery_id,
                            attempt: entry.attempts,
                            message: entry.message,
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

/// A delivery from a [`MemoryBroker`].
#[derive(Debug)]
pub struct MemoryDelivery {
    broker: MemoryBroker,
    group: String,
    id: u64,
    attempt: u32,
    message: Message,
    member_in_flight: Arc<AtomicUsize>,
    settled: bool,
}

impl MemoryDelivery {
    fn finish(mut self, how: Settle) {
        self.settled = true;
        self.member_in_flight.fetch_sub(1, Ordering::AcqRel);
        self.broker.settle(&self.group, self.id, how);
    }
}

impl Drop for MemoryDelivery {
    fn drop(&mut self) {
        if !self.settled {
            self.member_in_flight.fetch_sub(1, Ordering::AcqRel);
            self.broker.settle(&self.group, self.id, Settle::Release);
        }
    }
}

impl Delivery for MemoryDelivery {
    fn message(&self) -> &Message {
        &self.message
    }

    fn attempt(&self) -> u32 {
        self.attempt
    }

    async fn ack(self) -> Result<(), BrokerError> {
        self.finish(Settle::Ack);
        Ok(())
    }

    async fn retry(self, delay: Duration) -> Result<(), BrokerError> {
        self.finish(Settle::Retry(delay));
        Ok(())
    }

    async fn dead_letter(self, reason: &str) -> Result<(), BrokerError> {
        self.finish(Settle::DeadLetter(
            super::limits::dead_letter_reason(reason).into_owned(),
        ));
        Ok(())
    }
}

/// A request server on a [`MemoryBroker`].
#[derive(Debug)]
pub struct MemoryResponder {
    requests: mpsc::UnboundedReceiver<MemoryRequest>,
}

impl Responder for MemoryResponder {
    type Request = MemoryRequest;

    async fn next(&mut self) -> Option<MemoryRequest> {
        self.requests.recv().await
    }
}

/// A request waiting for its reply on a [`MemoryBroker`].
#[derive(Debug)]
pub struct MemoryRequest {
    message: Message,
    reply: oneshot::Sender<Message>,
}

impl PendingRequest for MemoryRequest {
    fn message(&self) -> &Message {
        &self.message
    }

    async fn reply(self, reply: Message) -> Result<(), BrokerError> {
        self.reply.send(reply).map_err(|_| BrokerError::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(topic: &str, body: &str) -> Message {
        Message::new(topic, body.to_owned())
    }

    #[tokio::test]
    async fn messages_before_the_first_group_are_kept_for_it() {
        let broker = MemoryBroker::new();
        broker.publish(msg("t", "early")).await.unwrap();
        let mut sub = broker
            .subscribe(SubscribeOptions::new("g", ["t"]))
            .await
            .unwrap();
        let d = sub.next().await.unwrap();
        assert_eq!(&d.message().payload[..], b"early");
        d.ack().await.unwrap();
        assert_eq!(broker.pending("g"), 0);
    }

    #[tokio::test]
    async fn a_full_group_makes_publishers_wait() {
        let broker = MemoryBroker::with_capacity(2);
        let mut sub = broker
            .subscribe(SubscribeOptions::new("g", ["t"]))
            .await
            .unwrap();
        broker.publish(msg("t", "1")).await.unwrap();
        broker.publish(msg("t", "2")).await.unwrap();
        let third = tokio::spawn({
            let broker = broker.clone();
            async move { broker.publish(msg("t", "3")).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!third.is_finished(), "the publish should wait for room");
        sub.next().await.unwrap().ack().await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), third)
            .await
            .expect("the publish goes through once there is room")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn an_expired_delivery_goes_to_another_member_and_its_late_ack_is_ignored() {
        let broker = MemoryBroker::new();
        let options = SubscribeOptions::new("g", ["t"]).ack_wait(Duration::from_millis(50));
        let mut stuck = broker.subscribe(options.clone()).await.unwrap();
        let mut other = broker.subscribe(options).await.unwrap();
        broker.publish(msg("t", "x")).await.unwrap();
        let first = stuck.next().await.unwrap();
        let second = tokio::time::timeout(Duration::from_secs(5), other.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(second.attempt(), 2);
        first.ack().await.unwrap();
        assert_eq!(
            broker.pending("g"),
            1,
            "the redelivered copy is still unsettled"
        );
        second.ack().await.unwrap();
        assert_eq!(broker.pending("g"), 0);
    }
}
