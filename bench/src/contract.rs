//! The event the broker benchmarks publish and consume.
//!
//! It is the orders contract's `order_placed` event, declared again on a
//! topic of the benchmark's own, so that a run never shares a JetStream
//! subject or a RabbitMQ binding with a shop or a test using the orders
//! contract on the same broker.

use orders_contract::OrderPlaced;

/// The `order_placed` event of the orders contract, on its own topic.
#[accord::service(name = "bench-orders", version = "1.0.0")]
pub trait BenchOrders {
    /// Published once an order is accepted.
    #[event(topic = "accord-bench.orders.placed", key = "customer_id")]
    async fn order_placed(&self, event: OrderPlaced);
}

/// The topic [`BenchOrders::order_placed`] is published on.
pub const TOPIC: &str = "accord-bench.orders.placed";
