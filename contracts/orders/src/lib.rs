//! The orders service contract.
//!
//! accord's example contract and the fixture its tests run against. It uses
//! each serde enum representation (externally, internally and adjacently
//! tagged, and untagged), `Option`, `Vec`, maps, nested structs, a
//! unit-returning request, a query struct, a header and an event.

use std::collections::BTreeMap;

use accord::prelude::*;

/// An order's identifier.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    accord::Scalar,
)]
#[serde(transparent)]
#[schemars(example = 1042)]
pub struct OrderId(pub u64);

/// A customer's identifier.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    accord::Scalar,
)]
#[serde(transparent)]
#[schemars(example = &"cust-7")]
pub struct CustomerId(pub String);

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, accord::Scalar)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Accepted, not yet shipped.
    Placed,
    /// Handed to the carrier.
    Shipped,
    /// Cancelled before shipping.
    Cancelled,
}

/// How many of one product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Line {
    /// The product's stock-keeping unit.
    #[schemars(example = &"MUG-RED")]
    pub sku: String,
    /// How many; at least one.
    #[schemars(example = 2)]
    pub quantity: u32,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Address {
    pub street: String,
    pub city: String,
    /// ISO 3166-1 alpha-2 country code.
    #[schemars(example = &"NL")]
    pub country: String,
    /// Postal code, where the country has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
}

/// How the order reaches the customer (internally tagged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Delivery {
    /// Shipped to an address.
    Ship { address: Address, express: bool },
    /// Collected from a store.
    Pickup { store: String },
}

/// How the order is paid (adjacently tagged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "details", rename_all = "snake_case")]
pub enum Payment {
    Card {
        last4: String,
    },
    Invoice {
        due_days: u16,
    },
    /// Paid with store credit.
    Credit,
}

/// A discount (externally tagged, serde's default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum Discount {
    /// Percent off the total.
    Percent(u8),
    /// A voucher code.
    Voucher { code: String },
}

/// A gift note: plain text or a structured card (untagged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum GiftNote {
    Text(String),
    Card { to: String, message: String },
}

/// What a customer submits to place an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NewOrder {
    pub customer_id: CustomerId,
    /// The products ordered; not empty.
    pub lines: Vec<Line>,
    pub delivery: Delivery,
    pub payment: Payment,
    #[serde(default)]
    pub discounts: Vec<Discount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_note: Option<GiftNote>,
    /// Free-form labels, such as a campaign name.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// An order as the service keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Order {
    pub id: OrderId,
    pub status: OrderStatus,
    #[serde(flatten)]
    pub details: NewOrder,
    /// Total in cents.
    #[schemars(example = 2599)]
    pub total_cents: u64,
}

/// Which orders to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, accord::Query)]
pub struct OrderFilter {
    /// Only orders in this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrderStatus>,
    /// Only orders of this customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// At most this many orders (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// A change of an order's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatusChange {
    pub status: OrderStatus,
    /// Why, for the customer's records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Counts of orders per status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderStats {
    pub by_status: BTreeMap<String, u64>,
    pub total: u64,
}

/// Published once an order is accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(example = order_placed_example())]
pub struct OrderPlaced {
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub lines: Vec<Line>,
    pub total_cents: u64,
}

/// Published when an order is cancelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderCancelled {
    pub order_id: OrderId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"customer changed their mind")]
    pub reason: Option<String>,
}

/// The example event the published documents show.
fn order_placed_example() -> OrderPlaced {
    OrderPlaced {
        order_id: OrderId(1042),
        customer_id: CustomerId("cust-7".to_owned()),
        lines: vec![Line {
            sku: "MUG-RED".to_owned(),
            quantity: 2,
        }],
        total_cents: 2599,
    }
}

/// What can go wrong with an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum OrderError {
    /// No order has this id.
    #[status(404)]
    NotFound { id: OrderId },
    /// A product is not in stock.
    #[status(409)]
    OutOfStock { sku: String, available: u32 },
    /// The order cannot move to the requested status.
    #[status(409)]
    InvalidTransition { from: OrderStatus, to: OrderStatus },
    /// The order breaks a business rule.
    #[status(422)]
    Rejected { reason: String },
}

/// Places and tracks customer orders.
#[accord::service(name = "orders", version = "1.2.0")]
pub trait Orders {
    /// Place a new order.
    ///
    /// The order is checked against stock; when it is accepted, an
    /// `order_placed` event follows.
    #[request(method = "POST", path = "/orders", status = 201)]
    async fn place_order(&self, order: NewOrder) -> Result<Order, OrderError>;

    /// Fetch one order.
    #[request(method = "GET", path = "/orders/{id}")]
    async fn get_order(&self, id: OrderId) -> Result<Order, OrderError>;

    /// List orders, newest first.
    #[request(method = "GET", path = "/orders")]
    async fn list_orders(&self, #[query] filter: OrderFilter) -> Result<Vec<Order>, OrderError>;

    /// Change an order's status.
    #[request(method = "PUT", path = "/orders/{id}/status")]
    async fn set_status(&self, id: OrderId, change: StatusChange) -> Result<Order, OrderError>;

    /// Cancel an order. Repeating a cancellation with the same
    /// idempotency key has no further effect.
    #[request(method = "DELETE", path = "/orders/{id}")]
    async fn cancel_order(
        &self,
        id: OrderId,
        #[header("idempotency-key")] key: Option<String>,
    ) -> Result<(), OrderError>;

    /// Counts of orders per status.
    #[request(method = "GET", path = "/stats")]
    async fn stats(&self) -> OrderStats;

    /// Check that the service is up.
    #[request(method = "GET", path = "/health")]
    async fn health(&self);

    /// Published once an order is accepted.
    #[event(topic = "orders.placed", key = "customer_id")]
    async fn order_placed(&self, event: OrderPlaced);

    /// Published when an order is cancelled.
    #[event(topic = "orders.cancelled", key = "order_id")]
    async fn order_cancelled(&self, event: OrderCancelled) -> Result<(), OrderError>;
}
