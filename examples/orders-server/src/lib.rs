//! An in-memory orders service: the example server, and the implementation
//! accord's end-to-end tests run against.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use orders_contract::{
    NewOrder, Order, OrderError, OrderFilter, OrderId, OrderStats, OrderStatus, OrdersServer,
    StatusChange,
};

/// The products on sale: SKU, price in cents and units in stock at the
/// start; a SKU not listed is unknown.
pub const CATALOGUE: &[(&str, u64, u32)] = &[
    // sku, price in cents, units in stock
    ("apple", 50, 1_000_000),
    ("pear", 70, 1_000_000),
    ("melon", 300, 3),
    ("truffle", 9_900, 0),
];

/// The orders service, holding everything in memory.
#[derive(Debug, Default)]
pub struct InMemoryOrders {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    orders: BTreeMap<OrderId, Order>,
    stock: HashMap<String, u32>,
    stock_loaded: bool,
    cancellations: HashMap<String, OrderId>,
}

impl State {
    fn stock(&mut self) -> &mut HashMap<String, u32> {
        if !self.stock_loaded {
            self.stock = CATALOGUE
                .iter()
                .map(|(sku, _, units)| ((*sku).to_owned(), *units))
                .collect();
            self.stock_loaded = true;
        }
        &mut self.stock
    }
}

/// Checks `order` against the catalogue and the units `available` of each
/// SKU (several lines of one product together), and returns its total in
/// cents after discounts.
pub fn price(order: &NewOrder, available: impl Fn(&str) -> u32) -> Result<u64, OrderError> {
    if order.lines.is_empty() {
        return Err(OrderError::Rejected {
            reason: "an order needs at least one line".into(),
        });
    }
    let mut total = 0u64;
    // Units asked of each product so far: a product may be on several
    // lines, and together they must not take more than is in stock.
    let mut wanted: HashMap<&str, u64> = HashMap::new();
    for line in &order.lines {
        let Some((_, price, _)) = CATALOGUE.iter().find(|(sku, _, _)| *sku == line.sku) else {
            return Err(OrderError::Rejected {
                reason: format!("unknown product `{}`", line.sku),
            });
        };
        let available = available(&line.sku);
        let wanted = wanted.entry(&line.sku).or_default();
        *wanted += u64::from(line.quantity);
        if u64::from(available) < *wanted {
            return Err(OrderError::OutOfStock {
                sku: line.sku.clone(),
                available,
            });
        }
        total += price * u64::from(line.quantity);
    }
    let discount: u64 = order
        .discounts
        .iter()
        .map(|d| match d {
            orders_contract::Discount::Percent(p) => total * u64::from((*p).min(100)) / 100,
            orders_contract::Discount::Voucher { .. } => 0,
        })
        .sum();
    Ok(total.saturating_sub(discount))
}

/// Whether an order may go from `from` to `to`: a placed order may be
/// shipped or cancelled; setting the status it has changes nothing.
pub fn transition_allowed(from: OrderStatus, to: OrderStatus) -> bool {
    matches!(
        (from, to),
        (OrderStatus::Placed, OrderStatus::Shipped) | (OrderStatus::Placed, OrderStatus::Cancelled)
    ) || from == to
}

/// The name of a status in [`OrderStats::by_status`], as it goes on the
/// wire (`placed`, `shipped`, `cancelled`).
pub fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Placed => "placed",
        OrderStatus::Shipped => "shipped",
        OrderStatus::Cancelled => "cancelled",
    }
}

impl InMemoryOrders {
    /// An empty service with the built-in catalogue.
    pub fn new() -> Self {
        Self::default()
    }
}

impl OrdersServer for InMemoryOrders {
    async fn place_order(&self, order: NewOrder) -> Result<Order, OrderError> {
        let mut state = self.state.lock().expect("orders state poisoned");
        let stock = state.stock();
        let total = price(&order, |sku| stock.get(sku).copied().unwrap_or(0))?;
        for line in &order.lines {
            if let Some(units) = state.stock().get_mut(&line.sku) {
                *units -= line.quantity;
            }
        }
        state.next_id += 1;
        let placed = Order {
            id: OrderId(state.next_id),
            status: OrderStatus::Placed,
            details: order,
            total_cents: total,
        };
        state.orders.insert(placed.id, placed.clone());
        Ok(placed)
    }

    async fn get_order(&self, id: OrderId) -> Result<Order, OrderError> {
        let state = self.state.lock().expect("orders state poisoned");
        state
            .orders
            .get(&id)
            .cloned()
            .ok_or(OrderError::NotFound { id })
    }

    async fn list_orders(&self, filter: OrderFilter) -> Result<Vec<Order>, OrderError> {
        let state = self.state.lock().expect("orders state poisoned");
        let limit = filter.limit.unwrap_or(50) as usize;
        Ok(state
            .orders
            .values()
            .rev()
            .filter(|o| filter.status.is_none_or(|s| o.status == s))
            .filter(|o| {
                filter
                    .customer_id
                    .as_ref()
                    .is_none_or(|c| &o.details.customer_id.0 == c)
            })
            .take(limit)
            .cloned()
            .collect())
    }

    async fn set_status(&self, id: OrderId, change: StatusChange) -> Result<Order, OrderError> {
        let mut state = self.state.lock().expect("orders state poisoned");
        let order = state
            .orders
            .get_mut(&id)
            .ok_or(OrderError::NotFound { id })?;
        if !transition_allowed(order.status, change.status) {
            return Err(OrderError::InvalidTransition {
                from: order.status,
                to: change.status,
            });
        }
        order.status = change.status;
        Ok(order.clone())
    }

    async fn cancel_order(&self, id: OrderId, key: Option<String>) -> Result<(), OrderError> {
        let mut state = self.state.lock().expect("orders state poisoned");
        if let Some(key) = &key {
            if state.cancellations.get(key) == Some(&id) {
                return Ok(());
            }
        }
        let order = state
            .orders
            .get_mut(&id)
            .ok_or(OrderError::NotFound { id })?;
        if order.status == OrderStatus::Shipped {
            return Err(OrderError::InvalidTransition {
                from: order.status,
                to: OrderStatus::Cancelled,
            });
        }
        order.status = OrderStatus::Cancelled;
        if let Some(key) = key {
            state.cancellations.insert(key, id);
        }
        Ok(())
    }

    async fn stats(&self) -> OrderStats {
        let state = self.state.lock().expect("orders state poisoned");
        let mut stats = OrderStats::default();
        for order in state.orders.values() {
            *stats
                .by_status
                .entry(status_name(order.status).to_owned())
                .or_default() += 1;
            stats.total += 1;
        }
        stats
    }

    async fn health(&self) {}
}

#[cfg(test)]
mod tests {
    use orders_contract::{CustomerId, Delivery, Line, Payment};

    use super::*;

    fn order(lines: &[(&str, u32)]) -> NewOrder {
        NewOrder {
            customer_id: CustomerId("c1".into()),
            lines: lines
                .iter()
                .map(|(sku, quantity)| Line {
                    sku: (*sku).into(),
                    quantity: *quantity,
                })
                .collect(),
            delivery: Delivery::Pickup {
                store: "north".into(),
            },
            payment: Payment::Credit,
            discounts: Vec::new(),
            gift_note: None,
            labels: BTreeMap::new(),
        }
    }

    #[tokio::test]
    async fn lines_of_one_product_together_must_be_in_stock() {
        let orders = InMemoryOrders::new();
        let err = orders
            .place_order(order(&[("melon", 2), ("apple", 1), ("melon", 2)]))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            OrderError::OutOfStock {
                sku: "melon".into(),
                available: 3
            }
        );
        // Nothing was taken, and the service still answers.
        let placed = orders
            .place_order(order(&[("melon", 1), ("melon", 2)]))
            .await
            .unwrap();
        assert_eq!(placed.total_cents, 900);
        assert_eq!(orders.stats().await.total, 1);
    }
}
