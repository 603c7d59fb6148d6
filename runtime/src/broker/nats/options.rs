//! How a [`NatsBroker`](super::NatsBroker)(super::NatsBroker) names and declares what it uses.

use std::time::Duration;

use async_nats::jetstream::stream::StorageType;

use super::topology::StreamSettings;
use crate::broker::limits::DEFAULT_MAX_HEADER_BYTES;
use crate::tls::ClientTls;

use super::names::{DEFAULT_DEAD_LETTER_SUBJECT, DEFAULT_STREAM_PREFIX};

/// The default duplicate window of the streams accord declares (the
/// JetStream default).
pub const DEFAULT_DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// The default number of key partitions of the streams accord creates: how
/// many groups' members can handle keys in parallel in a group ordered by
/// key (see [`NatsOptions::key_partitions`]).
pub const DEFAULT_KEY_PARTITIONS: usize = 8;

/// The most key partitions a stream may have.
pub const MAX_KEY_PARTITIONS: usize = 256;

/// How the [`NatsBroker`](super::NatsBroker) names and declares what it uses.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    pub(super) stream_prefix: String,
    pub(super) dead_letter_subject: String,
    pub(super) duplicate_window: Option<Duration>,
    pub(super) publish_dedupe: bool,
    pub(super) max_age: Option<Duration>,
    pub(super) replicas: Option<usize>,
    pub(super) memory_storage: bool,
    pub(super) max_header_bytes: usize,
    pub(super) key_partitions: usize,
    pub(super) tls: Option<ClientTls>,
}

impl Default for NatsOptions {
    fn default() -> Self {
        NatsOptions {
            stream_prefix: DEFAULT_STREAM_PREFIX.to_owned(),
            dead_letter_subject: DEFAULT_DEAD_LETTER_SUBJECT.to_owned(),
            duplicate_window: None,
            publish_dedupe: true,
            max_age: None,
            replicas: None,
            memory_storage: false,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            key_partitions: DEFAULT_KEY_PARTITIONS,
            tls: None,
        }
    }
}

impl NatsOptions {
    /// The defaults: prefix `ACCORD`, dead letters on `accord.dead-letter.>`,
    /// publishes deduplicated by event id, file storage, headers of at most
    /// [`DEFAULT_MAX_HEADER_BYTES`] each; streams created with a 2 minute
    /// duplicate window, one replica and no age limit, and the settings of
    /// existing streams left as they are.
    pub fn new() -> Self {
        NatsOptions::default()
    }

    /// The prefix of every stream name (letters, digits, `-`, `_`; other
    /// characters are replaced).
    pub fn stream_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.stream_prefix = prefix.into();
        self
    }

    /// The subject prefix dead letters are published under: a group's go
    /// to `<subject>.<group>`.
    pub fn dead_letter_subject(mut self, subject: impl Into<String>) -> Self {
        self.dead_letter_subject = subject.into();
        self
    }

    /// How long JetStream remembers a message id to drop a repeated
    /// publish of it (default: 2 minutes for the streams accord creates).
    /// Also applied to the streams accord declared earlier.
    pub fn duplicate_window(mut self, window: Duration) -> Self {
        self.duplicate_window = Some(window);
        self
    }

    /// Whether a publish carries the event id as `Nats-Msg-Id`, so that
    /// JetStream stores a repeated publish of one event once (default on).
    /// Off, every publish is stored and delivered, and repeats are left to
    /// the subscriber's dedupe.
    pub fn publish_dedupe(mut self, on: bool) -> Self {
        self.publish_dedupe = on;
        self
    }

    /// How long the streams keep messages (default: until deleted). Also
    /// applied to the streams accord declared earlier.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// How many replicas each stream has in a JetStream cluster (default:
    /// 1 for the streams accord creates; 3 is the usual choice for a
    /// cluster). Also applied to the streams accord declared earlier.
    pub fn replicas(mut self, replicas: usize) -> Self {
        self.replicas = Some(replicas.max(1));
        self
    }

    /// Keeps the streams accord creates in memory instead of on disk.
    pub fn memory_storage(mut self, on: bool) -> Self {
        self.memory_storage = on;
        self
    }

    /// The largest header, name and value in bytes, that a publish, request
    /// or reply may carry (default [`DEFAULT_MAX_HEADER_BYTES`], 16 KiB); a
    /// larger one is refused with [`BrokerError::TooLarge`](crate::broker::BrokerError::TooLarge). The headers of
    /// an event together stay within JetStream's 64 KiB whatever this is.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// How many key partitions a stream accord creates has (default
    /// [`DEFAULT_KEY_PARTITIONS`], 8; between 1 and [`MAX_KEY_PARTITIONS`]).
    /// A keyed event is stored on the subject `<topic>._key.<p>`, `p` the
    /// FNV-1a hash of its key modulo the count; a group ordered by key has
    /// one consumer per partition with one message in flight, so this is
    /// how many keys such a group handles at once.
    ///
    /// The stream is the record: publishers and members read the count from
    /// the stream's subjects, so they agree whatever each was configured
    /// with; this setting only counts when accord creates the stream, or
    /// adds the partitions to a stream it created before they existed.
    pub fn key_partitions(mut self, partitions: usize) -> Self {
        self.key_partitions = partitions.clamp(1, MAX_KEY_PARTITIONS);
        self
    }

    /// Connects over TLS with these settings (the certificate authorities
    /// trusted, a client certificate for servers that verify clients), and
    /// refuses a server that does not offer TLS. Without it, TLS is used
    /// for `tls://` URLs, trusting the platform's store.
    pub fn tls(mut self, tls: ClientTls) -> Self {
        self.tls = Some(tls);
        self
    }

    pub(super) fn settings(&self) -> StreamSettings {
        StreamSettings {
            duplicate_window: self.duplicate_window,
            max_age: self.max_age,
            replicas: self.replicas,
            key_partitions: self.key_partitions,
            storage: if self.memory_storage {
                StorageType::Memory
            } else {
                StorageType::File
            },
        }
    }
}
