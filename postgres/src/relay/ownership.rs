//! Which partitions a relay publishes: each owned through a session-level
//! advisory lock on the relay's own connection.
//!
//! Locks are two-key: the first key is the table's lock space (a hash of
//! its name), the second the partition number, or [`MEMBER_KEY`] for the
//! shared lock every relay of the table holds while it runs. Counting the
//! holders of that shared lock in `pg_locks` tells a relay how many relays
//! there are, so each takes its fair share, `ceil(partitions / relays)`,
//! and hands back what it holds beyond it: a relay that joins gets work,
//! and the partitions of one whose connection is gone (PostgreSQL releases
//! a session's locks when it ends) are taken by the others within a
//! rebalance interval.

use std::collections::BTreeSet;

use sqlx::{PgConnection, Row};

use super::stats::Counters;
use crate::bounded::Bound;

/// The second key of the shared lock that marks a running relay; no
/// partition number reaches it (they are `smallint`s).
const MEMBER_KEY: i32 = i32::MAX;

/// The partitions one relay session owns.
#[derive(Debug)]
pub(crate) struct Ownership {
    space: i32,
    partitions: u16,
    owned: BTreeSet<i16>,
    counters: Counters,
    /// How long each statement on the session may wait.
    bound: Bound,
}

impl Ownership {
    /// Joins the table's relays on `conn` (holding the shared member lock
    /// for as long as the session lasts), owning nothing yet.
    pub(crate) async fn join(
        conn: &mut PgConnection,
        bound: Bound,
        space: i32,
        partitions: u16,
        counters: Counters,
    ) -> Result<Self, sqlx::Error> {
        let lock = sqlx::query("SELECT pg_advisory_lock_shared($1, $2)")
            .bind(space)
            .bind(MEMBER_KEY)
            .execute(&mut *conn);
        bound.answered("joining the table's relays", lock).await?;
        Ok(Ownership {
            space,
            partitions,
            owned: BTreeSet::new(),
            counters,
            bound,
        })
    }

    /// The partitions owned, in ascending order.
    pub(crate) fn owned(&self) -> Vec<i16> {
        self.owned.iter().copied().collect()
    }

    /// Hands back partitions beyond the fair share, and takes free ones up
    /// to it.
    pub(crate) async fn rebalance(&mut self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let before = self.owned.len();
        let count = sqlx::query(
            "SELECT
               (SELECT count(*) FROM pg_locks
                 WHERE locktype = 'advisory' AND database = d.oid AND granted
                   AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 2) AS relays,
               ARRAY(SELECT p::int2 FROM generate_series(0, $3 - 1) AS p
                 WHERE NOT EXISTS (SELECT 1 FROM pg_locks
                   WHERE locktype = 'advisory' AND database = d.oid AND granted
                     AND classid::bigint = $1 AND objid::bigint = p AND objsubid = 2)) AS free
             FROM pg_database d WHERE d.datname = current_database()",
        )
        .bind(i64::from(self.space))
        .bind(i64::from(MEMBER_KEY))
        .bind(i32::from(self.partitions))
        .fetch_one(&mut *conn);
        let row = self
            .bound
            .answered("counting the table's relays", count)
            .await?;
        let relays: i64 = row.try_get("relays")?;
        let mut free: Vec<i16> = row.try_get("free")?;
        let relays = relays.max(1) as usize;
        let fair = usize::from(self.partitions).div_ceil(relays);
        while self.owned.len() > fair {
            let extra = *self.owned.last().expect("more than the fair share");
            self.release(conn, extra).await?;
        }
        if self.owned.len() < fair && !free.is_empty() {
            // Start at a random place, so relays starting together do not
            // all reach for the same partitions.
            let start = fastrand::usize(..free.len());
            free.rotate_left(start);
            for partition in free {
                if self.owned.len() >= fair {
                    break;
                }
                let lock = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
                    .bind(self.space)
                    .bind(i32::from(partition))
                    .fetch_one(&mut *conn);
                let locked: bool = self.bound.answered("taking a partition", lock).await?;
                if locked {
                    self.owned.insert(partition);
                }
            }
        }
        if self.owned.len() != before {
            tracing::debug!(
                relays,
                fair,
                owned = ?self.owned,
                "outbox partitions rebalanced"
            );
        }
        self.counters.owned(before, self.owned.len());
        Ok(())
    }

    async fn release(
        &mut self,
        conn: &mut PgConnection,
        partition: i16,
    ) -> Result<(), sqlx::Error> {
        let unlock = sqlx::query("SELECT pg_advisory_unlock($1, $2)")
            .bind(self.space)
            .bind(i32::from(partition))
            .execute(&mut *conn);
        self.bound
            .answered("handing back a partition", unlock)
            .await?;
        self.owned.remove(&partition);
        Ok(())
    }

    /// Forgets every partition: the session ended, so PostgreSQL released
    /// the locks (or is about to, as the connection closes).
    pub(crate) fn lost(&mut self) {
        let before = self.owned.len();
        self.owned.clear();
        self.counters.owned(before, 0);
    }
}
