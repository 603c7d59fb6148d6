//! Group members and their deliveries.
//!
//! A subscription is one consumer on its own channel of the consuming
//! connection, with the prefetch set to `max_in_flight`. When the consumer
//! ends (the connection dropped, the broker cancelled it), the next call to
//! [`next`](Subscription::next) declares the group again and consumes anew,
//! waiting a capped exponential backoff between failed attempts.
//!
//! A group ordered by key adds, for each member, one consumer per key
//! partition queue (see [`AmqpBroker::declare_group`](super::AmqpBroker)
//! and docs/amqp.md), each on its own channel with a prefetch of one; the
//! partition queues are single-active-consumer, so one member at a time
//! takes a partition's events, one at a time. A member that leaves closes
//! those channels, which hands their unacked events back to RabbitMQ
//! ahead of the rest, as a crash would.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::connection::open_channel;
use super::delivery::{AmqpDelivery, Returned, Taken, Unsettled};
use super::{lapin_error, short, AmqpBroker, AmqpNames};
use crate::broker::reconnect::{Next, Restarts};
use crate::broker::{
    BrokerError, Capabilities, KeyOrder, Subscribe, SubscribeOptions, Subscription,
};

/// What a subscription consumes.
#[derive(Debug, Clone)]
pub(crate) enum Role {
    /// A group's queue, bound to these topics: to their keyed events too
    /// unless the group is ordered by key (`keyed` false), which reads
    /// those from its partition queues.
    Group { topics: Vec<String>, keyed: bool },
    /// One key partition queue of a group ordered by key, of `partitions`.
    KeyPartition {
        topics: Vec<String>,
        partition: usize,
        partitions: usize,
    },
    /// The dead letters of the group `of`.
    DeadLetters { of: String },
}

/// A member of a group on an [`AmqpBroker`](super::AmqpBroker).
pub struct AmqpSubscription {
    group: Arc<str>,
    members: Members,
}

enum Members {
    /// One queue (an unordered group, dead letters).
    One(Box<QueueMember>),
    /// The group's queue and its key partition queues, each consumed by a
    /// task of its own.
    Ordered {
        deliveries: mpsc::UnboundedReceiver<AmqpDelivery>,
        tasks: Vec<JoinHandle<Option<JoinHandle<()>>>>,
        /// Asks the tasks to stop and hand back their members' leaving.
        stop: watch::Sender<bool>,
    },
}

impl std::fmt::Debug for AmqpSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.members {
            Members::One(member) => member.fmt(f),
            Members::Ordered { tasks, .. } => f
                .debug_struct("AmqpSubscription")
                .field("queues", &tasks.len())
                .finish_non_exhaustive(),
        }
    }
}

impl Drop for AmqpSubscription {
    fn drop(&mut self) {
        if let Members::Ordered { tasks, .. } = &self.members {
            for task in tasks {
                task.abort();
            }
        }
    }
}

/// How long closing a subscription waits for its consumers to be
/// cancelled and what they held to be handed back.
const CLOSE_LIMIT: Duration = Duration::from_secs(10);

impl Subscription for AmqpSubscription {
    type Delivery = AmqpDelivery;

    async fn next(&mut self) -> Option<AmqpDelivery> {
        match &mut self.members {
            Members::One(member) => member.next().await,
            Members::Ordered { deliveries, .. } => deliveries.recv().await,
        }
    }

    /// Cancels the member's consumers and hands back what RabbitMQ sent
    /// them ahead and no one took (as the same attempt), as a drop does in
    /// the background; completes once that is done, or after 10 s, when it
    /// goes on in the background. A process that exits without it leaves
    /// those events to come back when its connection closes, counted as
    /// one more delivery. Deliveries dropped unsettled are handed back in
    /// the background, as on any drop.
    async fn close(mut self) {
        let left = async {
            let mut leaving = Vec::new();
            match &mut self.members {
                Members::One(member) => leaving.extend(member.leave()),
                Members::Ordered { tasks, stop, .. } => {
                    let _ = stop.send(true);
                    for task in std::mem::take(tasks) {
                        if let Ok(Some(left)) = task.await {
                            leaving.push(left);
                        }
                    }
                }
            }
            futures_util::future::join_all(leaving).await;
        };
        if tokio::time::timeout(CLOSE_LIMIT, left).await.is_err() {
            tracing::warn!(
                group = %self.group,
                "a closing member's consumers were not cancelled within {CLOSE_LIMIT:?} (RabbitMQ \
                 did not answer); they are cancelled in the background, and events they held come \
                 back when the connection closes"
            );
        }
    }
}

/// A consumer of one queue of a group.
struct QueueMember {
    broker: AmqpBroker,
    group: Arc<str>,
    queue: Arc<str>,
    role: Role,
    prefetch: u16,
    ack_wait: Duration,
    slots: Arc<Semaphore>,
    live: Option<Live>,
    restarts: Restarts,
    /// A key partition queue's consumer: the last message it handed back.
    returned: Option<Returned>,
}

impl std::fmt::Debug for QueueMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpSubscription")
            .field("group", &self.group)
            .field("queue", &self.queue)
            .field("connected", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

struct Live {
    channel: Channel,
    consumer: Consumer,
}

/// Joins `group` in `role` (a group ordered by key: in its queue and each
/// of its key partition queues).
pub(crate) async fn open(
    broker: AmqpBroker,
    group: String,
    role: Role,
    options: &SubscribeOptions,
) -> Result<AmqpSubscription, BrokerError> {
    let Role::Group {
        topics,
        keyed: false,
    } = &role
    else {
        let member = open_queue(broker, group, role, options.max_in_flight, options).await?;
        return Ok(AmqpSubscription {
            group: member.group.clone(),
            members: Members::One(Box::new(member)),
        });
    };
    let partitions = broker.options().key_partitions.max(1);
    let mut members = vec![
        open_queue(
            broker.clone(),
            group.clone(),
            role.clone(),
            options.max_in_flight,
            options,
        )
        .await?,
    ];
    for partition in 0..partitions {
        let role = Role::KeyPartition {
            topics: topics.clone(),
            partition,
            partitions,
        };
        members.push(open_queue(broker.clone(), group.clone(), role, 1, options).await?);
    }
    let (tx, deliveries) = mpsc::unbounded_channel();
    let (stop, stopped) = watch::channel(false);
    let tasks = members
        .into_iter()
        .map(|mut member| {
            let tx = tx.clone();
            let mut stopped = stopped.clone();
            broker.inner.runtime.spawn(async move {
                loop {
                    tokio::select! {
                        biased;
                        // Closing: the member leaves where the close can
                        // wait for it.
                        _ = stopped.wait_for(|stop| *stop) => return member.leave(),
                        next = member.next() => {
                            let delivery = next?;
                            if tx.send(delivery).is_err() {
                                return None;
                            }
                        }
                    }
                }
            })
        })
        .collect();
    Ok(AmqpSubscription {
        group: group.into(),
        members: Members::Ordered {
            deliveries,
            tasks,
            stop,
        },
    })
}

/// Consumes the queue of `group` in `role`, holding at most
/// `max_in_flight` deliveries.
async fn open_queue(
    broker: AmqpBroker,
    group: String,
    role: Role,
    max_in_flight: usize,
    options: &SubscribeOptions,
) -> Result<QueueMember, BrokerError> {
    let max_in_flight = max_in_flight.max(1);
    let (queue, ordered) = match &role {
        Role::KeyPartition { partition, .. } => {
            (broker.names().partition_queue(&group, *partition), true)
        }
        _ => (broker.names().group_queue(&group), false),
    };
    let restarts = Restarts::new(
        format!("consuming the group `{group}`"),
        broker.options().max_reconnect_delay,
    );
    let mut subscription = QueueMember {
        broker,
        group: group.into(),
        queue: queue.into(),
        role,
        prefetch: u16::try_from(max_in_flight).unwrap_or(u16::MAX),
        ack_wait: options.ack_wait,
        slots: Arc::new(Semaphore::new(max_in_flight)),
        live: None,
        restarts,
        returned: ordered.then(Returned::default),
    };
    subscription.live = Some(subscription.start().await?);
    Ok(subscription)
}

impl QueueMember {
    /// Declares the group and starts consuming its queue.
    async fn start(&self) -> Result<Live, BrokerError> {
        let what = format!("consuming the queue `{}`", self.queue);
        self.broker.answered(&what, self.start_now()).await
    }

    async fn start_now(&self) -> Result<Live, BrokerError> {
        let connection = self
            .broker
            .connection(&self.broker.inner.consume_link)
            .await?;
        self.broker
            .declare_role(&connection, &self.group, &self.role)
            .await?;
        let channel = open_channel(&connection).await?;
        channel
            .basic_qos(self.prefetch, BasicQosOptions { global: false })
            .await
            .map_err(|e| lapin_error("setting the prefetch", e))?;
        let consumer = channel
            .basic_consume(
                short(&self.queue)?,
                short(&format!("accord-{}", uuid::Uuid::new_v4().simple()))?,
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| lapin_error(&format!("consuming `{}`", self.queue), e))?;
        Ok(Live { channel, consumer })
    }

    fn wrap(&self, delivery: lapin::message::Delivery, slot: OwnedSemaphorePermit) -> AmqpDelivery {
        let channel = self
            .live
            .as_ref()
            .map(|live| live.channel.clone())
            .expect("a delivery comes from the live consumer");
        let unsettled = Arc::new(Unsettled::new(
            self.broker.clone(),
            self.group.clone(),
            self.queue.clone(),
            channel,
            delivery,
            self.returned.clone(),
        ));
        let timer = {
            let unsettled = unsettled.clone();
            let ack_wait = self.ack_wait;
            self.broker.inner.runtime.spawn(async move {
                tokio::time::sleep(ack_wait).await;
                unsettled.expire().await;
            })
        };
        AmqpDelivery::new(unsettled, timer.abort_handle(), slot)
    }
}

impl QueueMember {
    async fn next(&mut self) -> Option<AmqpDelivery> {
        let mut closed = self.broker.closed_watch();
        loop {
            if self.broker.is_closed() {
                return None;
            }
            let slot = tokio::select! {
                _ = closed.wait_for(|closed| *closed) => return None,
                slot = self.slots.clone().acquire_owned() => slot.ok()?,
            };
            if self.live.is_none() {
                let attempt = self.start().await;
                match self.restarts.after(attempt, &mut closed).await {
                    Next::Started(live) => self.live = Some(live),
                    Next::TryAgain => continue,
                    Next::Closed => return None,
                }
            }
            let live = self.live.as_mut().expect("started above");
            let next = tokio::select! {
                _ = closed.wait_for(|closed| *closed) => return None,
                next = live.consumer.next() => next,
            };
            match next {
                Some(Ok(delivery)) => return Some(self.wrap(delivery, slot)),
                Some(Err(error)) => {
                    tracing::warn!(group = %self.group, %error, "the consumer failed; consuming again");
                    self.live = None;
                }
                None => {
                    tracing::warn!(group = %self.group, "the broker ended the consumer; consuming again");
                    self.live = None;
                }
            }
        }
    }
}

impl Drop for QueueMember {
    fn drop(&mut self) {
        // In the background; `leave` is also where a close waits for it.
        let _ = self.leave();
    }
}

impl QueueMember {
    /// Cancels the consumer and hands back what it held, on a task of its
    /// own (which outlives the member); `None` when not consuming.
    fn leave(&mut self) -> Option<JoinHandle<()>> {
        let live = self.live.take()?;
        if self.returned.is_some() {
            // Closing the channel hands back every event it holds unacked,
            // ahead of the rest of the partition, before the next member
            // becomes the active consumer.
            let limit = self.broker.options().operation_timeout;
            return Some(self.broker.spawn(async move {
                let closed = live.channel.close(200, "the member left".into());
                let _ = tokio::time::timeout(limit, closed).await;
            }));
        }
        let broker = self.broker.clone();
        let group = self.group.clone();
        let queue = self.queue.clone();
        let limit = self.broker.options().operation_timeout;
        Some(self.broker.spawn(async move {
            // Stop the flow, then hand back what the broker sent ahead but
            // no one took, as the same attempt.
            let Live {
                channel,
                mut consumer,
            } = live;
            let cancelled = channel.basic_cancel(consumer.tag(), BasicCancelOptions::default());
            if !matches!(tokio::time::timeout(limit, cancelled).await, Ok(Ok(()))) {
                return;
            }
            while let Ok(Some(Ok(delivery))) =
                tokio::time::timeout(Duration::from_secs(5), consumer.next()).await
            {
                let unsettled = Unsettled::new(
                    broker.clone(),
                    group.clone(),
                    queue.clone(),
                    channel.clone(),
                    delivery,
                    None,
                );
                if unsettled.take() == Taken::Pending {
                    unsettled.requeue(unsettled.attempt).await;
                }
            }
        }))
    }
}

impl Subscribe for AmqpBroker {
    type Subscription = AmqpSubscription;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            per_key_order: true,
            dedupes_publishes: false,
        }
    }

    async fn subscribe(&self, options: SubscribeOptions) -> Result<AmqpSubscription, BrokerError> {
        self.check_open()?;
        self.record_group(&options.group);
        let role = Role::Group {
            topics: options.topics.clone(),
            keyed: options.key_order == KeyOrder::Unordered,
        };
        open(self.clone(), options.group.clone(), role, &options).await
    }

    async fn dead_letters(&self, group: &str) -> Result<AmqpSubscription, BrokerError> {
        self.check_open()?;
        self.record_group(group);
        let name = AmqpNames::dead_letter_group(group);
        let options = SubscribeOptions::new(name.clone(), Vec::<String>::new());
        let role = Role::DeadLetters {
            of: group.to_owned(),
        };
        open(self.clone(), name, role, &options).await
    }
}
