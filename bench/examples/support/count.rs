//! The cost examples' handler: counts the events handled, touching each
//! as a handler would, for both sides of a consume.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use orders_contract::OrderPlaced;

use crate::cost_contract::CostOrdersSubscriber;

/// The longest a side may take to handle what it was given.
pub const HANDLE_WAIT: Duration = Duration::from_secs(600);

/// Events handled so far.
#[derive(Clone, Default)]
pub struct Count(Arc<AtomicU64>);

impl Count {
    /// Handles `event`: reads it, and counts it.
    pub fn handle(&self, event: &OrderPlaced) {
        std::hint::black_box(event.lines.len());
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// How many were handled.
    pub fn handled(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Waits until `count` are handled, at most [`HANDLE_WAIT`].
    pub async fn wait_for(&self, count: u64) -> Result<()> {
        let deadline = tokio::time::Instant::now() + HANDLE_WAIT;
        while self.handled() < count {
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "only {} of {count} handled within {HANDLE_WAIT:?}",
                    self.handled()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }
}

impl CostOrdersSubscriber for Count {
    async fn order_placed(&self, event: OrderPlaced) {
        self.handle(&event);
    }
}
