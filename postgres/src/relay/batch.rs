//! Publishing the unsent rows of one partition, in `seq` order, and
//! pruning sent rows.
//!
//! Each row is marked on the relay's own connection right after the
//! broker's confirm, one row at a time: sent, failed (the broker refused
//! it for good), or tried once more (a transient failure). A relay whose
//! connection is gone therefore learns it at the next mark and stops, and
//! the event it had just published is the only one it can have published
//! without marking it.

use std::time::Duration;

use accord::broker::limits::cap_text;
use accord::broker::{BrokerError, Headers, Message, Publish};
use bytes::Bytes;
use sqlx::{PgConnection, Row};

use super::stats::Counters;
use crate::bounded::Bound;

/// The longest `last_error` stored, in bytes.
const MAX_ERROR_BYTES: usize = 1_024;

/// The statements a relay runs, naming its table, built once, and how long
/// each may wait for PostgreSQL's answer.
#[derive(Debug)]
pub(crate) struct RelaySql {
    /// [`RelayOptions::statement_timeout`](super::RelayOptions::statement_timeout).
    pub(crate) bound: Bound,
    select: String,
    sent: String,
    failed: String,
    attempted: String,
    prune: String,
    stranded: String,
}

impl RelaySql {
    pub(crate) fn new(table: &str, limit: Duration) -> Self {
        let t = format!("\"{table}\"");
        RelaySql {
            bound: Bound::new(limit, "RelayOptions::statement_timeout"),
            select: format!(
                "SELECT seq, event_id, topic, key, headers::text AS headers, payload FROM {t}
                 WHERE partition = $1 AND sent_at IS NULL AND failed_at IS NULL
                 ORDER BY seq LIMIT $2"
            ),
            sent: format!(
                "UPDATE {t} SET sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE seq = $1"
            ),
            failed: format!(
                "UPDATE {t} SET failed_at = now(), attempts = attempts + 1, last_error = $2 WHERE seq = $1"
            ),
            attempted: format!(
                "UPDATE {t} SET attempts = attempts + 1, last_error = $2 WHERE seq = $1"
            ),
            prune: format!(
                "DELETE FROM {t} WHERE seq IN (
                   SELECT seq FROM {t}
                   WHERE sent_at < now() - $1::float8 * interval '1 second' AND partition = ANY($2)
                   LIMIT $3)"
            ),
            stranded: format!(
                "SELECT count(*) AS n FROM {t}
                 WHERE sent_at IS NULL AND failed_at IS NULL AND partition >= $1"
            ),
        }
    }
}

/// How publishing a batch of a partition ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Every row read was settled; `more` when the batch was full, so more
    /// rows may wait.
    Done { more: bool },
    /// The broker failed transiently on a row, which stays first in line.
    BrokerFailed(String),
    /// The relay was asked to stop between two rows.
    Stopped,
}

/// One outbox row, as read.
struct StoredRow {
    seq: i64,
    event_id: String,
    message: Result<Message, String>,
}

/// Publishes the first `batch` unsent rows of `partition`, in order.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn publish_batch<B: Publish>(
    conn: &mut PgConnection,
    sql: &RelaySql,
    broker: &B,
    partition: i16,
    batch: u32,
    publish_timeout: Duration,
    counters: &Counters,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Result<Outcome, sqlx::Error> {
    let read = sqlx::query(&sql.select)
        .bind(partition)
        .bind(i64::from(batch))
        .fetch_all(&mut *conn);
    let rows = sql.bound.answered("reading a partition", read).await?;
    let full = rows.len() as u64 >= u64::from(batch);
    for row in rows {
        if *stop.borrow() {
            return Ok(Outcome::Stopped);
        }
        let StoredRow {
            seq,
            event_id,
            message,
        } = read_row(&row)?;
        let message = match message {
            Ok(message) => message,
            Err(reason) => {
                mark_failed(conn, sql, seq, &event_id, &reason, counters).await?;
                continue;
            }
        };
        let published = match tokio::time::timeout(publish_timeout, broker.publish(message)).await {
            Ok(published) => published,
            Err(_) => Err(BrokerError::Timeout(publish_timeout)),
        };
        match published {
            Ok(()) => {
                let mark = sqlx::query(&sql.sent).bind(seq).execute(&mut *conn);
                sql.bound.answered("marking a row sent", mark).await?;
                counters.published();
            }
            Err(error @ (BrokerError::TooLarge(_) | BrokerError::Rejected(_))) => {
                let reason = format!("the broker refused the event: {error}");
                mark_failed(conn, sql, seq, &event_id, &reason, counters).await?;
            }
            Err(error) => {
                let reason = cap_text(&error.to_string(), MAX_ERROR_BYTES).into_owned();
                let mark = sqlx::query(&sql.attempted)
                    .bind(seq)
                    .bind(&reason)
                    .execute(&mut *conn);
                sql.bound
                    .answered("recording a failed attempt", mark)
                    .await?;
                counters.retried();
                return Ok(Outcome::BrokerFailed(reason));
            }
        }
    }
    Ok(Outcome::Done { more: full })
}

fn read_row(row: &sqlx::postgres::PgRow) -> Result<StoredRow, sqlx::Error> {
    let seq: i64 = row.try_get("seq")?;
    let event_id: String = row.try_get("event_id")?;
    let topic: String = row.try_get("topic")?;
    let key: Option<String> = row.try_get("key")?;
    let headers: String = row.try_get("headers")?;
    let payload: Vec<u8> = row.try_get("payload")?;
    let message = serde_json::from_str::<Headers>(&headers)
        .map(|headers| Message {
            topic,
            key,
            headers,
            payload: Bytes::from(payload),
        })
        .map_err(|e| format!("the stored headers are not a JSON object of strings: {e}"));
    Ok(StoredRow {
        seq,
        event_id,
        message,
    })
}

/// Marks the row `seq` failed with `reason`, keeping it in the table, and moves on.
async fn mark_failed(
    conn: &mut PgConnection,
    sql: &RelaySql,
    seq: i64,
    event_id: &str,
    reason: &str,
    counters: &Counters,
) -> Result<(), sqlx::Error> {
    let reason = cap_text(reason, MAX_ERROR_BYTES);
    let mark = sqlx::query(&sql.failed)
        .bind(seq)
        .bind(&*reason)
        .execute(&mut *conn);
    sql.bound.answered("marking a row failed", mark).await?;
    counters.failed();
    tracing::warn!(
        seq,
        event_id,
        %reason,
        "outbox event marked failed; it stays in the table and later events go on"
    );
    Ok(())
}

/// Deletes the rows of `partitions` sent longer than `retention` ago,
/// `batch` at a time, until none is left or the relay is asked to stop;
/// returns how many it deleted.
pub(crate) async fn prune(
    conn: &mut PgConnection,
    sql: &RelaySql,
    partitions: &[i16],
    retention: Duration,
    batch: u32,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Result<u64, sqlx::Error> {
    let mut deleted = 0;
    if partitions.is_empty() {
        return Ok(0);
    }
    while !*stop.borrow() {
        let delete = sqlx::query(&sql.prune)
            .bind(retention.as_secs_f64())
            .bind(partitions.to_vec())
            .bind(i64::from(batch))
            .execute(&mut *conn);
        let done = sql
            .bound
            .answered("pruning sent rows", delete)
            .await?
            .rows_affected();
        deleted += done;
        if done < u64::from(batch) {
            break;
        }
    }
    Ok(deleted)
}

/// How many unsent rows sit in partitions at or beyond `partitions`, where
/// no relay with this partition count looks: written with another count.
pub(crate) async fn stranded(
    conn: &mut PgConnection,
    sql: &RelaySql,
    partitions: u16,
) -> Result<i64, sqlx::Error> {
    let count = sqlx::query(&sql.stranded)
        .bind(i16::try_from(partitions).unwrap_or(i16::MAX))
        .fetch_one(&mut *conn);
    let row = sql.bound.answered("counting stranded rows", count).await?;
    row.try_get("n")
}
