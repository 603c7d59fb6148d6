//! The topics accord creates, explicitly through the admin API, and the
//! partition counts it looks up.

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::Producer;

use super::{names, KafkaBroker};
use crate::broker::BrokerError;

impl KafkaBroker {
    /// Fails unless the cluster answers a metadata request.
    pub(super) async fn check_reachable(&self, url: &str) -> Result<(), BrokerError> {
        let broker = self.clone();
        let timeout = self.inner.options.admin_timeout;
        let metadata = tokio::task::spawn_blocking(move || {
            broker
                .inner
                .producer
                .client()
                .fetch_metadata(None, timeout)
                .map(|m| m.brokers().len())
        })
        .await
        .map_err(|e| BrokerError::Connection(format!("looking up {url}: {e}")))?;
        match metadata {
            Ok(brokers) if brokers > 0 => Ok(()),
            Ok(_) => Err(BrokerError::Connection(format!(
                "the Kafka cluster at {url} lists no brokers"
            ))),
            Err(e) => Err(BrokerError::Connection(format!(
                "cannot reach Kafka at {url} within {timeout:?}: {e}"
            ))),
        }
    }

    /// Creates those of `topics` not known to exist, with the configured
    /// partitions and replicas; a topic that exists already is kept as it
    /// is.
    pub(super) async fn ensure_topics(&self, topics: &[&str]) -> Result<(), BrokerError> {
        if self.missing(topics).is_empty() {
            return Ok(());
        }
        // One declaration at a time: those who waited find their topics
        // created by the one before them.
        let _declaring = self.inner.declaring.lock().await;
        let missing = self.missing(topics);
        if missing.is_empty() {
            return Ok(());
        }
        for topic in &missing {
            names::check_topic(topic)?;
        }
        let options = &self.inner.options;
        let new: Vec<NewTopic<'_>> = missing
            .iter()
            .map(|t| {
                NewTopic::new(
                    t,
                    options.partitions,
                    TopicReplication::Fixed(options.replication),
                )
            })
            .collect();
        let admin = AdminOptions::new().operation_timeout(Some(options.admin_timeout));
        let what = || format!("creating the topics {missing:?}");
        let results = tokio::time::timeout(
            options.admin_timeout,
            self.inner.admin.create_topics(&new, &admin),
        )
        .await
        .map_err(|_| {
            BrokerError::Connection(format!(
                "{}: no answer within {:?}",
                what(),
                options.admin_timeout
            ))
        })?
        .map_err(|e| kafka_error(&what(), e))?;
        let mut lookup = Vec::new();
        for result in results {
            match result {
                Ok(topic) => {
                    self.known(&topic, options.partitions);
                }
                Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => lookup.push(topic),
                Err((topic, code)) => {
                    return Err(BrokerError::Rejected(format!(
                        "creating the topic `{topic}`: {code}"
                    )))
                }
            }
        }
        for topic in lookup {
            let partitions = self.partition_count(&topic).await?;
            self.known(&topic, partitions);
        }
        Ok(())
    }

    /// Those of `topics` not known to exist.
    fn missing<'a>(&self, topics: &[&'a str]) -> Vec<&'a str> {
        let known = self.inner.topics.lock().expect("topic cache poisoned");
        topics
            .iter()
            .copied()
            .filter(|t| !known.contains_key(*t))
            .collect()
    }

    fn known(&self, topic: &str, partitions: i32) {
        self.inner
            .topics
            .lock()
            .expect("topic cache poisoned")
            .insert(topic.to_owned(), partitions);
    }

    /// Asks the cluster for the partition count of `topic`.
    async fn partition_count(&self, topic: &str) -> Result<i32, BrokerError> {
        let broker = self.clone();
        let name = topic.to_owned();
        let timeout = self.inner.options.admin_timeout;
        let found = tokio::task::spawn_blocking(move || {
            let metadata = broker
                .inner
                .producer
                .client()
                .fetch_metadata(Some(&name), timeout)?;
            Ok::<_, KafkaError>(
                metadata
                    .topics()
                    .iter()
                    .find(|t| t.name() == name)
                    .map(|t| t.partitions().len()),
            )
        })
        .await
        .map_err(|e| BrokerError::Connection(format!("looking up the topic `{topic}`: {e}")))?
        .map_err(|e| kafka_error(&format!("looking up the topic `{topic}`"), e))?;
        match found {
            Some(n) if n > 0 => Ok(i32::try_from(n).unwrap_or(i32::MAX)),
            _ => Err(BrokerError::Rejected(format!(
                "the topic `{topic}` exists but lists no partitions"
            ))),
        }
    }
}

/// A client error as a broker error: transport and timeout failures are
/// connection errors, the rest refusals.
pub(super) fn kafka_error(what: &str, error: KafkaError) -> BrokerError {
    let connection = match error.rdkafka_error_code() {
        Some(code) => matches!(
            code,
            RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::MessageTimedOut
                | RDKafkaErrorCode::RequestTimedOut
                | RDKafkaErrorCode::OperationTimedOut
                | RDKafkaErrorCode::NetworkException
        ),
        None => false,
    };
    if connection {
        BrokerError::Connection(format!("{what}: {error}"))
    } else {
        BrokerError::Rejected(format!("{what}: {error}"))
    }
}
