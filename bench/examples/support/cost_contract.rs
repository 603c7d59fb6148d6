//! The contract the cost examples publish and consume: the bench's event
//! on a topic of its own.

use orders_contract::OrderPlaced;

/// The event, on a topic of its own.
#[accord::service(name = "bench-orders", version = "1.0.0")]
pub trait CostOrders {
    /// Published once an order is accepted.
    #[event(topic = "accord-cost.orders.placed", key = "customer_id")]
    async fn order_placed(&self, event: OrderPlaced);
}

/// The topic of [`CostOrders::order_placed`].
pub const TOPIC: &str = "accord-cost.orders.placed";
