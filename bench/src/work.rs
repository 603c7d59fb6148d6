//! The work both HTTP servers do, and the payloads every benchmark sends.
//!
//! accord's server and the hand-written one call the same functions on the
//! same state, which takes no lock: placing an order prices its lines and
//! takes an id from an atomic counter; fetching one clones it from a table
//! filled at start.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use orders_contract::{
    CustomerId, Delivery, Line, NewOrder, Order, OrderError, OrderId, OrderPlaced, OrderStatus,
    Payment,
};

/// Prices in cents, by SKU.
const PRICES: &[(&str, u64)] = &[("apple", 50), ("pear", 70), ("melon", 300)];

/// How many orders the table holds; `GET /orders/{id}` finds ids 1 to this.
pub const STORED: u64 = 1024;

/// The id the GET benchmarks ask for.
pub const GET_ID: u64 = 42;

/// The state both servers share the code of.
#[derive(Debug)]
pub struct Work {
    next_id: AtomicU64,
    stored: Vec<Order>,
}

impl Default for Work {
    fn default() -> Self {
        Self::new()
    }
}

impl Work {
    /// A table of [`STORED`] orders; new orders are numbered after them.
    pub fn new() -> Self {
        let stored = (1..=STORED)
            .map(|id| Order {
                id: OrderId(id),
                status: OrderStatus::Placed,
                details: new_order(),
                total_cents: 100,
            })
            .collect();
        Work {
            next_id: AtomicU64::new(STORED + 1),
            stored,
        }
    }

    /// Prices `order` and gives it an id.
    pub fn place(&self, order: NewOrder) -> Result<Order, OrderError> {
        if order.lines.is_empty() {
            return Err(OrderError::Rejected {
                reason: "an order needs at least one line".into(),
            });
        }
        let mut total = 0u64;
        for line in &order.lines {
            let Some((_, price)) = PRICES.iter().find(|(sku, _)| *sku == line.sku) else {
                return Err(OrderError::Rejected {
                    reason: format!("unknown product `{}`", line.sku),
                });
            };
            total += price * u64::from(line.quantity);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        Ok(Order {
            id: OrderId(id),
            status: OrderStatus::Placed,
            details: order,
            total_cents: total,
        })
    }

    /// The stored order `id`.
    pub fn get(&self, id: OrderId) -> Result<Order, OrderError> {
        id.0.checked_sub(1)
            .and_then(|index| self.stored.get(usize::try_from(index).ok()?))
            .cloned()
            .ok_or(OrderError::NotFound { id })
    }
}

/// The order every POST sends: about 190 bytes of JSON.
pub fn new_order() -> NewOrder {
    NewOrder {
        customer_id: CustomerId("customer-42".into()),
        lines: vec![
            Line {
                sku: "apple".into(),
                quantity: 3,
            },
            Line {
                sku: "pear".into(),
                quantity: 1,
            },
        ],
        delivery: Delivery::Pickup {
            store: "north".into(),
        },
        payment: Payment::Card {
            last4: "4242".into(),
        },
        discounts: Vec::new(),
        gift_note: None,
        labels: BTreeMap::new(),
    }
}

/// The JSON body of [`new_order`].
pub fn new_order_json() -> String {
    serde_json::to_string(&new_order()).expect("an order serializes")
}

/// How many customers the events spread over: the event key, which a
/// broker may order deliveries by.
pub const CUSTOMERS: u64 = 1024;

/// The event the broker benchmarks publish, the `n`th; `total_cents`
/// carries the send time of latency probes (0 otherwise).
pub fn order_placed(n: u64, stamp: u64) -> OrderPlaced {
    OrderPlaced {
        order_id: OrderId(n),
        customer_id: CustomerId(format!("customer-{:04}", n % CUSTOMERS)),
        lines: new_order().lines,
        total_cents: stamp,
    }
}

/// What a hand-written publisher makes anew for each event, as accord's
/// publisher does: the CloudEvents id and time, and a trace context.
pub struct EventAttributes {
    pub id: String,
    pub time: String,
    pub traceparent: String,
}

impl EventAttributes {
    pub fn new() -> Self {
        EventAttributes {
            id: uuid::Uuid::new_v4().to_string(),
            time: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            traceparent: format!(
                "00-{:032x}-{:016x}-01",
                fastrand::u128(1..),
                fastrand::u64(1..)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_and_finds_orders() {
        let work = Work::new();
        let placed = work.place(new_order()).unwrap();
        assert_eq!(placed.id, OrderId(STORED + 1));
        assert_eq!(placed.total_cents, 3 * 50 + 70);
        assert_eq!(work.get(OrderId(GET_ID)).unwrap().id, OrderId(GET_ID));
        assert!(work.get(OrderId(0)).is_err());
        assert!(work.get(OrderId(STORED + 1)).is_err());
    }

    #[test]
    fn the_posted_body_is_small() {
        let body = new_order_json();
        assert!((120..260).contains(&body.len()), "{body}");
    }
}
