//! [`RedisDedupe`]: the [`DedupeStore`] on Redis.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use accord::events::dedupe::StoreFuture;
use accord::events::{Begin, DedupeStore};
use tokio::time::Instant;

use crate::connection::Connection;
use crate::error::RedisDedupeError;
use crate::keys::dedupe_key;
use crate::options::{millis, RedisDedupeOptions};

/// The value of the key of a handled (or dead-lettered) id.
pub const DONE: &str = "done";

/// How often a store logs that Redis failed it: at most once every
/// 10 seconds, saying how many failures in between it did not log.
pub const WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// Deletes a claim only while it is still this store's: a claim that
/// expired and was taken by another member, or completed meanwhile, stays.
const RELEASE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
";

/// A [`DedupeStore`] on Redis, shared by every member of a group: an event
/// id is handled once per group across members and across restarts, for
/// as long as the store remembers it.
///
/// An id's key is `<prefix>:<group>:<id>` ([`key`](RedisDedupe::key)):
///
/// - [`begin`](DedupeStore::begin) sets it to this store's claim token
///   only if it is absent (`SET NX PX <claim ttl>`): [`Begin::New`]. A key
///   holding `done` is [`Begin::Duplicate`]; one holding a claim is
///   [`Begin::InProgress`], and the subscriber delivers the event again
///   after a backoff.
/// - [`complete`](DedupeStore::complete) sets it to `done` for the
///   retention window (`SET PX <retention>`).
/// - [`abort`](DedupeStore::abort) deletes it only if it still holds this
///   store's claim token (a Lua script), so a late abort never releases a
///   claim another member took after this one's expired.
///
/// Every entry expires: claims after the claim TTL (so a member that
/// crashed mid-handler holds its events no longer than that), handled ids
/// after the retention window. Redis's memory is the bound; see the crate
/// documentation for sizing it.
///
/// The [`DedupeStore`] methods cannot fail. When Redis cannot be reached
/// or does not answer in time, `begin` returns [`Begin::InProgress`], so
/// the event is delivered again later rather than handled without the
/// check, and `complete` and `abort` carry on; each logs a warning (at
/// most one every [`WARNING_INTERVAL`]). A claim left behind so expires
/// after the claim TTL. The `try_` methods return the error instead.
///
/// The claim token is one per store (`claim:` and a random UUID): give
/// each process its own store, not one store to several processes.
pub struct RedisDedupe {
    connection: Connection,
    options: RedisDedupeOptions,
    token: String,
    release: redis::Script,
    warnings: Warnings,
}

impl fmt::Debug for RedisDedupe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDedupe")
            .field("url", &self.connection.url())
            .field("options", &self.options)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl RedisDedupe {
    /// A store on the Redis at `url` (`redis://host:port/db`, or
    /// `rediss://` for TLS) with the default options. Nothing is sent
    /// yet: the connection is made on first use, so a service starts
    /// while Redis is down; call [`ping`](RedisDedupe::ping) to check.
    pub fn new(url: &str) -> Result<RedisDedupe, RedisDedupeError> {
        RedisDedupe::with_options(url, RedisDedupeOptions::default())
    }

    /// [`new`](RedisDedupe::new) with `options`.
    pub fn with_options(
        url: &str,
        options: RedisDedupeOptions,
    ) -> Result<RedisDedupe, RedisDedupeError> {
        Ok(RedisDedupe {
            connection: Connection::new(url, &options)?,
            token: format!("claim:{}", uuid::Uuid::new_v4().simple()),
            options,
            release: redis::Script::new(RELEASE_SCRIPT),
            warnings: Warnings::default(),
        })
    }

    /// A store as [`with_options`](RedisDedupe::with_options) makes it,
    /// once Redis answered a `PING`: for a service that should not start
    /// without its store.
    pub async fn connect(
        url: &str,
        options: RedisDedupeOptions,
    ) -> Result<RedisDedupe, RedisDedupeError> {
        let store = RedisDedupe::with_options(url, options)?;
        store.ping().await?;
        Ok(store)
    }

    /// Whether Redis answers, within
    /// [`call_timeout`](RedisDedupeOptions::call_timeout).
    pub async fn ping(&self) -> Result<(), RedisDedupeError> {
        self.bounded(async {
            let mut redis = self.connection.get().await?;
            let _: String = self.query(&redis::cmd("PING"), &mut redis).await?;
            Ok(())
        })
        .await
    }

    /// The options.
    pub fn options(&self) -> &RedisDedupeOptions {
        &self.options
    }

    /// The URL, without its password.
    pub fn url(&self) -> &str {
        self.connection.url()
    }

    /// The Redis key of `id` handled by `group`.
    pub fn key(&self, group: &str, id: &str) -> String {
        dedupe_key(&self.options.key_prefix, group, id, self.options.max_id_len)
    }

    /// [`DedupeStore::begin`], with the error instead of the fallback.
    pub async fn try_begin(&self, group: &str, id: &str) -> Result<Begin, RedisDedupeError> {
        let key = self.key(group, id);
        self.bounded(async {
            let mut redis = self.connection.get().await?;
            let mut claim = redis::cmd("SET");
            claim
                .arg(&key)
                .arg(&self.token)
                .arg("NX")
                .arg("PX")
                .arg(millis(self.options.claim_ttl));
            let claimed: Option<String> = self.query(&claim, &mut redis).await?;
            if claimed.is_some() {
                return Ok(Begin::New);
            }
            let mut read = redis::cmd("GET");
            read.arg(&key);
            let held: Option<Vec<u8>> = self.query(&read, &mut redis).await?;
            Ok(match held {
                Some(value) if value == DONE.as_bytes() => Begin::Duplicate,
                // A claim, or a key that expired or was released since the
                // SET: either way another look later settles it.
                _ => Begin::InProgress,
            })
        })
        .await
    }

    /// [`DedupeStore::complete`], with the error instead of the log line.
    pub async fn try_complete(&self, group: &str, id: &str) -> Result<(), RedisDedupeError> {
        let key = self.key(group, id);
        self.bounded(async {
            let mut redis = self.connection.get().await?;
            let mut done = redis::cmd("SET");
            done.arg(&key)
                .arg(DONE)
                .arg("PX")
                .arg(millis(self.options.retention));
            let _: String = self.query(&done, &mut redis).await?;
            Ok(())
        })
        .await
    }

    /// [`DedupeStore::abort`], with the error instead of the log line;
    /// whether this store's claim was released.
    pub async fn try_abort(&self, group: &str, id: &str) -> Result<bool, RedisDedupeError> {
        let key = self.key(group, id);
        self.bounded(async {
            let mut redis = self.connection.get().await?;
            let mut release = self.release.key(&key);
            release.arg(&self.token);
            let answer = tokio::time::timeout(
                self.connection.response_timeout(),
                release.invoke_async::<i64>(&mut redis),
            )
            .await
            .map_err(|_| self.connection.timed_out("answer"))?;
            answer
                .map(|deleted| deleted == 1)
                .map_err(|e| self.connection.failed(&e))
        })
        .await
    }

    /// Runs one command within the response timeout.
    async fn query<T: redis::FromRedisValue>(
        &self,
        command: &redis::Cmd,
        redis: &mut redis::aio::ConnectionManager,
    ) -> Result<T, RedisDedupeError> {
        tokio::time::timeout(
            self.connection.response_timeout(),
            command.query_async::<T>(redis),
        )
        .await
        .map_err(|_| self.connection.timed_out("answer"))?
        .map_err(|e| self.connection.failed(&e))
    }

    /// Runs `call` within the store's whole call bound, whatever happens
    /// inside it.
    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, RedisDedupeError>>,
    ) -> Result<T, RedisDedupeError> {
        let limit = self.options.call_timeout();
        tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
            Err(RedisDedupeError::TimedOut {
                url: self.connection.url().to_owned(),
                what: "answer to a store call",
                after: limit,
            })
        })
    }
}

impl DedupeStore for RedisDedupe {
    fn begin<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, Begin> {
        Box::pin(async move {
            match self.try_begin(group, id).await {
                Ok(begun) => begun,
                Err(error) => {
                    self.warnings.log(
                        "could not claim an event id in Redis; the event is delivered again later",
                        &self.key(group, id),
                        &error,
                    );
                    Begin::InProgress
                }
            }
        })
    }

    fn complete<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if let Err(error) = self.try_complete(group, id).await {
                self.warnings.log(
                    "could not record a handled event id in Redis; a copy of the event arriving \
                     after the claim expires is handled again",
                    &self.key(group, id),
                    &error,
                );
            }
        })
    }

    fn abort<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if let Err(error) = self.try_abort(group, id).await {
                self.warnings.log(
                    "could not release a claim in Redis; the event is handled again once the \
                     claim expires",
                    &self.key(group, id),
                    &error,
                );
            }
        })
    }
}

/// Warnings about Redis failing, at most one every [`WARNING_INTERVAL`].
#[derive(Debug, Default)]
struct Warnings {
    last: Mutex<Option<Instant>>,
    unlogged: AtomicU64,
}

impl Warnings {
    fn log(&self, what: &str, key: &str, error: &RedisDedupeError) {
        let now = Instant::now();
        {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| now.duration_since(at) < WARNING_INTERVAL) {
                self.unlogged.fetch_add(1, Ordering::Relaxed);
                return;
            }
            *last = Some(now);
        }
        let unlogged = self.unlogged.swap(0, Ordering::Relaxed);
        tracing::warn!(%error, key, failures_not_logged = unlogged, "{what}");
    }
}
