//! A [`DedupeStore`] on PostgreSQL: duplicates suppressed across every
//! member of a group and across restarts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::events::dedupe::{Begin, DedupeStore, StoreFuture};
use sqlx::{PgPool, Row};
use tokio::time::Instant;

use crate::names::stored_id;
use crate::{Error, Inbox};

/// The default longest a claim holds: 5 minutes. A member that crashed
/// while handling an event leaves its claim; another member may take the
/// event once the claim is this old.
pub const DEFAULT_CLAIM_TTL: Duration = Duration::from_secs(5 * 60);

/// The default time handled ids are remembered: 24 h. A duplicate arriving
/// later is handled again.
pub const DEFAULT_HANDLED_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// How often a store prunes the ids it no longer needs: at most once a
/// minute.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// The group's dedupe store in an [`Inbox`] table, shared by every member
/// of the group in every process: pass it to the subscriber with
/// `.dedupe(Arc::new(store))`.
///
/// # Bounds
///
/// - Per id: a group name or event id longer than 256 bytes is kept as its
///   SHA-256 digest (see [`Inbox`]).
/// - Handled ids are forgotten after the retention
///   ([`DEFAULT_HANDLED_RETENTION`]); the store prunes them in batches of
///   1,000, at most once a minute, on a task of its own. The table holds
///   the ids handled within the retention.
/// - A claim in progress lasts as long as the handler runs and is never
///   pruned while it lasts; a claim left by a member that crashed expires
///   after the claim time to live ([`DEFAULT_CLAIM_TTL`]), after which
///   another member takes the event. Choose it longer than the longest a
///   handler runs: a claim that expires while its handler still runs lets
///   a duplicate start beside it.
///
/// # Errors
///
/// Each statement waits at most the inbox's
/// [`statement_timeout`](Inbox::statement_timeout) (30 s) for the
/// database's answer; one not answered in time fails as below.
///
/// The [`DedupeStore`] trait cannot fail. When the database fails,
/// `begin` answers [`Begin::InProgress`] (the subscriber delivers the
/// event again after a backoff, so nothing is handled unchecked and nothing
/// is lost) and logs a warning; a failed `complete` logs a warning (the
/// event may be handled again if it is delivered again); a failed `abort`
/// logs a warning (the claim expires after its time to live).
#[derive(Debug)]
pub struct PgDedupe {
    inbox: Inbox,
    claim_ttl: Duration,
    retention: Duration,
    last_prune: Mutex<Option<Instant>>,
    pruning: Arc<AtomicBool>,
}

impl PgDedupe {
    /// A store in the default inbox table.
    pub fn new(pool: PgPool) -> Self {
        PgDedupe::in_inbox(Inbox::new(pool))
    }

    /// A store in `inbox`'s table.
    pub fn in_inbox(inbox: Inbox) -> Self {
        PgDedupe {
            inbox,
            claim_ttl: DEFAULT_CLAIM_TTL,
            retention: DEFAULT_HANDLED_RETENTION,
            last_prune: Mutex::new(None),
            pruning: Arc::default(),
        }
    }

    /// Sets how long a claim holds before another member may take the
    /// event. Default [`DEFAULT_CLAIM_TTL`].
    pub fn claim_ttl(mut self, ttl: Duration) -> Self {
        self.claim_ttl = ttl;
        self
    }

    /// Sets how long handled ids are remembered. Default
    /// [`DEFAULT_HANDLED_RETENTION`].
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The inbox it keeps its claims in.
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// Creates or brings up to date its table (see [`Inbox::migrate`]).
    pub async fn migrate(&self) -> Result<(), Error> {
        self.inbox.migrate().await
    }

    async fn try_begin(&self, group: &str, id: &str) -> Result<Begin, Error> {
        let (group, id) = (stored_id(group), stored_id(id));
        let pool = self.inbox.pool();
        let sql = self.inbox.sql();
        let claim = sqlx::query(&sql.begin)
            .bind(&*group)
            .bind(&*id)
            .bind(self.claim_ttl.as_secs_f64())
            .fetch_optional(pool);
        let claimed = self
            .inbox
            .bound()
            .answered("claiming an event", claim)
            .await?;
        if claimed.is_some() {
            return Ok(Begin::New);
        }
        let look = sqlx::query(&sql.state)
            .bind(&*group)
            .bind(&*id)
            .fetch_optional(pool);
        let state = self
            .inbox
            .bound()
            .answered("reading an event's state", look)
            .await?;
        let state: Option<String> = state.map(|row| row.try_get("state")).transpose()?;
        Ok(match state.as_deref() {
            Some("handled") => Begin::Duplicate,
            // Claimed by another member; or released between the two
            // statements, in which case the next delivery claims it.
            _ => Begin::InProgress,
        })
    }

    async fn settle(&self, statement: &str, group: &str, id: &str) -> Result<(), Error> {
        let (group, id) = (stored_id(group), stored_id(id));
        let settle = sqlx::query(statement)
            .bind(&*group)
            .bind(&*id)
            .execute(self.inbox.pool());
        self.inbox
            .bound()
            .answered("settling an event", settle)
            .await?;
        Ok(())
    }

    /// Starts a prune on a task of its own when the last one is a minute
    /// old and none runs.
    fn maybe_prune(&self) {
        {
            let mut last = self.last_prune.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < PRUNE_INTERVAL) {
                return;
            }
            *last = Some(Instant::now());
        }
        if self.pruning.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.pruning.store(false, Ordering::Release);
            return;
        };
        let (inbox, retention, pruning) =
            (self.inbox.clone(), self.retention, self.pruning.clone());
        runtime.spawn(async move {
            match inbox.prune(retention).await {
                Ok(0) => {}
                Ok(deleted) => tracing::debug!(deleted, table = inbox.table_name(), "inbox pruned"),
                Err(error) => {
                    tracing::warn!(%error, table = inbox.table_name(), "cannot prune the inbox")
                }
            }
            pruning.store(false, Ordering::Release);
        });
    }
}

impl DedupeStore for PgDedupe {
    fn begin<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, Begin> {
        Box::pin(async move {
            match self.try_begin(group, id).await {
                Ok(begun) => begun,
                Err(error) => {
                    tracing::warn!(
                        %error,
                        group,
                        event_id = id,
                        "cannot check the inbox; the event is taken as in progress and delivered again later"
                    );
                    Begin::InProgress
                }
            }
        })
    }

    fn complete<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if let Err(error) = self.settle(&self.inbox.sql().complete, group, id).await {
                tracing::warn!(
                    %error,
                    group,
                    event_id = id,
                    "cannot mark the event handled in the inbox; a duplicate of it may be handled again"
                );
            }
            self.maybe_prune();
        })
    }

    fn abort<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if let Err(error) = self.settle(&self.inbox.sql().abort, group, id).await {
                tracing::warn!(
                    %error,
                    group,
                    event_id = id,
                    "cannot release the inbox claim; it expires after its time to live"
                );
            }
        })
    }
}
