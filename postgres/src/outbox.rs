//! Writing events into the outbox table, in the caller's transaction.

use std::sync::Arc;

use accord::broker::key_partition;
use accord::broker::Message;
use sqlx::{PgConnection, PgPool, Row};

use crate::names::{check_table_name, lock_space};
use crate::schema;
use crate::{Error, Staged};

/// The default outbox table: `accord_outbox`.
pub const DEFAULT_OUTBOX_TABLE: &str = "accord_outbox";

/// The default number of partitions: 16. Each is published by one relay at
/// a time, so it also bounds how many relays share the work.
pub const DEFAULT_PARTITIONS: u16 = 16;

/// The most partitions an outbox may have (the column is a `smallint`).
const MAX_PARTITIONS: u16 = i16::MAX as u16;

/// The partition of a message: FNV-1a (64 bits) of its key, or of its
/// event id when it has no key, modulo `partitions`. Every writer must
/// use the same number of partitions as the relays.
pub fn partition_of(key: Option<&str>, event_id: &str, partitions: u16) -> i16 {
    // Below `partitions`, which is at most `i16::MAX`.
    key_partition::partition_of(key.unwrap_or(event_id), usize::from(partitions)) as i16
}

/// An outbox table: where events wait, committed with the business write,
/// until a [`Relay`](crate::Relay) publishes them.
///
/// Cheap to clone. The table and partition count are fixed at
/// construction; writers and relays of one table must agree on both.
#[derive(Debug, Clone)]
pub struct Outbox {
    pool: PgPool,
    table: Arc<str>,
    partitions: u16,
    sql: Arc<OutboxSql>,
}

/// The statements naming the table, built once.
#[derive(Debug)]
struct OutboxSql {
    insert: String,
    pending: String,
}

impl Outbox {
    /// The default table ([`DEFAULT_OUTBOX_TABLE`]) with
    /// [`DEFAULT_PARTITIONS`] partitions.
    pub fn new(pool: PgPool) -> Self {
        Outbox::build(pool, DEFAULT_OUTBOX_TABLE.into(), DEFAULT_PARTITIONS)
    }

    /// Uses the table `name` instead: a plain lower-case identifier of at
    /// most [`MAX_TABLE_NAME_LEN`](crate::MAX_TABLE_NAME_LEN) bytes.
    pub fn table(self, name: &str) -> Result<Self, Error> {
        check_table_name(name)?;
        Ok(Outbox::build(self.pool, name.into(), self.partitions))
    }

    /// Uses `partitions` partitions (1 to 32,767) instead of
    /// [`DEFAULT_PARTITIONS`]. Changing it on a table with unsent rows
    /// strands the rows in partitions beyond the new count (the relay
    /// warns about them) and breaks per-key order across the change: drain
    /// the outbox first.
    pub fn partitions(self, partitions: u16) -> Self {
        let partitions = partitions.clamp(1, MAX_PARTITIONS);
        Outbox::build(self.pool, self.table, partitions)
    }

    fn build(pool: PgPool, table: Arc<str>, partitions: u16) -> Self {
        let sql = OutboxSql {
            insert: format!(
                "INSERT INTO \"{table}\" (event_id, topic, key, partition, headers, payload)
                 SELECT e, t, k, p, h::jsonb, b
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int2[], $5::text[], $6::bytea[])
                   AS m(e, t, k, p, h, b)"
            ),
            pending: format!(
                "SELECT count(*) AS n FROM \"{table}\" WHERE sent_at IS NULL AND failed_at IS NULL"
            ),
        };
        Outbox {
            pool,
            table,
            partitions,
            sql: Arc::new(sql),
        }
    }

    /// The table's name.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// The number of partitions.
    pub fn partition_count(&self) -> u16 {
        self.partitions
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The first key of the two-key advisory locks the relays of this
    /// table hold (a hash of its name): the second key is a partition
    /// number, or 2147483647 for the shared lock each running relay holds.
    /// Which session owns which partition shows in `pg_locks`:
    /// `SELECT pid, objid AS partition FROM pg_locks WHERE locktype =
    /// 'advisory' AND objsubid = 2 AND classid = <this>`.
    pub fn lock_space(&self) -> i32 {
        lock_space("outbox", &self.table)
    }

    /// The channel a write notifies and relays listen on: the table name.
    pub fn channel(&self) -> &str {
        &self.table
    }

    /// Creates or brings up to date the table and its indexes; the
    /// versions are kept in [`VERSION_TABLE`](crate::VERSION_TABLE).
    /// Idempotent; safe to call from several processes at once.
    pub async fn migrate(&self) -> Result<(), Error> {
        let component = format!("outbox:{}", self.table);
        schema::apply(&self.pool, &component, &self.table, schema::OUTBOX).await?;
        Ok(())
    }

    /// Inserts the messages `staged` recorded into the outbox, on `conn`
    /// (`&mut *tx` for a transaction), and notifies the relays, which hear
    /// of it when the transaction commits. The messages are committed or
    /// rolled back with the caller's transaction: rolled back, nothing is
    /// ever published.
    ///
    /// Once written, `staged` is empty. Returns how many were written.
    /// Each message needs an event id (the `ce-id` header, which a
    /// generated publisher always sets).
    pub async fn write(&self, conn: &mut PgConnection, staged: &Staged) -> Result<usize, Error> {
        let messages = staged.messages();
        self.insert(conn, &messages).await?;
        staged.written(messages.len());
        Ok(messages.len())
    }

    /// Inserts one message into the outbox on `conn`, as
    /// [`write`](Self::write) does for a recording.
    pub async fn publish_in(&self, conn: &mut PgConnection, message: Message) -> Result<(), Error> {
        self.insert(conn, std::slice::from_ref(&message)).await
    }

    /// How many rows wait to be published (neither sent nor failed).
    pub async fn pending(&self) -> Result<i64, Error> {
        let row = sqlx::query(&self.sql.pending).fetch_one(&self.pool).await?;
        Ok(row.try_get("n")?)
    }

    async fn insert(&self, conn: &mut PgConnection, messages: &[Message]) -> Result<(), Error> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::with_capacity(messages.len());
        let mut topics = Vec::with_capacity(messages.len());
        let mut keys = Vec::with_capacity(messages.len());
        let mut partitions = Vec::with_capacity(messages.len());
        let mut headers = Vec::with_capacity(messages.len());
        let mut payloads = Vec::with_capacity(messages.len());
        let mut notified = std::collections::BTreeSet::new();
        for message in messages {
            let id = storable(message)?;
            let partition = partition_of(message.key.as_deref(), id, self.partitions);
            notified.insert(partition);
            ids.push(id.to_owned());
            topics.push(message.topic.clone());
            keys.push(message.key.clone());
            partitions.push(partition);
            headers.push(
                serde_json::to_string(&message.headers).expect("string headers always encode"),
            );
            payloads.push(message.payload.to_vec());
        }
        sqlx::query(&self.sql.insert)
            .bind(ids)
            .bind(topics)
            .bind(keys)
            .bind(partitions)
            .bind(headers)
            .bind(payloads)
            .execute(&mut *conn)
            .await?;
        // PostgreSQL delivers a transaction's notifications when it
        // commits, and none when it rolls back.
        sqlx::query("SELECT pg_notify($1, p::text) FROM unnest($2::int2[]) AS p")
            .bind(&*self.table)
            .bind(notified.into_iter().collect::<Vec<i16>>())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// The message's event id, once it is known the table can hold it.
fn storable(message: &Message) -> Result<&str, Error> {
    let id = match message.id() {
        Some(id) if !id.is_empty() => id,
        _ => {
            return Err(Error::InvalidMessage(format!(
                "the message on `{}` has no event id (the `ce-id` header); the relay and the subscribers' dedupe need one",
                message.topic
            )))
        }
    };
    let nul = |text: &str| text.contains('\0');
    if nul(&message.topic) || message.key.as_deref().is_some_and(nul) {
        return Err(Error::InvalidMessage(format!(
            "event {id:?}: its topic or key holds a NUL character, which PostgreSQL text cannot store"
        )));
    }
    if let Some((name, _)) = message
        .headers
        .iter()
        .find(|(name, value)| nul(name) || nul(value))
    {
        return Err(Error::InvalidMessage(format!(
            "event {id:?}: the header {name:?} holds a NUL character, which PostgreSQL jsonb cannot store"
        )));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_decides_the_partition_and_an_id_stands_in_for_none() {
        let a = partition_of(Some("customer-7"), "id-1", 16);
        assert_eq!(a, partition_of(Some("customer-7"), "id-2", 16));
        assert!((0..16).contains(&a));
        assert_eq!(
            partition_of(None, "id-1", 16),
            partition_of(Some("id-1"), "x", 16)
        );
        assert_eq!(partition_of(Some("k"), "i", 1), 0);
    }

    #[test]
    fn messages_without_an_id_or_with_a_nul_are_refused_by_name() {
        let no_id = Message::new("orders.placed", "{}");
        let err = storable(&no_id).unwrap_err().to_string();
        assert!(
            err.contains("no event id") && err.contains("orders.placed"),
            "{err}"
        );
        let nul = Message::new("t", "{}")
            .with_header("ce-id", "e1")
            .with_header("x-note", "a\0b");
        let err = storable(&nul).unwrap_err().to_string();
        assert!(err.contains("x-note") && err.contains("NUL"), "{err}");
    }
}
