//! The names of everything the RabbitMQ backend declares, from one prefix.
//!
//! Operators see these names in `rabbitmqctl list_queues` and the
//! management UI; `docs/amqp.md` describes the topology they make up.

use std::time::Duration;

use crate::broker::key_partition;

/// The default prefix of every exchange and queue name.
pub const DEFAULT_PREFIX: &str = "accord";

/// The exchange and queue names the backend uses, all under one prefix
/// (`accord` by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmqpNames {
    prefix: String,
    /// `<prefix>.events`, made once: every event is published to it.
    events_exchange: String,
}

/// The retry delay buckets within one decade, in tenths of the decade's
/// base: 1, 1.5, 2, 3, 4, 5 and 7. A requested delay waits in the smallest
/// bucket not shorter than it, so it waits at most 1.67 times as long.
const BUCKET_STEPS: [u64; 7] = [10, 15, 20, 30, 40, 50, 70];

/// The shortest retry bucket; shorter delays are rounded up to it.
pub const MIN_RETRY_BUCKET: Duration = Duration::from_millis(10);

/// The longest retry bucket (about 19 hours); longer delays are capped.
pub const MAX_RETRY_BUCKET: Duration = Duration::from_millis(70_000_000);

impl AmqpNames {
    /// Names under `prefix`.
    pub fn new(prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        AmqpNames {
            events_exchange: format!("{prefix}.events"),
            prefix,
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The topic exchange events are published to, with the topic as the
    /// routing key: `<prefix>.events`.
    pub fn events_exchange(&self) -> String {
        self.events_exchange.clone()
    }

    /// [`events_exchange`](Self::events_exchange), borrowed.
    pub(crate) fn events_exchange_name(&self) -> &str {
        &self.events_exchange
    }

    /// The fanout exchange that receives the events no group's queue is
    /// bound for (the events exchange's alternate exchange):
    /// `<prefix>.unrouted`.
    pub fn unrouted_exchange(&self) -> String {
        format!("{}.unrouted", self.prefix)
    }

    /// The queue that keeps the events no group's queue is bound for:
    /// `<prefix>.unrouted`.
    pub fn unrouted_queue(&self) -> String {
        format!("{}.unrouted", self.prefix)
    }

    /// The direct exchange requests are sent to, with the topic as the
    /// routing key: `<prefix>.requests`.
    pub fn requests_exchange(&self) -> String {
        format!("{}.requests", self.prefix)
    }

    /// The topic exchange dead letters are published to, with the group as
    /// the routing key: `<prefix>.dead-letter`.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dead-letter", self.prefix)
    }

    /// The durable queue of `group`: `<prefix>.group.<group>`.
    pub fn group_queue(&self, group: &str) -> String {
        format!("{}.group.{group}", self.prefix)
    }

    /// The group whose queue holds `group`'s dead letters:
    /// `<group>.dead-letter`.
    pub fn dead_letter_group(group: &str) -> String {
        format!("{group}.dead-letter")
    }

    /// The durable quorum queue of `group`'s key partition `partition`
    /// (a group ordered by key): `<prefix>.group.<group>.key.<partition>`.
    pub fn partition_queue(&self, group: &str, partition: usize) -> String {
        format!("{}.{KEY_WORD_PLAIN}.{partition}", self.group_queue(group))
    }

    /// The durable queue holding `group`'s dead letters:
    /// `<prefix>.group.<group>.dead-letter`.
    pub fn dead_letter_queue(&self, group: &str) -> String {
        self.group_queue(&Self::dead_letter_group(group))
    }

    /// The queue where `group`'s retries wait `bucket` (see
    /// [`retry_bucket`](Self::retry_bucket)) before they return to the
    /// group's queue: `<prefix>.group.<group>.retry.<ms>ms`.
    pub fn retry_queue(&self, group: &str, bucket: Duration) -> String {
        format!("{}.retry.{}ms", self.group_queue(group), bucket.as_millis())
    }

    /// The queue of `group`'s request servers on `topic`:
    /// `<prefix>.rpc.<group>.<topic>`.
    pub fn responder_queue(&self, group: &str, topic: &str) -> String {
        format!("{}.rpc.{group}.{topic}", self.prefix)
    }

    /// The retry bucket a retry after `delay` waits in: the smallest bucket
    /// not shorter than `delay`, between [`MIN_RETRY_BUCKET`] and
    /// [`MAX_RETRY_BUCKET`].
    pub fn retry_bucket(delay: Duration) -> Duration {
        Self::retry_buckets()
            .find(|bucket| *bucket >= delay)
            .unwrap_or(MAX_RETRY_BUCKET)
    }

    /// Every retry bucket, shortest first.
    pub fn retry_buckets() -> impl Iterator<Item = Duration> {
        // Decades from 10 ms (base 1 ms, steps in tenths) up to 10^7 ms.
        (0..8u32).flat_map(|decade| {
            BUCKET_STEPS.iter().filter_map(move |step| {
                let millis = step * 10u64.pow(decade);
                let bucket = Duration::from_millis(millis);
                (bucket >= MIN_RETRY_BUCKET && bucket <= MAX_RETRY_BUCKET).then_some(bucket)
            })
        })
    }
}

/// The word of a partition queue's name.
const KEY_WORD_PLAIN: &str = "key";

/// The routing key word that marks a keyed event: a keyed event of
/// `orders.placed` is published with the routing key
/// `orders.placed._key.<slot>`.
pub(crate) const KEY_WORD: &str = "_key";

/// How many key slots there are: a key's slot is the 64-bit FNV-1a hash of
/// its UTF-8 bytes modulo this, and a group's partition `p` of `n` takes the
/// slots `s` with `s % n == p`. A fixed count keeps publishers free of any
/// setting: a group picks its partitions alone.
pub(crate) const KEY_SLOTS: usize = 256;

/// The routing key of a keyed event of `topic` in `slot`.
pub(crate) fn slot_routing_key(topic: &str, slot: usize) -> String {
    key_partition::partition_name(topic, KEY_WORD, slot)
}

/// The routing key a message with `key` on `topic` is published with.
pub(crate) fn keyed_routing_key(topic: &str, key: &str) -> String {
    slot_routing_key(topic, key_partition::partition_of(key, KEY_SLOTS))
}

/// The topic of a message routed with `routing_key`: without the key slot.
pub(crate) fn topic_of_routing_key(routing_key: &str) -> &str {
    let mut words = routing_key.rsplitn(3, '.');
    match (words.next(), words.next(), words.next()) {
        (Some(slot), Some(KEY_WORD), Some(topic))
            if !slot.is_empty() && slot.bytes().all(|b| b.is_ascii_digit()) =>
        {
            topic
        }
        _ => routing_key,
    }
}

impl Default for AmqpNames {
    fn default() -> Self {
        AmqpNames::new("accord")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_from_the_prefix() {
        let names = AmqpNames::default();
        assert_eq!(names.events_exchange(), "accord.events");
        assert_eq!(names.group_queue("billing"), "accord.group.billing");
        assert_eq!(
            names.dead_letter_queue("billing"),
            "accord.group.billing.dead-letter"
        );
        assert_eq!(
            names.retry_queue("billing", Duration::from_millis(1500)),
            "accord.group.billing.retry.1500ms"
        );
        assert_eq!(
            names.responder_queue("orders", "orders.rpc.get"),
            "accord.rpc.orders.orders.rpc.get"
        );
    }

    #[test]
    fn keyed_events_are_routed_by_slot_and_keep_their_topic() {
        let routing_key = keyed_routing_key("orders.placed", "customer-7");
        assert!(routing_key.starts_with("orders.placed._key."));
        assert_eq!(
            routing_key,
            keyed_routing_key("orders.placed", "customer-7")
        );
        assert_eq!(topic_of_routing_key(&routing_key), "orders.placed");
        assert_eq!(topic_of_routing_key("orders.placed"), "orders.placed");
        let slots: std::collections::BTreeSet<String> = (0..2000)
            .map(|i| keyed_routing_key("t", &format!("k{i}")))
            .collect();
        assert_eq!(slots.len(), KEY_SLOTS, "2000 keys should reach every slot");
        assert_eq!(
            AmqpNames::default().partition_queue("inventory", 3),
            "accord.group.inventory.key.3"
        );
    }

    #[test]
    fn a_retry_waits_in_the_smallest_bucket_not_shorter_than_its_delay() {
        let ms = Duration::from_millis;
        assert_eq!(AmqpNames::retry_bucket(ms(0)), ms(10));
        assert_eq!(AmqpNames::retry_bucket(ms(10)), ms(10));
        assert_eq!(AmqpNames::retry_bucket(ms(11)), ms(15));
        assert_eq!(AmqpNames::retry_bucket(ms(200)), ms(200));
        assert_eq!(AmqpNames::retry_bucket(ms(201)), ms(300));
        assert_eq!(AmqpNames::retry_bucket(ms(55_000)), ms(70_000));
        assert_eq!(
            AmqpNames::retry_bucket(Duration::from_secs(60 * 60 * 24 * 7)),
            MAX_RETRY_BUCKET
        );
        let buckets: Vec<_> = AmqpNames::retry_buckets().collect();
        assert!(buckets.windows(2).all(|w| w[0] < w[1]), "{buckets:?}");
        assert!(buckets
            .windows(2)
            .all(|w| w[1].as_secs_f64() / w[0].as_secs_f64() <= 5.0 / 3.0 + 1e-9));
        assert_eq!(buckets.first(), Some(&MIN_RETRY_BUCKET));
        assert_eq!(buckets.last(), Some(&MAX_RETRY_BUCKET));
    }
}
