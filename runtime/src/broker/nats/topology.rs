//! Declaring the streams and consumers accord uses, idempotently: what is
//! missing is created, what exists is reused, and the settings accord
//! manages are brought up to date.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::context::{
    ConsumerInfoErrorKind, CreateStreamErrorKind, GetStreamByNameErrorKind, GetStreamErrorKind,
};
use async_nats::jetstream::stream::{
    Config, ConsumerErrorKind, DiscardPolicy, RetentionPolicy, StorageType, Stream,
};
use async_nats::jetstream::{Context, ErrorCode};

use futures_util::future::BoxFuture;
use futures_util::StreamExt;

use super::pull::Source;
use super::{group, names, NatsBroker, DEFAULT_DUPLICATE_WINDOW};
use crate::broker::{BrokerError, SubscribeOptions};

/// A stream found or created for some subjects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamRef {
    /// Its name (shared: every publish looks the stream up).
    pub name: Arc<str>,
    /// Whether accord named and created it (rather than adopting a stream
    /// an operator declared for these subjects).
    pub owned: bool,
    /// How many key partitions of the topic the stream captures (0 for a
    /// stream without them, such as one an operator declared).
    pub partitions: usize,
}

/// The stream settings accord manages: those set are applied to the
/// streams accord creates and to those it created before; those not set
/// take JetStream's defaults (1 replica, a 2 minute duplicate window, no
/// age limit) on creation and are left alone afterwards.
#[derive(Debug, Clone)]
pub(crate) struct StreamSettings {
    pub duplicate_window: Option<Duration>,
    pub max_age: Option<Duration>,
    pub replicas: Option<usize>,
    pub key_partitions: usize,
    pub storage: StorageType,
}

/// Finds the stream that captures `subject` (a topic, or the dead-letter
/// wildcard), or creates `name` for it; a topic's stream (`keyed`) also
/// captures the topic's key partitions.
///
/// A stream another party declared for the subject is used as it is. A
/// stream accord declared earlier gets the managed settings of `settings`
/// when they differ, and the key partitions when it has none.
pub(crate) async fn declare_stream(
    js: &Context,
    name: &str,
    subject: &str,
    description: String,
    settings: &StreamSettings,
    keyed: bool,
) -> Result<StreamRef, BrokerError> {
    let mut last_error = String::new();
    // A concurrent declaration can win the race between the lookup and
    // the create; the next round finds its stream.
    for _ in 0..3 {
        match js.stream_by_subject(subject).await {
            Ok(found) if found == name => {
                let subjects =
                    update_settings(js, name, settings, keyed.then_some(subject)).await?;
                return Ok(StreamRef {
                    name: found.into(),
                    owned: true,
                    partitions: names::partitions_in(subject, &subjects),
                });
            }
            Ok(found) => {
                return Ok(StreamRef {
                    name: found.into(),
                    owned: false,
                    partitions: 0,
                })
            }
            Err(e) if e.kind() == GetStreamByNameErrorKind::NotFound => {}
            Err(e) => {
                return Err(api_error(
                    &format!("looking up the stream of `{subject}`"),
                    e,
                ))
            }
        }
        let config = stream_config(name, subject, description.clone(), settings, keyed);
        let partitions = names::partitions_in(subject, &config.subjects);
        match js.create_stream(config).await {
            Ok(_) => {
                tracing::info!(stream = name, subject, "declared a JetStream stream");
                return Ok(StreamRef {
                    name: name.into(),
                    owned: true,
                    partitions,
                });
            }
            Err(e) => match e.kind() {
                CreateStreamErrorKind::JetStream(err)
                    if err.error_code() == ErrorCode::STREAM_NAME_EXIST
                        || err.error_code() == ErrorCode::STREAM_SUBJECT_OVERLAP =>
                {
                    last_error = err.to_string();
                }
                CreateStreamErrorKind::JetStream(err) => {
                    return Err(BrokerError::Rejected(format!(
                        "creating stream `{name}` for `{subject}`: {err}"
                    )))
                }
                _ => return Err(api_error(&format!("creating stream `{name}`"), e)),
            },
        }
    }
    Err(BrokerError::Rejected(format!(
        "cannot declare stream `{name}` for `{subject}`: {last_error}; another stream may \
         capture some of these subjects, or a stream with this name captures others"
    )))
}

fn stream_config(
    name: &str,
    subject: &str,
    description: String,
    settings: &StreamSettings,
    keyed: bool,
) -> Config {
    let mut subjects = vec![subject.to_owned()];
    if keyed {
        add_partitions(&mut subjects, subject, settings.key_partitions);
    }
    let mut config = Config {
        name: name.to_owned(),
        description: Some(description),
        subjects,
        retention: RetentionPolicy::Limits,
        discard: DiscardPolicy::Old,
        storage: settings.storage,
        num_replicas: 1,
        duplicate_window: DEFAULT_DUPLICATE_WINDOW,
        ..Default::default()
    };
    apply(&mut config, settings);
    config
}

/// Adds `topic`'s key partitions to `subjects` when it has none.
fn add_partitions(subjects: &mut Vec<String>, topic: &str, partitions: usize) {
    if names::partitions_in(topic, subjects) == 0 {
        subjects.retain(|subject| names::topic_of_subject(subject) != topic || subject == topic);
        subjects.extend((0..partitions.max(1)).map(|p| names::partition_subject(topic, p)));
    }
}

/// Sets the managed settings on `config`.
fn apply(config: &mut Config, settings: &StreamSettings) {
    if let Some(age) = settings.max_age {
        config.max_age = age;
    }
    if let Some(window) = settings.duplicate_window {
        config.duplicate_window = window;
    }
    // JetStream refuses a duplicate window longer than the age limit.
    if !config.max_age.is_zero() && config.duplicate_window > config.max_age {
        config.duplicate_window = config.max_age;
    }
    if let Some(replicas) = settings.replicas {
        config.num_replicas = replicas;
    }
}

/// Brings the stream `name` to the managed settings (and the key partitions
/// of `keyed_topic`, when it has none); returns the subjects it captures.
async fn update_settings(
    js: &Context,
    name: &str,
    settings: &StreamSettings,
    keyed_topic: Option<&str>,
) -> Result<Vec<String>, BrokerError> {
    let current = match js.get_stream(name).await {
        Ok(stream) => stream.cached_info().config.clone(),
        Err(e) => match e.kind() {
            GetStreamErrorKind::JetStream(err) => {
                return Err(BrokerError::Rejected(format!(
                    "reading stream `{name}`: {err}"
                )))
            }
            _ => return Err(api_error(&format!("reading stream `{name}`"), e)),
        },
    };
    let mut wanted = current.clone();
    apply(&mut wanted, settings);
    if let Some(topic) = keyed_topic {
        add_partitions(&mut wanted.subjects, topic, settings.key_partitions);
    }
    if wanted == current {
        return Ok(current.subjects);
    }
    js.update_stream(&wanted)
        .await
        .map_err(|e| match e.kind() {
            CreateStreamErrorKind::JetStream(err) => {
                BrokerError::Rejected(format!("updating stream `{name}`: {err}"))
            }
            _ => api_error(&format!("updating stream `{name}`"), e),
        })?;
    tracing::info!(stream = name, "updated the settings of a JetStream stream");
    Ok(wanted.subjects)
}

/// What a durable pull consumer for a group is declared with.
#[derive(Debug, Clone)]
pub(crate) struct ConsumerSpec {
    pub name: String,
    pub description: String,
    /// The subject it reads; empty for the whole stream.
    pub filter_subject: String,
    pub ack_wait: Duration,
    pub max_ack_pending: i64,
    /// The subject whose readers decide where a new consumer starts.
    pub topic: String,
    /// Whether the stream holds only `topic`'s messages (a stream accord
    /// declared for it), so that any consumer of it reads the topic.
    pub stream_is_topic: bool,
    /// The names of the consumers the group reads `topic` through, this
    /// one included: they do not count as other readers.
    pub siblings: Vec<String>,
}

impl ConsumerSpec {
    pub(crate) fn config(&self, deliver_policy: DeliverPolicy) -> pull::Config {
        pull::Config {
            durable_name: Some(self.name.clone()),
            description: Some(self.description.clone()),
            deliver_policy,
            ack_policy: AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            // Unlimited: the subscriber decides when to give up and
            // dead-letters with a reason; a JetStream limit would stop
            // delivering the message without telling anyone.
            max_deliver: -1,
            filter_subject: self.filter_subject.clone(),
            max_ack_pending: self.max_ack_pending,
            ..Default::default()
        }
    }
}

/// Creates the durable consumer on `stream`, or updates it to `spec`.
///
/// A new consumer starts at the beginning of the stream when it is the
/// first to read its subject, so the messages published before any group
/// subscribed go to the first group; a group declared later starts with
/// the messages published from then on.
pub(crate) async fn declare_consumer(
    js: &Context,
    stream: &str,
    spec: &ConsumerSpec,
) -> Result<PullConsumer, BrokerError> {
    let handle = js
        .get_stream_no_info(stream)
        .await
        .map_err(|e| BrokerError::Rejected(format!("stream `{stream}`: {e}")))?;
    let what = || format!("declaring consumer `{}` on stream `{stream}`", spec.name);
    let deliver_policy = match handle.consumer_info(&spec.name).await {
        // Where a consumer starts cannot change once it exists.
        Ok(existing) => existing.config.deliver_policy,
        Err(e) if e.kind() == ConsumerInfoErrorKind::NotFound => {
            if has_other_reader(&handle, spec)
                .await
                .map_err(|e| api_error(&what(), e))?
            {
                DeliverPolicy::New
            } else {
                DeliverPolicy::All
            }
        }
        Err(e) => {
            return Err(match e.kind() {
                ConsumerInfoErrorKind::JetStream(_) | ConsumerInfoErrorKind::StreamNotFound => {
                    BrokerError::Rejected(format!("{}: {e}", what()))
                }
                _ => api_error(&what(), e),
            })
        }
    };
    handle
        .create_consumer(spec.config(deliver_policy))
        .await
        .map_err(|e| match e.kind() {
            ConsumerErrorKind::JetStream(err) => {
                BrokerError::Rejected(format!("{}: {err}", what()))
            }
            _ => api_error(&what(), e),
        })
}

/// Whether a consumer of `stream` other than `spec`'s siblings reads
/// `spec`'s topic.
async fn has_other_reader(stream: &Stream<()>, spec: &ConsumerSpec) -> Result<bool, String> {
    let subject = spec.topic.as_str();
    let mut consumers = stream.consumers();
    while let Some(info) = consumers.next().await {
        let info = info.map_err(|e| e.to_string())?;
        if spec.siblings.contains(&info.name) {
            continue;
        }
        if spec.stream_is_topic {
            return Ok(true);
        }
        let config = info.config;
        let filters: Vec<&str> = if !config.filter_subjects.is_empty() {
            config.filter_subjects.iter().map(String::as_str).collect()
        } else if !config.filter_subject.is_empty() {
            vec![config.filter_subject.as_str()]
        } else {
            // No filter: it reads the whole stream.
            return Ok(true);
        };
        if filters
            .iter()
            .any(|filter| subject_matches(filter, subject))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether the subject `filter` (which may hold `*` and `>` wildcards)
/// matches the literal `subject`.
pub(crate) fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for token in filter.split('.') {
        match (token, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (literal, Some(actual)) if literal == actual => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

/// A JetStream API call that failed for want of an answer.
pub(crate) fn api_error(what: &str, error: impl Display) -> BrokerError {
    BrokerError::Connection(format!("{what}: {error}"))
}

/// The least `max_ack_pending` of a group's consumers: JetStream's default,
/// raised to four times `max_in_flight` for larger limits, so several
/// members can each hold their limit.
pub(super) const MIN_MAX_ACK_PENDING: i64 = 1000;

impl NatsBroker {
    /// The stream capturing `topic`, declared if needed.
    pub(super) async fn topic_stream(&self, topic: &str) -> Result<StreamRef, BrokerError> {
        match self.cached_stream(topic) {
            Some(stream) => Ok(stream),
            None => self.declare_topic_stream(topic).await,
        }
    }

    /// Declares the stream of `topic` and keeps it for the next uses.
    ///
    /// Boxed: it runs once per topic, and the declaration's future would
    /// otherwise be part of every publish's, which awaits
    /// [`topic_stream`](Self::topic_stream): a generated publisher's
    /// publish future was 4.9 KB with it inline and is 2.0 KB without, so
    /// 1,024 publishes in flight hold about 3 MB less (each one is
    /// allocated and moved at its full size).
    fn declare_topic_stream<'a>(
        &'a self,
        topic: &'a str,
    ) -> BoxFuture<'a, Result<StreamRef, BrokerError>> {
        Box::pin(async move {
            names::check_subject_length(topic)?;
            names::check_topic(topic).map_err(BrokerError::Rejected)?;
            let stream = declare_stream(
                &self.inner.js,
                &self.topic_stream_name(topic),
                topic,
                format!("accord: events on `{topic}`"),
                &self.inner.settings,
                true,
            )
            .await?;
            self.lock_streams().insert(topic.to_owned(), stream.clone());
            Ok(stream)
        })
    }

    pub(super) fn cached_stream(&self, topic: &str) -> Option<StreamRef> {
        self.lock_streams().get(topic).cloned()
    }

    /// Forgets the stream of `topic`, so the next use declares it again.
    pub(super) fn forget_stream(&self, topic: &str) {
        self.lock_streams().remove(topic);
    }

    fn lock_streams(&self) -> std::sync::MutexGuard<'_, HashMap<String, StreamRef>> {
        // The map is only read and written whole; a panic elsewhere leaves
        // it consistent.
        self.inner
            .streams
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
    /// Declares `group`'s consumers on the stream of `topic`, redeclaring
    /// the stream once if it was deleted since it was looked up.
    ///
    /// Unordered, one consumer reads the topic. Ordered by key, one
    /// consumer per key partition holds at most one message unacked across
    /// the whole group, and one more reads the topic's unkeyed messages.
    pub(super) async fn group_sources(
        &self,
        topic: &str,
        group: &str,
        options: &SubscribeOptions,
    ) -> Result<Vec<Source>, BrokerError> {
        let mut retried = false;
        loop {
            let stream = self.topic_stream(topic).await?;
            let specs = group::group_specs(&stream, topic, group, options)?;
            let mut sources = Vec::with_capacity(specs.len());
            let mut failed = None;
            for (spec, max_batch) in specs {
                match declare_consumer(&self.inner.js, &stream.name, &spec).await {
                    Ok(consumer) => sources.push(Source {
                        stream: stream.name.clone(),
                        spec,
                        consumer,
                        max_batch,
                    }),
                    Err(error) => {
                        failed = Some(error);
                        break;
                    }
                }
            }
            match failed {
                None => return Ok(sources),
                Some(error @ BrokerError::Rejected(_)) if !retried => {
                    tracing::debug!(%error, "redeclaring the stream of `{topic}`");
                    self.forget_stream(topic);
                    retried = true;
                }
                Some(error) => return Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::subject_matches;

    #[test]
    fn filters_match_subjects_as_nats_does() {
        assert!(subject_matches("orders.placed", "orders.placed"));
        assert!(subject_matches("orders.*", "orders.placed"));
        assert!(subject_matches("orders.>", "orders.placed.eu"));
        assert!(subject_matches(">", "orders"));
        assert!(!subject_matches("orders.*", "orders.placed.eu"));
        assert!(!subject_matches("orders.>", "orders"));
        assert!(!subject_matches("orders.placed", "orders.placed.eu"));
        assert!(!subject_matches("orders.placed.eu", "orders.placed"));
        assert!(!subject_matches("billing.*", "orders.placed"));
    }
}
