//! The inbox table, and marking an event handled in the handler's own
//! transaction.

use std::sync::Arc;
use std::time::Duration;

use accord::EventAttributes;
use sqlx::{PgConnection, PgPool};

use crate::bounded::{Bound, DEFAULT_STATEMENT_TIMEOUT};
use crate::names::{check_table_name, stored_id};
use crate::schema;
use crate::Error;

/// The default inbox table: `accord_inbox`.
pub const DEFAULT_INBOX_TABLE: &str = "accord_inbox";

/// The setting that bounds the inbox's statements, as errors name it.
const SETTING: &str = "Inbox::statement_timeout";

/// The most rows one prune statement deletes.
const PRUNE_BATCH: i64 = 1_000;

/// An inbox table: which events each subscriber group claimed or handled,
/// by event id.
///
/// A row is `(group_name, event_id, state, claimed_until, completed_at)`;
/// a group name or event id longer than 256 bytes (or holding a NUL, as a
/// replayed dead letter's dedupe id does) is stored as `sha256:<hex>` of
/// it. [`PgDedupe`](crate::PgDedupe) keeps its claims here; [`claim`](Self::claim)
/// lets a handler that writes to the same database record "handled" in its
/// own transaction. Both can share one table.
#[derive(Debug, Clone)]
pub struct Inbox {
    pool: PgPool,
    table: Arc<str>,
    sql: Arc<InboxSql>,
    bound: Bound,
}

/// The statements naming the table, built once.
#[derive(Debug)]
pub(crate) struct InboxSql {
    pub(crate) claim: String,
    pub(crate) begin: String,
    pub(crate) state: String,
    pub(crate) complete: String,
    pub(crate) abort: String,
    prune: String,
}

impl Inbox {
    /// The default table, [`DEFAULT_INBOX_TABLE`].
    pub fn new(pool: PgPool) -> Self {
        Inbox::build(pool, DEFAULT_INBOX_TABLE.into())
    }

    /// Uses the table `name` instead: a plain lower-case identifier of at
    /// most [`MAX_TABLE_NAME_LEN`](crate::MAX_TABLE_NAME_LEN) bytes.
    pub fn table(self, name: &str) -> Result<Self, Error> {
        check_table_name(name)?;
        let bound = self.bound;
        Ok(Inbox {
            bound,
            ..Inbox::build(self.pool, name.into())
        })
    }

    /// Sets how long one statement the inbox runs on its own (a
    /// [`PgDedupe`](crate::PgDedupe) claim or mark, a prune statement) waits
    /// for PostgreSQL's answer before it fails (more than zero). Default
    /// [`DEFAULT_STATEMENT_TIMEOUT`] (30 s). [`claim`](Self::claim) runs in
    /// the handler's transaction and waits as long as a duplicate's
    /// transaction holds the row.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.bound = Bound::new(timeout, SETTING);
        self
    }

    /// How long a statement the inbox runs on its own may wait.
    pub(crate) fn bound(&self) -> &Bound {
        &self.bound
    }

    fn build(pool: PgPool, table: Arc<str>) -> Self {
        let t = format!("\"{table}\"");
        let sql = InboxSql {
            claim: format!(
                "INSERT INTO {t} AS i (group_name, event_id, state, completed_at)
                 VALUES ($1, $2, 'handled', now())
                 ON CONFLICT (group_name, event_id) DO UPDATE
                   SET state = 'handled', completed_at = now(), claimed_until = NULL
                   WHERE i.state = 'claimed'
                 RETURNING 1 AS claimed"
            ),
            begin: format!(
                "INSERT INTO {t} AS i (group_name, event_id, state, claimed_until)
                 VALUES ($1, $2, 'claimed', now() + $3::float8 * interval '1 second')
                 ON CONFLICT (group_name, event_id) DO UPDATE
                   SET claimed_until = EXCLUDED.claimed_until
                   WHERE i.state = 'claimed' AND i.claimed_until < now()
                 RETURNING 1 AS claimed"
            ),
            state: format!("SELECT state FROM {t} WHERE group_name = $1 AND event_id = $2"),
            complete: format!(
                "INSERT INTO {t} AS i (group_name, event_id, state, completed_at)
                 VALUES ($1, $2, 'handled', now())
                 ON CONFLICT (group_name, event_id) DO UPDATE
                   SET state = 'handled', completed_at = now(), claimed_until = NULL"
            ),
            abort: format!(
                "DELETE FROM {t} WHERE group_name = $1 AND event_id = $2 AND state = 'claimed'"
            ),
            prune: format!(
                "DELETE FROM {t} WHERE (group_name, event_id) IN (
                   SELECT group_name, event_id FROM {t}
                   WHERE coalesce(completed_at, claimed_until) < now() - $1::float8 * interval '1 second'
                   LIMIT $2)"
            ),
        };
        Inbox {
            pool,
            table,
            sql: Arc::new(sql),
            bound: Bound::new(DEFAULT_STATEMENT_TIMEOUT, SETTING),
        }
    }

    /// The table's name.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) fn sql(&self) -> &InboxSql {
        &self.sql
    }

    /// Creates or brings up to date the table; idempotent and safe to call
    /// from several processes at once.
    pub async fn migrate(&self) -> Result<(), Error> {
        let component = format!("inbox:{}", self.table);
        schema::apply(&self.pool, &component, &self.table, schema::INBOX).await?;
        Ok(())
    }

    /// Marks the event being handled (its group and id) handled, on `conn`:
    /// the handler's own transaction (`&mut *tx`). `true`: the first time,
    /// go on and make the effect; `false`: the group already handled it,
    /// skip it.
    ///
    /// The mark commits or rolls back with the handler's writes: rolled
    /// back (the handler failed), the event is handled again when it is
    /// delivered again. A duplicate handled at the same time by another
    /// member waits on the table's unique index until this transaction ends,
    /// then sees `false` if it committed. A claim [`PgDedupe`](crate::PgDedupe)
    /// holds on the event in the same table becomes the mark.
    pub async fn claim(
        &self,
        conn: &mut PgConnection,
        event: &EventAttributes,
    ) -> Result<bool, Error> {
        self.claim_id(conn, &event.group, &event.id).await
    }

    /// [`claim`](Self::claim) by group and event id.
    pub async fn claim_id(
        &self,
        conn: &mut PgConnection,
        group: &str,
        id: &str,
    ) -> Result<bool, Error> {
        let claimed = sqlx::query(&self.sql.claim)
            .bind(&*stored_id(group))
            .bind(&*stored_id(id))
            .fetch_optional(&mut *conn)
            .await?;
        Ok(claimed.is_some())
    }

    /// Deletes the rows handled longer than `retention` ago, and claims
    /// that expired longer than `retention` ago, at most 1,000 per
    /// statement until none is left; returns how many. A forgotten id
    /// counts as new again. [`PgDedupe`](crate::PgDedupe) calls it on its
    /// own; a table used only through [`claim`](Self::claim) needs it
    /// called now and then.
    pub async fn prune(&self, retention: Duration) -> Result<u64, Error> {
        let mut deleted = 0;
        loop {
            let delete = sqlx::query(&self.sql.prune)
                .bind(retention.as_secs_f64())
                .bind(PRUNE_BATCH)
                .execute(&self.pool);
            let done = self
                .bound
                .answered("pruning the inbox", delete)
                .await?
                .rows_affected();
            deleted += done;
            if done < PRUNE_BATCH as u64 {
                return Ok(deleted);
            }
        }
    }
}
