//! The relay: publishes the outbox's committed rows to a broker.
//!
//! # What it guarantees
//!
//! - Every committed row is published, at least once, and marked sent
//!   after the broker's confirm. Rows of one partition (so of one key) are
//!   published one at a time in `seq` order.
//! - One relay at a time publishes a partition: it owns it through a
//!   session-level `pg_try_advisory_lock` on its own connection, which
//!   also carries every read and mark of that partition. Relays of one
//!   table share the partitions fairly (see the `ownership` module).
//! - A relay that dies (process killed, connection gone) loses its locks
//!   with its session; the other relays take its partitions within their
//!   [`rebalance_interval`](RelayOptions::rebalance_interval) and publish
//!   from the first row not marked sent.
//! - An event is published twice only when a relay dies (or loses its
//!   connection) between the broker's confirm and marking the row sent:
//!   at most one event per partition it owned, the last it published. The
//!   copy carries the same event id (`ce-id`), so the subscribers' dedupe
//!   absorbs it; it may arrive after events that followed it.
//!
//! # Failures
//!
//! - Broker down, or no confirm within
//!   [`publish_timeout`](RelayOptions::publish_timeout): the row's
//!   `attempts` and `last_error` are recorded and the partition is tried
//!   again after an exponential backoff with jitter
//!   ([`backoff`](RelayOptions::backoff)), without end; the row stays first
//!   in its partition, and the relay's other partitions go on.
//! - Refused for good ([`BrokerError::TooLarge`] or
//!   [`BrokerError::Rejected`]): the row is marked failed (`failed_at`,
//!   `last_error`), kept in the table, a warning is logged, and the
//!   partition moves on.
//! - Database down, or a statement not answered within
//!   [`statement_timeout`](RelayOptions::statement_timeout) (a stalled
//!   database keeps the connection open): the relay drops its connection
//!   (and so its partitions), and reconnects with the same backoff.
//!
//! [`BrokerError::TooLarge`]: accord::broker::BrokerError::TooLarge
//! [`BrokerError::Rejected`]: accord::broker::BrokerError::Rejected

mod batch;
mod listen;
mod options;
mod ownership;
mod retry;
mod stats;

use std::future::Future;
use std::sync::Arc;

use accord::broker::Publish;
use sqlx::PgConnection;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::Outbox;
use batch::{Outcome, RelaySql};
use ownership::Ownership;
use retry::Retries;
use stats::Counters;

pub use options::{
    RelayOptions, DEFAULT_BATCH_SIZE, DEFAULT_POLL_INTERVAL, DEFAULT_PRUNE_BATCH,
    DEFAULT_PRUNE_INTERVAL, DEFAULT_PUBLISH_TIMEOUT, DEFAULT_REBALANCE_INTERVAL, DEFAULT_RETENTION,
};
pub use stats::{describe_metrics, RelayStats, FAILED, PARTITIONS_OWNED, PUBLISHED, RETRIES};

/// Publishes an [`Outbox`]'s committed rows to a broker; see the
/// [module documentation](self) for its guarantees.
#[derive(Debug)]
pub struct Relay<B> {
    outbox: Outbox,
    broker: B,
    options: RelayOptions,
    counters: Counters,
}

impl<B: Publish> Relay<B> {
    /// A relay publishing `outbox` (its pool, table and partition count)
    /// to `broker`.
    pub fn new(outbox: &Outbox, broker: B, options: RelayOptions) -> Self {
        Relay {
            counters: Counters::new(outbox.table_name().into()),
            outbox: outbox.clone(),
            broker,
            options,
        }
    }

    /// What this relay has done so far.
    pub fn stats(&self) -> Arc<RelayStats> {
        self.counters.stats.clone()
    }

    /// Runs until `shutdown` completes, then finishes the event in flight
    /// and closes its connection, handing its partitions to other relays.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let (stop, stopped) = watch::channel(false);
        let work = self.work(stopped);
        tokio::pin!(work);
        tokio::select! {
            () = &mut work => return,
            () = shutdown => {
                let _ = stop.send(true);
            }
        }
        work.await
    }

    /// Runs on a task of its own; the handle stops it.
    pub fn spawn(self) -> RelayHandle {
        let (stop, stopped) = watch::channel(false);
        let stats = self.stats();
        RelayHandle {
            stop,
            stats,
            task: tokio::spawn(self.work(stopped)),
        }
    }

    async fn work(self, mut stop: watch::Receiver<bool>) {
        let wake = Arc::new(Notify::new());
        let _listener = AbortOnDrop(tokio::spawn(listen::listen(
            self.outbox.pool().clone(),
            self.outbox.channel().to_owned(),
            wake.clone(),
            self.options.backoff,
        )));
        let worker = Worker {
            sql: RelaySql::new(self.outbox.table_name(), self.options.statement_timeout),
            space: self.outbox.lock_space(),
            relay: self,
            wake,
        };
        let mut failures = 0u32;
        while !*stop.borrow() {
            match worker.session(&mut stop).await {
                Ok(()) => break,
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let delay = worker.relay.options.backoff.delay(failures);
                    tracing::warn!(
                        %error,
                        ?delay,
                        table = worker.relay.outbox.table_name(),
                        "outbox relay lost its database session; its partitions are released, reconnecting after the delay"
                    );
                    tokio::select! {
                        _ = stopped(&mut stop) => break,
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }
}

/// A running relay.
///
/// Dropping it stops the relay, as [`shutdown`](Self::shutdown) does,
/// without waiting for it.
#[derive(Debug)]
pub struct RelayHandle {
    stop: watch::Sender<bool>,
    stats: Arc<RelayStats>,
    task: JoinHandle<()>,
}

impl RelayHandle {
    /// What the relay has done so far.
    pub fn stats(&self) -> &RelayStats {
        &self.stats
    }

    /// Stops the relay: it finishes the event in flight, closes its
    /// connection and returns: within the broker's
    /// [`publish_timeout`](RelayOptions::publish_timeout) and a
    /// [`statement_timeout`](RelayOptions::statement_timeout) or two.
    pub async fn shutdown(self) {
        let RelayHandle { stop, task, .. } = self;
        let _ = stop.send(true);
        let _ = task.await;
    }

    /// Ends the relay at once, as a crash would: its connection is dropped
    /// mid-work and PostgreSQL releases its partitions to other relays. An
    /// event published but not yet marked sent is published again by the
    /// next owner.
    pub fn abort(self) {
        self.task.abort();
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Worker<B> {
    relay: Relay<B>,
    sql: RelaySql,
    space: i32,
    wake: Arc<Notify>,
}

impl<B: Publish> Worker<B> {
    /// One database session: owns partitions and publishes them until asked
    /// to stop (`Ok`) or the database fails (`Err`, the session is over).
    async fn session(&self, stop: &mut watch::Receiver<bool>) -> Result<(), sqlx::Error> {
        let relay = &self.relay;
        // A connection of its own, out of the pool: its session holds the
        // partition locks, and dropping it ends the session.
        let mut conn = relay.outbox.pool().acquire().await?.detach();
        let mut owned = Ownership::join(
            &mut conn,
            self.sql.bound,
            self.space,
            relay.outbox.partition_count(),
            relay.counters.clone(),
        )
        .await?;
        let served = self.serve(&mut conn, &mut owned, stop).await;
        owned.lost();
        if served.is_ok() {
            let close = sqlx::Connection::close(conn);
            if let Err(error) = self.sql.bound.answered("closing the session", close).await {
                tracing::debug!(%error, "closing the relay connection failed");
            }
        }
        served
    }

    async fn serve(
        &self,
        conn: &mut PgConnection,
        owned: &mut Ownership,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), sqlx::Error> {
        let options = &self.relay.options;
        let mut next_rebalance = Instant::now();
        let mut next_prune = Instant::now() + options.prune_interval;
        let mut retries = Retries::default();
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let now = Instant::now();
            if now >= next_rebalance {
                owned.rebalance(conn).await?;
                retries.keep_only(&owned.owned());
                next_rebalance = now + options.rebalance_interval;
            }
            if now >= next_prune {
                self.prune(conn, owned, stop).await?;
                next_prune = now + options.prune_interval;
            }
            match self.pass(conn, owned, &mut retries, stop).await? {
                Pass::More => continue,
                Pass::Stopped => return Ok(()),
                Pass::Idle => {}
            }
            let mut until = next_rebalance.min(Instant::now() + options.poll_interval);
            if let Some(retry) = retries.next() {
                until = until.min(retry);
            }
            tokio::select! {
                _ = stopped(stop) => return Ok(()),
                () = self.wake.notified() => {}
                () = tokio::time::sleep_until(until) => {}
            }
        }
    }

    /// One batch from each owned partition the broker has not failed on
    /// lately.
    async fn pass(
        &self,
        conn: &mut PgConnection,
        owned: &Ownership,
        retries: &mut Retries,
        stop: &watch::Receiver<bool>,
    ) -> Result<Pass, sqlx::Error> {
        let relay = &self.relay;
        let mut more = false;
        for partition in owned.owned() {
            if retries.waiting(partition, Instant::now()) {
                continue;
            }
            let outcome = batch::publish_batch(
                conn,
                &self.sql,
                &relay.broker,
                partition,
                relay.options.batch_size,
                relay.options.publish_timeout,
                &relay.counters,
                stop,
            )
            .await?;
            match outcome {
                Outcome::Done { more: full } => {
                    retries.succeeded(partition);
                    more |= full;
                }
                Outcome::Stopped => return Ok(Pass::Stopped),
                Outcome::BrokerFailed(reason) => {
                    let (attempt, delay) = retries.failed(partition, &relay.options.backoff);
                    tracing::warn!(
                        %reason,
                        partition,
                        attempt,
                        ?delay,
                        "the broker did not take an outbox event; its partition tries again after the delay"
                    );
                }
            }
        }
        Ok(if more { Pass::More } else { Pass::Idle })
    }

    async fn prune(
        &self,
        conn: &mut PgConnection,
        owned: &Ownership,
        stop: &watch::Receiver<bool>,
    ) -> Result<(), sqlx::Error> {
        let options = &self.relay.options;
        let partitions = owned.owned();
        let deleted = batch::prune(
            conn,
            &self.sql,
            &partitions,
            options.retention,
            options.prune_batch,
            stop,
        )
        .await?;
        if deleted > 0 {
            tracing::debug!(deleted, "sent outbox rows pruned");
        }
        if partitions.first() == Some(&0) {
            let count = self.relay.outbox.partition_count();
            let stranded = batch::stranded(conn, &self.sql, count).await?;
            if stranded > 0 {
                tracing::warn!(
                    stranded,
                    partitions = count,
                    table = self.relay.outbox.table_name(),
                    "unsent outbox rows sit in partitions beyond this relay's count: a writer uses another partition count, and no relay publishes them"
                );
            }
        }
        Ok(())
    }
}

/// How a pass over the owned partitions ended.
enum Pass {
    /// A partition had a full batch: go again at once.
    More,
    /// Nothing more to publish for now, or only in partitions held back
    /// after a broker failure.
    Idle,
    /// Asked to stop.
    Stopped,
}

/// Completes once a stop is asked for, or the handle is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}
