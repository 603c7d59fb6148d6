//! Declaring the exchanges, group queues, dead-letter and retry queues,
//! and deleting them.

use std::time::Duration;

use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ExchangeKind};

use super::connection::open_channel;
use super::subscription::Role;
use super::{lapin_error, lock, long, names, short, AmqpBroker, AmqpNames, QueueType};
use crate::broker::BrokerError;

impl AmqpBroker {
    /// Declares `group` on `topics` (its queue, bindings and dead-letter
    /// queue) without consuming, so that it collects the events published
    /// from now on. Subscribing declares it too.
    pub async fn declare_group(&self, group: &str, topics: &[&str]) -> Result<(), BrokerError> {
        self.check_open()?;
        self.record_group(group);
        let role = Role::Group {
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            keyed: true,
        };
        self.answered(&format!("declaring the group `{group}`"), async {
            let connection = self.connection(&self.inner.publish_link).await?;
            self.declare_role(&connection, group, &role).await
        })
        .await
    }

    /// [`declare_group`](Self::declare_group) for a group that subscribes
    /// ordered by key: its queue (for events without a key) and its
    /// [`key_partitions`](super::AmqpOptions::key_partitions) partition
    /// queues.
    pub async fn declare_ordered_group(
        &self,
        group: &str,
        topics: &[&str],
    ) -> Result<(), BrokerError> {
        self.check_open()?;
        self.record_group(group);
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        let partitions = self.inner.options.key_partitions.max(1);
        self.answered(&format!("declaring the group `{group}`"), async {
            let connection = self.connection(&self.inner.publish_link).await?;
            let role = Role::Group {
                topics: topics.clone(),
                keyed: false,
            };
            self.declare_role(&connection, group, &role).await?;
            for partition in 0..partitions {
                let role = Role::KeyPartition {
                    topics: topics.clone(),
                    partition,
                    partitions,
                };
                self.declare_role(&connection, group, &role).await?;
            }
            Ok(())
        })
        .await
    }

    /// Deletes `group`'s queue, retry queues and dead letters, with the
    /// messages in them. Stop the group's members first: a running member
    /// declares its group again.
    pub async fn delete_group(&self, group: &str) -> Result<(), BrokerError> {
        let names = &self.inner.names;
        let mut queues = Vec::new();
        for group in [group.to_owned(), AmqpNames::dead_letter_group(group)] {
            queues.push(names.group_queue(&group));
            queues.extend(AmqpNames::retry_buckets().map(|b| names.retry_queue(&group, b)));
            queues.extend(
                (0..self.inner.options.key_partitions).map(|p| names.partition_queue(&group, p)),
            );
        }
        let deleted = self
            .answered(&format!("deleting the group `{group}`"), async {
                let connection = self.connection(&self.inner.publish_link).await?;
                let channel = open_channel(&connection).await?;
                let channel = &channel;
                let deletes = queues.iter().map(|queue| async move {
                    channel
                        .queue_delete(short(queue)?, QueueDeleteOptions::default())
                        .await
                        .map_err(|e| lapin_error(&format!("deleting the queue `{queue}`"), e))
                });
                let results = futures_util::future::join_all(deletes).await;
                let _ = channel.close(200, "OK".into()).await;
                results.into_iter().collect::<Result<Vec<_>, _>>().map(drop)
            })
            .await;
        {
            let mut known = lock(&self.inner.retry_queues);
            for queue in &queues {
                known.remove(queue);
            }
        }
        lock(&self.inner.groups).remove(group);
        deleted
    }

    /// The groups this handle declared (by subscribing, asking for dead
    /// letters or [`declare_group`](Self::declare_group)).
    pub fn declared_groups(&self) -> Vec<String> {
        lock(&self.inner.groups).iter().cloned().collect()
    }

    /// Deletes what this handle declared: its groups' queues (see
    /// [`delete_group`](Self::delete_group)), the unrouted queue and the
    /// exchanges under this prefix. For tests and teardown of a prefix no one
    /// else uses.
    pub async fn delete_topology(&self) -> Result<(), BrokerError> {
        for group in self.declared_groups() {
            self.delete_group(&group).await?;
        }
        let names = &self.inner.names;
        self.answered("deleting the unrouted queue and the exchanges", async {
            let connection = self.connection(&self.inner.publish_link).await?;
            let channel = open_channel(&connection).await?;
            channel
                .queue_delete(
                    short(&names.unrouted_queue())?,
                    QueueDeleteOptions::default(),
                )
                .await
                .map_err(|e| lapin_error("deleting the unrouted queue", e))?;
            for exchange in [
                names.events_exchange(),
                names.unrouted_exchange(),
                names.requests_exchange(),
                names.dead_letter_exchange(),
            ] {
                channel
                    .exchange_delete(short(&exchange)?, ExchangeDeleteOptions::default())
                    .await
                    .map_err(|e| lapin_error(&format!("deleting the exchange `{exchange}`"), e))?;
            }
            let _ = channel.close(200, "OK".into()).await;
            Ok(())
        })
        .await
    }

    /// The arguments of a durable queue of the configured type.
    pub(super) fn durable_arguments(&self) -> FieldTable {
        let mut arguments = FieldTable::default();
        if self.inner.options.queue_type == QueueType::Quorum {
            arguments.insert("x-queue-type".into(), long("quorum"));
        }
        arguments
    }

    pub(super) async fn declare_exchanges(
        &self,
        connection: &Connection,
    ) -> Result<(), BrokerError> {
        let names = &self.inner.names;
        let channel = open_channel(connection).await?;
        let unrouted = names.unrouted_exchange();
        declare_exchange(
            &channel,
            &unrouted,
            ExchangeKind::Fanout,
            FieldTable::default(),
        )
        .await?;
        let mut arguments = self.durable_arguments();
        if self.inner.options.unrouted_max_length > 0 {
            arguments.insert(
                "x-max-length".into(),
                AMQPValue::LongLongInt(self.inner.options.unrouted_max_length.into()),
            );
        }
        declare_queue(&channel, &names.unrouted_queue(), arguments).await?;
        bind(&channel, &names.unrouted_queue(), &unrouted, "").await?;
        let mut arguments = FieldTable::default();
        arguments.insert("alternate-exchange".into(), long(&unrouted));
        declare_exchange(
            &channel,
            names.events_exchange_name(),
            ExchangeKind::Topic,
            arguments,
        )
        .await?;
        declare_exchange(
            &channel,
            &names.requests_exchange(),
            ExchangeKind::Direct,
            FieldTable::default(),
        )
        .await?;
        declare_exchange(
            &channel,
            &names.dead_letter_exchange(),
            ExchangeKind::Topic,
            FieldTable::default(),
        )
        .await?;
        let _ = channel.close(200, "OK".into()).await;
        Ok(())
    }

    /// Declares the queues and bindings a subscription of `group` in `role`
    /// consumes from.
    pub(super) async fn declare_role(
        &self,
        connection: &Connection,
        group: &str,
        role: &Role,
    ) -> Result<(), BrokerError> {
        let names = &self.inner.names;
        let channel = open_channel(connection).await?;
        let dead_letters_of = match role {
            Role::Group { topics, keyed } => {
                let queue = names.group_queue(group);
                declare_queue(&channel, &queue, self.durable_arguments()).await?;
                for topic in topics {
                    bind(&channel, &queue, names.events_exchange_name(), topic).await?;
                    if *keyed {
                        let keyed = format!("{topic}.{}.*", names::KEY_WORD);
                        bind(&channel, &queue, names.events_exchange_name(), &keyed).await?;
                    }
                }
                group
            }
            Role::KeyPartition {
                topics,
                partition,
                partitions,
            } => {
                // Classic whatever `queue_type` says: a classic queue puts a
                // handed-back event back in its place, ahead of the later
                // ones; a quorum queue (before RabbitMQ 4) puts it last.
                let queue = names.partition_queue(group, *partition);
                let mut arguments = FieldTable::default();
                arguments.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
                declare_queue(&channel, &queue, arguments).await?;
                for topic in topics {
                    for slot in (*partition..names::KEY_SLOTS).step_by((*partitions).max(1)) {
                        let routing_key = names::slot_routing_key(topic, slot);
                        bind(&channel, &queue, names.events_exchange_name(), &routing_key).await?;
                    }
                }
                group
            }
            Role::DeadLetters { of } => of.as_str(),
        };
        let dead_letters = names.dead_letter_queue(dead_letters_of);
        declare_queue(&channel, &dead_letters, self.durable_arguments()).await?;
        bind(
            &channel,
            &dead_letters,
            &names.dead_letter_exchange(),
            dead_letters_of,
        )
        .await?;
        let _ = channel.close(200, "OK".into()).await;
        Ok(())
    }

    /// Declares the retry queue of `group` for `bucket`: its messages live
    /// `bucket`, then return to the group's queue.
    pub(super) async fn declare_retry_queue(
        &self,
        group: &str,
        bucket: Duration,
    ) -> Result<(), BrokerError> {
        let names = &self.inner.names;
        let mut arguments = self.durable_arguments();
        let ttl = i64::try_from(bucket.as_millis()).unwrap_or(i64::MAX);
        arguments.insert("x-message-ttl".into(), AMQPValue::LongLongInt(ttl));
        arguments.insert("x-dead-letter-exchange".into(), long(""));
        arguments.insert(
            "x-dead-letter-routing-key".into(),
            long(&names.group_queue(group)),
        );
        if self.inner.options.queue_type == QueueType::Quorum {
            arguments.insert("x-dead-letter-strategy".into(), long("at-least-once"));
            arguments.insert("x-overflow".into(), long("reject-publish"));
        }
        let queue = names.retry_queue(group, bucket);
        self.answered(&format!("declaring the retry queue `{queue}`"), async {
            let connection = self.connection(&self.inner.publish_link).await?;
            let channel = open_channel(&connection).await?;
            declare_queue(&channel, &queue, arguments).await?;
            let _ = channel.close(200, "OK".into()).await;
            Ok(())
        })
        .await
    }
}

pub(super) async fn declare_exchange(
    channel: &Channel,
    name: &str,
    kind: ExchangeKind,
    arguments: FieldTable,
) -> Result<(), BrokerError> {
    channel
        .exchange_declare(
            short(name)?,
            kind,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            arguments,
        )
        .await
        .map_err(|e| declare_error("exchange", name, e))
}

pub(super) async fn declare_queue(
    channel: &Channel,
    name: &str,
    arguments: FieldTable,
) -> Result<(), BrokerError> {
    channel
        .queue_declare(short(name)?, QueueDeclareOptions::durable(), arguments)
        .await
        .map(drop)
        .map_err(|e| declare_error("queue", name, e))
}

pub(super) async fn bind(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    routing_key: &str,
) -> Result<(), BrokerError> {
    channel
        .queue_bind(
            short(queue)?,
            short(exchange)?,
            short(routing_key)?,
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| lapin_error(&format!("binding `{queue}` to `{exchange}`"), e))
}

pub(super) fn declare_error(what: &str, name: &str, error: lapin::Error) -> BrokerError {
    let text = error.to_string();
    if text.contains("PRECONDITION_FAILED") || text.contains("inequivalent") {
        BrokerError::Rejected(format!(
            "the {what} `{name}` exists with other settings ({text}); delete it, or use the \
             settings (queue type, prefix) it was declared with"
        ))
    } else {
        lapin_error(&format!("declaring the {what} `{name}`"), error)
    }
}
