//! A Redis-backed [`DedupeStore`](accord::events::DedupeStore) for accord
//! subscribers.
//!
//! accord's default store, [`MemoryDedupe`](accord::events::MemoryDedupe),
//! lives in one process: two members of a group, or one member after a
//! restart, can each handle a copy of the same event. [`RedisDedupe`] keeps
//! what a group has handled in Redis, shared by every member that points at
//! the same Redis and key prefix:
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use accord::{MemoryBroker, Subscriber};
//! use accord_redis::{RedisDedupe, RedisDedupeOptions};
//!
//! # async fn run(handlers: accord::events::EventHandlers) -> Result<(), Box<dyn std::error::Error>> {
//! let options = RedisDedupeOptions::new()
//!     .key_prefix("shop:dedupe")
//!     .claim_ttl(Duration::from_secs(120));
//! let dedupe = RedisDedupe::connect("redis://127.0.0.1:6379", options).await?;
//! let handle = Subscriber::new(MemoryBroker::new(), "inventory")
//!     .ack_wait(Duration::from_secs(30))
//!     .dedupe(Arc::new(dedupe))
//!     .start(handlers)
//!     .await?;
//! # handle.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # What it promises
//!
//! - An event id is handled at most once per group while its key lives:
//!   a copy that arrives while another member handles it waits (it is
//!   delivered again after a backoff), and one that arrives after it was
//!   handled or dead-lettered is acknowledged and skipped, on any member,
//!   also after a restart.
//! - A claim lasts at most the claim TTL ([`DEFAULT_CLAIM_TTL`], 5 min):
//!   the events of a member that crashed mid-handler are handled by
//!   another once it expires. The TTL must exceed the longest run of a
//!   handler; a claim that expires while its handler runs lets a copy be
//!   handled at the same time.
//! - A handled id is remembered for the retention window
//!   ([`DEFAULT_RETENTION`], 24 h); a copy arriving later is handled again.
//! - Every call is bounded in time: a connection within the connect
//!   timeout, each command within the response timeout
//!   ([`RedisDedupeOptions::call_timeout`] in all, 6 s by default).
//! - With Redis unreachable, events are not handled without the check:
//!   `begin` answers [`Begin::InProgress`](accord::events::Begin) and the
//!   subscriber delivers the event again later. A claim whose `complete`
//!   or `abort` failed expires after the claim TTL.
//!
//! # Memory
//!
//! Every key expires, so Redis's memory is the bound: one key per id
//! handled within the retention window, about 200 bytes each with UUID
//! ids (measured on Redis 7.0), plus one per handler running. 100 events a
//! second with the 24 h default hold about 8.6 million keys, some 1.7 GB;
//! shorten the retention for more. Ids longer than
//! [`DEFAULT_MAX_ID_LEN`] are kept as their SHA-256 digest, so no id costs
//! more than about 1.5 KiB of key.
//!
//! In the process a store holds one multiplexed connection and queues
//! nothing of its own: commands in flight are at most one per handler
//! running, so the subscriber's concurrency bounds them.
//!
//! Run Redis with `maxmemory-policy noeviction` (its default) or a
//! `volatile-*` policy only if losing an entry early is acceptable: an
//! evicted claim lets a copy be handled while the first runs, an evicted
//! handled id lets a later copy be handled again. Redis persistence (AOF
//! or RDB) keeps the entries across a restart of Redis; without it a
//! Redis restart forgets them.

mod connection;
mod error;
mod keys;
mod options;
mod store;

pub use connection::{RECONNECT_BACKOFF_FIRST, RECONNECT_BACKOFF_MAX};
pub use error::RedisDedupeError;
pub use options::{
    RedisDedupeOptions, DEFAULT_CLAIM_TTL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_KEY_PREFIX,
    DEFAULT_MAX_ID_LEN, DEFAULT_RESPONSE_TIMEOUT, DEFAULT_RETENTION,
};
pub use store::{RedisDedupe, DONE, WARNING_INTERVAL};
