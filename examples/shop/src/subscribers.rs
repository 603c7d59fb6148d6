//! The shop's subscriber groups: the inventory, ordered by key where the
//! broker keeps that order, and the notifications, whose mail relay
//! refuses one customer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::broker::{ConsumeEvents, KeyOrder};
use accord::events::{Backoff, DedupeStore, Subscriber};
use accord::SubscriberHandle;
use orders_contract::{Line, OrderCancelled, OrderError, OrderId, OrderPlaced, OrdersSubscriber};

use crate::{say, trace};

/// Reserves stock for placed orders and returns it for cancelled ones.
#[derive(Default)]
struct Inventory {
    reserved: Mutex<HashMap<OrderId, Vec<Line>>>,
}

impl OrdersSubscriber for Inventory {
    async fn order_placed(&self, event: OrderPlaced) {
        let units: u32 = event.lines.iter().map(|l| l.quantity).sum();
        self.reserved
            .lock()
            .expect("inventory state")
            .insert(event.order_id, event.lines);
        say(
            "inventory",
            &format!(
                "reserved {units} units for order {} {}",
                event.order_id.0,
                trace()
            ),
        );
    }

    async fn order_cancelled(&self, event: OrderCancelled) -> Result<(), OrderError> {
        let lines = self
            .reserved
            .lock()
            .expect("inventory state")
            .remove(&event.order_id);
        let units: u32 = lines.iter().flatten().map(|l| l.quantity).sum();
        say(
            "inventory",
            &format!(
                "returned {units} units of order {} to stock {}",
                event.order_id.0,
                trace()
            ),
        );
        Ok(())
    }
}

/// Emails customers; the mail relay refuses one customer's address.
struct Notifications;

impl OrdersSubscriber for Notifications {
    async fn order_placed(&self, event: OrderPlaced) {
        if event.customer_id.0 == "mallory" {
            say(
                "notifications",
                &format!(
                    "mail relay refused the address of {} {}",
                    event.customer_id.0,
                    trace()
                ),
            );
            panic!("mail relay refused recipient {}", event.customer_id.0);
        }
        say(
            "notifications",
            &format!(
                "emailed {} about order {} ({} cents) {}",
                event.customer_id.0,
                event.order_id.0,
                event.total_cents,
                trace()
            ),
        );
    }

    async fn order_cancelled(&self, event: OrderCancelled) -> Result<(), OrderError> {
        say(
            "notifications",
            &format!(
                "emailed the cancellation of order {} {}",
                event.order_id.0,
                trace()
            ),
        );
        Ok(())
    }
}

/// Starts the inventory group, deduplicating through `dedupe` where given
/// (the inbox of `--database`), otherwise in this process's memory.
pub async fn start_inventory<B: ConsumeEvents>(
    broker: B,
    dedupe: Option<Arc<dyn DedupeStore>>,
) -> Result<SubscriberHandle, accord::broker::BrokerError> {
    // Stock is reserved and returned in the order the events were
    // published, per key, where the broker keeps that order.
    let order = if broker.capabilities().per_key_order {
        KeyOrder::ByKey
    } else {
        KeyOrder::Unordered
    };
    let mut subscriber = Subscriber::new(broker, "inventory").key_order(order);
    if let Some(dedupe) = dedupe {
        subscriber = subscriber.dedupe(dedupe);
    }
    subscriber
        .start(Inventory::default().into_event_handlers())
        .await
}

/// Starts the notifications group, deduplicating through `dedupe` where
/// given, otherwise in this process's memory.
pub async fn start_notifications<B: ConsumeEvents>(
    broker: B,
    dedupe: Option<Arc<dyn DedupeStore>>,
) -> Result<SubscriberHandle, accord::broker::BrokerError> {
    let fast_retries = Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(400),
        multiplier: 2.0,
    };
    let mut subscriber = Subscriber::new(broker, "notifications")
        .max_attempts(3)
        .backoff(fast_retries);
    if let Some(dedupe) = dedupe {
        subscriber = subscriber.dedupe(dedupe);
    }
    subscriber.start(Notifications.into_event_handlers()).await
}
