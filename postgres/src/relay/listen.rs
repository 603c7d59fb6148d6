//! Waking the relay when a write commits: LISTEN on the outbox's channel.
//!
//! Notifications are a shortcut, not the record: one sent while the
//! listening connection was down is lost, which the relay's polling
//! fallback covers. After each (re)connection the relay is woken once, for
//! whatever it may have missed.

use std::sync::Arc;

use accord::events::Backoff;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::Notify;

/// Listens on `channel` and wakes `wake` on each notification (wakes
/// coalesce: many before the relay looks count as one), reconnecting with
/// `backoff` when the connection fails. Runs until aborted.
pub(crate) async fn listen(pool: PgPool, channel: String, wake: Arc<Notify>, backoff: Backoff) {
    let mut failures = 0u32;
    loop {
        match subscribe(&pool, &channel).await {
            Ok(mut listener) => {
                wake.notify_one();
                loop {
                    match listener.recv().await {
                        Ok(_) => {
                            failures = 0;
                            wake.notify_one();
                        }
                        Err(error) => {
                            tracing::warn!(%error, channel, "outbox notifications interrupted; the relay polls meanwhile");
                            break;
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, channel, "cannot listen for outbox notifications; the relay polls meanwhile");
            }
        }
        failures = failures.saturating_add(1);
        tokio::time::sleep(backoff.delay(failures)).await;
    }
}

async fn subscribe(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    Ok(listener)
}
