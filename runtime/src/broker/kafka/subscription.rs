//! Group members and their deliveries.
//!
//! A subscription is one consumer in the group's consumer group, read by
//! its own task (see the `member` module). Each delivery is settled once:
//! whoever takes its record first (a settlement, the ack-wait timer, the
//! drop) does what it says, and the others find nothing left to do. A
//! settlement of a record whose partition the member handed over since
//! is ignored (the partition's next owner reads the record again).

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::ack_wait::{AckWaits, Held};
use super::member::{pump, Context, Entry, Shared};
use super::topology::kafka_error;
use super::{names, KafkaBroker};
use crate::broker::{
    BrokerError, Capabilities, Delivery, Message, Retry, Subscribe, SubscribeOptions, Subscription,
};

/// A member of a group on a [`KafkaBroker`]: a consumer of the group's
/// consumer group.
pub struct KafkaSubscription {
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
    ack_waits: Arc<AckWaits>,
    /// The member's reading task, which ends once the member has left the
    /// group; taken by [`close`](Subscription::close).
    member: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for KafkaSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSubscription")
            .field("group", &self.shared.group)
            .finish_non_exhaustive()
    }
}

/// How long a member waits, after an assignment, for the group's
/// rebalance to settle before its subscription counts as joined.
fn settle_time(broker: &KafkaBroker) -> Duration {
    (broker.inner.options.heartbeat_interval * 3).max(Duration::from_millis(500))
}

async fn open(
    broker: &KafkaBroker,
    consumer_group: &str,
    group: &str,
    topics: Vec<String>,
    options: &SubscribeOptions,
    from_oldest: bool,
) -> Result<KafkaSubscription, BrokerError> {
    for topic in &topics {
        names::check_topic(topic)?;
    }
    let mut declare: Vec<&str> = topics.iter().map(String::as_str).collect();
    let dead_letters = broker.dead_letter_topic(group);
    declare.push(&dead_letters);
    broker.ensure_topics(&declare).await?;

    let shared = Shared::new(broker.clone(), group, from_oldest);
    let consumer: StreamConsumer<Context> = broker
        .consumer_config(consumer_group)
        .create_with_context(Context {
            shared: shared.clone(),
        })
        .map_err(|e| kafka_error(&format!("joining the group `{consumer_group}`"), e))?;
    let subscribed: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&subscribed)
        .map_err(|e| kafka_error(&format!("subscribing `{consumer_group}` to {topics:?}"), e))?;
    let mut rebalances = shared.rebalances();
    let member = tokio::spawn(pump(consumer, shared.clone(), topics.clone()));

    let join_limit = broker.inner.options.session_timeout + Duration::from_secs(10);
    let quiet = settle_time(broker);
    let joined = tokio::time::timeout(join_limit, async {
        let _ = rebalances.wait_for(|n| *n > 0).await;
        while let Ok(Ok(())) = tokio::time::timeout(quiet, rebalances.changed()).await {}
        // Records published from now on reach the group.
        while !shared.started() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let max_in_flight = options.max_in_flight.max(1);
    let subscription = KafkaSubscription {
        shared: shared.clone(),
        slots: Arc::new(Semaphore::new(max_in_flight)),
        ack_waits: AckWaits::start(options.ack_wait, max_in_flight, expire),
        member: Some(member),
    };
    if joined.is_err() {
        return Err(BrokerError::Connection(format!(
            "joining the consumer group `{consumer_group}` took longer than {join_limit:?} \
             (the session timeout and 10 s)"
        )));
    }
    Ok(subscription)
}

impl Drop for KafkaSubscription {
    fn drop(&mut self) {
        self.ack_waits.close();
        self.shared.close();
    }
}

impl Subscription for KafkaSubscription {
    type Delivery = KafkaDelivery;

    async fn next(&mut self) -> Option<KafkaDelivery> {
        let slot = self.slots.clone().acquire_owned().await.ok()?;
        loop {
            if let Some(entry) = self.shared.take_ready() {
                return Some(self.wrap(entry, slot));
            }
            if self.shared.is_closing() {
                return None;
            }
            self.shared.wait_ready().await;
        }
    }

    /// Completes once the member has left its consumer group: its
    /// deliveries still out are settled or have passed their ack wait, the
    /// partitions are committed for their next owners, and the consumer
    /// has sent its LeaveGroup. That takes at most the ack wait, the last
    /// commits' bound in librdkafka (a session timeout to find the group's
    /// coordinator, then `socket.timeout.ms`, 60 s by default, for the
    /// request), and two session timeouts (the leave and the consumer's
    /// close are each bounded by one). The subscriber waits for it at most
    /// its `close_wait`; what is left goes on in the background.
    async fn close(mut self) {
        let member = self.member.take();
        drop(self);
        if let Some(member) = member {
            if let Err(error) = member.await {
                if error.is_panic() {
                    tracing::error!(%error, "a Kafka member's reading task panicked");
                }
            }
        }
    }
}

impl KafkaSubscription {
    fn wrap(&self, entry: Entry, slot: OwnedSemaphorePermit) -> KafkaDelivery {
        let message = entry.message.clone();
        let attempt = entry.attempt;
        let held = Arc::new(Held::new(self.shared.clone(), entry));
        self.ack_waits.watch(&held);
        KafkaDelivery {
            held,
            message,
            attempt,
            _slot: slot,
        }
    }
}

/// A delivery not settled within the ack wait: the member hands its
/// partitions over, committed up to their first unsettled records, and
/// leaves the group, joining it again once the group has rebalanced
/// without it; the partitions' next owner (another member, or this one
/// where it is alone) reads the record again as its next attempt, before
/// the later records of its key. No copy is published: a copy would come
/// after the key's later records. The delivery, and every other one of
/// the partitions handed over, is fenced: settling it later does nothing.
async fn expire(shared: Arc<Shared>, entry: Entry) {
    tracing::debug!(group = %shared.group, "a delivery was not settled within the ack wait; handing the partitions over");
    shared.expired(&entry);
}

/// A delivery from a [`KafkaBroker`].
pub struct KafkaDelivery {
    held: Arc<Held>,
    message: Arc<Message>,
    attempt: u32,
    _slot: OwnedSemaphorePermit,
}

impl std::fmt::Debug for KafkaDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaDelivery")
            .field("group", &self.held.shared.group)
            .field("topic", &self.message.topic)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl KafkaDelivery {
    /// Takes the record to settle; `None` when the ack wait ran out and the
    /// partition was handed over already.
    fn take(&self) -> Option<Entry> {
        self.held.take()
    }
}

/// Hands `entry` out again after `delay` (its attempt already counted).
fn again_after(shared: Arc<Shared>, entry: Entry, delay: Duration) {
    tokio::spawn(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        shared.again(entry);
    });
}

impl Drop for KafkaDelivery {
    fn drop(&mut self) {
        if let Some(mut entry) = self.take() {
            entry.attempt += 1;
            again_after(self.held.shared.clone(), entry, Duration::ZERO);
        }
    }
}

impl Delivery for KafkaDelivery {
    fn message(&self) -> &Arc<Message> {
        &self.message
    }

    fn attempt(&self) -> u32 {
        self.attempt
    }

    async fn ack(self) -> Result<(), BrokerError> {
        if let Some(entry) = self.take() {
            self.held.shared.settle(&entry);
        }
        Ok(())
    }

    async fn dead_letter(self, reason: &str) -> Result<(), BrokerError> {
        self.dead_letter_or_retry(reason, Duration::ZERO).await
    }
}

impl Retry for KafkaDelivery {
    async fn retry(self, delay: Duration) -> Result<(), BrokerError> {
        if let Some(mut entry) = self.take() {
            entry.attempt += 1;
            again_after(self.held.shared.clone(), entry, delay);
        }
        Ok(())
    }

    async fn dead_letter_or_retry(
        self,
        reason: &str,
        retry_after: Duration,
    ) -> Result<(), BrokerError> {
        let Some(mut entry) = self.take() else {
            return Ok(());
        };
        let shared = self.held.shared.clone();
        match shared
            .broker
            .publish_dead_letter(&entry.message, &shared.group, reason, entry.attempt)
            .await
        {
            Ok(()) => {
                shared.settle(&entry);
                Ok(())
            }
            Err(error) => {
                entry.attempt += 1;
                again_after(shared, entry, retry_after);
                Err(error)
            }
        }
    }
}

impl Subscribe for KafkaBroker {
    type Subscription = KafkaSubscription;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            per_key_order: true,
            dedupes_publishes: false,
        }
    }

    async fn subscribe(&self, options: SubscribeOptions) -> Result<KafkaSubscription, BrokerError> {
        let topics = options.topics.clone();
        open(
            self,
            &options.group,
            &options.group,
            topics,
            &options,
            false,
        )
        .await
    }

    async fn dead_letters(&self, group: &str) -> Result<KafkaSubscription, BrokerError> {
        let reader = self.dead_letter_reader(group);
        let topic = self.dead_letter_topic(group);
        let options = SubscribeOptions::new(reader.clone(), [topic.clone()]);
        open(self, &reader, &reader, vec![topic], &options, true).await
    }
}
