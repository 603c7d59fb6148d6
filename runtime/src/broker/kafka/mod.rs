//! The Kafka backend (feature `kafka`), on rust-rdkafka over its bundled
//! librdkafka.
//!
//! [`KafkaBroker`] implements [`Publish`](crate::broker::Publish) and
//! [`Subscribe`](crate::broker::Subscribe) with
//! [`Retry`](crate::broker::Retry), so it runs the
//! [`Subscriber`](crate::Subscriber) runtime and generated publishers and
//! subscribers. It does not implement
//! [`RequestReply`](crate::broker::RequestReply): see `docs/kafka.md` for
//! why, and serve requests over HTTP or another broker.
//!
//! What accord creates, explicitly through the admin API (the consumers
//! never create topics: `allow.auto.create.topics=false`):
//!
//! - **Each topic** it publishes to or subscribes on, under the topic's
//!   own name, with [`KafkaOptions::partitions`] partitions, when missing.
//! - **A dead-letter topic per group**, `<prefix>.dead-letter.<group>`.
//! - **A consumer group per group**, named as the group; the readers of a
//!   group's dead letters form `<prefix>.dead-letters.<group>`.
//!
//! What it promises:
//!
//! - A publish returns once the broker acknowledged the record
//!   (`acks=all`, idempotent producer). The message key is the record key,
//!   so one key's messages share a partition.
//! - The members of a group share the topics' partitions (the group's
//!   consumers). A group receives what is published from when it first
//!   joined: a new group starts at the end of each partition, and commits
//!   that start before its subscription returns, so it collects events
//!   from then on even while no member runs.
//! - Per key, deliveries are handed out one at a time in partition order,
//!   also across a [`retry`](crate::broker::Retry::retry): a retried
//!   record waits in its member (its partition's later records of other
//!   keys go on), and the key's later records wait behind it.
//! - A partition's offset is committed only up to the first record not yet
//!   settled, so nothing is skipped when a later record finishes first.
//!   Deliveries settle out of order within the member's window
//!   ([`SubscribeOptions::max_in_flight`](crate::broker::SubscribeOptions)
//!   handed out, [`KafkaOptions::max_buffered`] read ahead).
//! - A delivery dropped unsettled is handed out again by its member as the
//!   next attempt. When one is not settled within `ack_wait`, its member
//!   hands its partitions over (commits each up to its first unsettled
//!   record, noting what it settled beyond and the attempts so far) and
//!   leaves the group, joining again once the group has rebalanced; the
//!   partitions' next owner reads the record again, as its next attempt
//!   and before the key's later records. A member leaving hands its
//!   partitions over the same way.
//! - Dead letters go to the group's dead-letter topic with the reason
//!   headers, acknowledged by the broker before the original is settled.

mod ack_wait;
mod headers;
mod member;
mod names;
mod options;
mod publish;
mod subscription;
#[cfg(test)]
mod tests;
mod topology;
mod window;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::FutureProducer;
use rdkafka::ClientConfig;

pub use options::{
    KafkaOptions, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_MAX_BUFFERED, DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_PARTITIONS, DEFAULT_PREFIX, DEFAULT_SESSION_TIMEOUT, DEFAULT_URL,
};
pub use subscription::{KafkaDelivery, KafkaSubscription};

use crate::broker::BrokerError;

/// A Kafka cluster as an accord broker. Cheap to clone: clones share the
/// producer and the topics known to exist.
#[derive(Clone)]
pub struct KafkaBroker {
    inner: Arc<Inner>,
}

struct Inner {
    servers: String,
    options: KafkaOptions,
    producer: FutureProducer,
    admin: AdminClient<DefaultClientContext>,
    /// Topics known to exist, with their partition counts.
    topics: Mutex<HashMap<String, i32>>,
    /// Held while topics are created or looked up, so that concurrent
    /// publishes to a topic not yet known wait for one creation instead of
    /// each sending their own (one admin request in flight per handle).
    declaring: tokio::sync::Mutex<()>,
    /// Consumers of this handle's subscriptions not yet closed.
    members: AtomicUsize,
    /// The handover notes of this handle's members (see the `window`
    /// module), per consumer group and partition: the note of a
    /// partition's last handover, for a member of this handle that takes
    /// the partition over where the broker does not keep a commit's
    /// metadata. At most one per partition a group of this handle reads.
    notes: Mutex<member::Notes>,
}

impl std::fmt::Debug for KafkaBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaBroker")
            .field("servers", &self.inner.servers)
            .field("prefix", &self.inner.options.prefix)
            .finish_non_exhaustive()
    }
}

impl KafkaBroker {
    /// Connects to the Kafka cluster at `url` (`kafka://HOST:PORT`, several
    /// comma-separated `HOST:PORT` for a cluster) with the default
    /// [`KafkaOptions`].
    pub async fn connect(url: &str) -> Result<KafkaBroker, BrokerError> {
        KafkaBroker::connect_with(url, KafkaOptions::default()).await
    }

    /// [`connect`](KafkaBroker::connect) with `options`. Fails unless the
    /// cluster answers a metadata request within the admin timeout.
    ///
    /// Settings in the URL's query (`kafka://HOST:PORT?session.timeout.ms=6000`)
    /// are librdkafka settings, applied after `options`; the session
    /// timeout and heartbeat interval given there replace
    /// [`KafkaOptions::session_timeout`] and
    /// [`KafkaOptions::heartbeat_interval`].
    pub async fn connect_with(
        url: &str,
        options: KafkaOptions,
    ) -> Result<KafkaBroker, BrokerError> {
        let (url, options) = url_settings(url, options)?;
        let servers = bootstrap_servers(url)?;
        let config = client_config(&servers, &options);
        let mut producer_config = config.clone();
        producer_config
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "1")
            .set(
                "message.timeout.ms",
                // librdkafka takes 0 as no limit.
                options.publish_timeout.as_millis().max(1).to_string(),
            )
            .set("message.max.bytes", options.max_message_bytes.to_string());
        apply_extra(&mut producer_config, &options);
        let producer: FutureProducer = producer_config.create().map_err(|e| {
            BrokerError::Connection(format!("cannot set up a Kafka producer for {url}: {e}"))
        })?;
        let mut admin_config = config;
        apply_extra(&mut admin_config, &options);
        let admin: AdminClient<DefaultClientContext> = admin_config.create().map_err(|e| {
            BrokerError::Connection(format!("cannot set up a Kafka admin client for {url}: {e}"))
        })?;
        let broker = KafkaBroker {
            inner: Arc::new(Inner {
                servers,
                options,
                producer,
                admin,
                topics: Mutex::new(HashMap::new()),
                declaring: tokio::sync::Mutex::new(()),
                members: AtomicUsize::new(0),
                notes: Mutex::new(HashMap::new()),
            }),
        };
        broker.check_reachable(url).await?;
        Ok(broker)
    }

    /// The options this broker was connected with.
    pub fn options(&self) -> &KafkaOptions {
        &self.inner.options
    }

    /// The dead-letter topic of `group`.
    pub fn dead_letter_topic(&self, group: &str) -> String {
        names::dead_letter_topic(&self.inner.options.prefix, group)
    }

    /// The consumer group that reads `group`'s dead letters.
    pub fn dead_letter_reader(&self, group: &str) -> String {
        names::dead_letter_reader(&self.inner.options.prefix, group)
    }

    /// How many consumers this handle's subscriptions (and their clones)
    /// have open. A dropped subscription's consumer closes once its
    /// deliveries are settled or handed over, and it has left the group.
    pub fn open_consumers(&self) -> usize {
        self.inner.members.load(Ordering::Acquire)
    }

    /// The admin client, for what accord does not do itself (deleting
    /// topics, describing groups).
    pub fn admin(&self) -> &AdminClient<DefaultClientContext> {
        &self.inner.admin
    }

    fn consumer_config(&self, group: &str) -> ClientConfig {
        let options = &self.inner.options;
        let mut config = client_config(&self.inner.servers, options);
        config
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "latest")
            .set("allow.auto.create.topics", "false")
            .set("enable.partition.eof", "false")
            .set("partition.assignment.strategy", "cooperative-sticky")
            // A member holds records in the consumer's queue while its
            // handlers are busy, so the queue often reaches librdkafka's
            // thresholds; the fetcher then waits this long before it looks
            // again (1 s by default, which showed as pauses of up to a
            // second in a steady stream). Looking 50 times a second costs
            // nothing measurable.
            .set("fetch.queue.backoff.ms", FETCH_QUEUE_BACKOFF_MS)
            .set(
                "session.timeout.ms",
                options.session_timeout.as_millis().to_string(),
            )
            .set(
                "heartbeat.interval.ms",
                options.heartbeat_interval.as_millis().to_string(),
            );
        apply_extra(&mut config, options);
        config
    }
}

/// The consumers' `fetch.queue.backoff.ms` (see `consumer_config`); the
/// URL's query or [`KafkaOptions::set`] can replace it.
const FETCH_QUEUE_BACKOFF_MS: &str = "20";

/// The address part of `url`, and `options` with the settings of its
/// query applied.
fn url_settings(url: &str, mut options: KafkaOptions) -> Result<(&str, KafkaOptions), BrokerError> {
    let (address, query) = url.split_once('?').unwrap_or((url, ""));
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(BrokerError::Connection(format!(
                "the setting {pair:?} in {url:?} has no value: use NAME=VALUE"
            )));
        };
        let millis = || {
            value
                .parse::<u64>()
                .map(std::time::Duration::from_millis)
                .map_err(|_| {
                    BrokerError::Connection(format!(
                        "{key} in {url:?} is not a number of milliseconds"
                    ))
                })
        };
        match key {
            "session.timeout.ms" => options.session_timeout = millis()?,
            "heartbeat.interval.ms" => options.heartbeat_interval = millis()?,
            _ => options = options.set(key, value),
        }
    }
    Ok((address, options))
}

/// The `bootstrap.servers` of a `kafka://` URL.
fn bootstrap_servers(url: &str) -> Result<String, BrokerError> {
    let servers: Vec<&str> = url
        .split(',')
        .map(|s| {
            s.trim()
                .trim_start_matches("kafka://")
                .trim_end_matches('/')
        })
        .filter(|s| !s.is_empty())
        .collect();
    if servers.is_empty()
        || servers
            .iter()
            .any(|s| s.contains("://") || !s.contains(':'))
    {
        return Err(BrokerError::Connection(format!(
            "{url:?} is not a Kafka address: use kafka://HOST:PORT (several comma-separated for a cluster)"
        )));
    }
    Ok(servers.join(","))
}

/// How often a client of the handle reads the metadata of the topics it
/// uses again (librdkafka's `topic.metadata.refresh.interval.ms`): 10 s, so
/// that partitions added to a topic, and a topic that was not yet visible
/// when a member subscribed, are found within that.
///
/// Not shorter: librdkafka (2.12) restarts a group's join whenever the
/// metadata of the subscription arrives while the group's leader waits for
/// the metadata its assignor asked for, even when nothing changed, and a
/// refresh sent while the leader's JoinGroup waits at the coordinator
/// arrives just then. With a refresh every second and join rounds of a
/// second or more (tansu's every time; a new Kafka group's first waits
/// `group.initial.rebalance.delay.ms`, 3 s by default), the leader joined
/// again every round and the group never got its assignment. With 10 s, a
/// join round is restarted at most once per refresh.
const METADATA_REFRESH_MS: &str = "10000";

fn client_config(servers: &str, options: &KafkaOptions) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", servers)
        .set("client.id", &options.client_id)
        .set("topic.metadata.refresh.interval.ms", METADATA_REFRESH_MS)
        .set("reconnect.backoff.ms", "100")
        .set("reconnect.backoff.max.ms", "2000");
    config
}

fn apply_extra(config: &mut ClientConfig, options: &KafkaOptions) {
    for (key, value) in &options.extra {
        config.set(key, value);
    }
}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn urls_name_the_bootstrap_servers() {
        assert_eq!(
            bootstrap_servers("kafka://127.0.0.1:9092").unwrap(),
            "127.0.0.1:9092"
        );
        assert_eq!(
            bootstrap_servers("kafka://a:1, kafka://b:2").unwrap(),
            "a:1,b:2"
        );
        let (address, options) = url_settings(
            "kafka://a:1?session.timeout.ms=2000&heartbeat.interval.ms=300&acks=1",
            KafkaOptions::new(),
        )
        .unwrap();
        assert_eq!(address, "kafka://a:1");
        assert_eq!(options.session_timeout.as_millis(), 2000);
        assert_eq!(options.heartbeat_interval.as_millis(), 300);
        assert_eq!(options.extra, [("acks".to_owned(), "1".to_owned())]);
        let error = url_settings("kafka://a:1?session.timeout.ms=soon", KafkaOptions::new())
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a number of milliseconds"), "{error}");
        for bad in ["", "nats://a:1", "kafka://host"] {
            let error = bootstrap_servers(bad).unwrap_err().to_string();
            assert!(error.contains("kafka://HOST:PORT"), "{bad:?}: {error}");
        }
    }
}
