//! The orders calls over gRPC with tonic: protobuf messages equivalent to
//! the orders contract's types, written by hand with `prost`'s derive, and
//! the `orders.Orders` service (`PlaceOrder`, `GetOrder`) that `build.rs`
//! generates with tonic-build's manual builder.
//!
//! The server turns each message into the contract's types, does the shared
//! work and turns the result back; the client does the reverse, so both ends
//! hold the same values an accord user holds.

use std::collections::BTreeMap;
use std::sync::Arc;

use orders_contract as contract;
use tonic::{Code, Request, Response, Status};

use crate::work::Work;

mod generated {
    include!(concat!(env!("OUT_DIR"), "/orders.Orders.rs"));
}

pub use generated::orders_client::OrdersClient;
pub use generated::orders_server::OrdersServer;

/// `contract::NewOrder`; the tags the contract's enums carry in JSON are
/// `oneof`s here.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NewOrder {
    #[prost(string, tag = "1")]
    pub customer_id: String,
    #[prost(message, repeated, tag = "2")]
    pub lines: Vec<Line>,
    #[prost(oneof = "Delivery", tags = "3, 4")]
    pub delivery: Option<Delivery>,
    #[prost(oneof = "Payment", tags = "5, 6, 7")]
    pub payment: Option<Payment>,
    #[prost(message, repeated, tag = "8")]
    pub discounts: Vec<Discount>,
    #[prost(oneof = "GiftNote", tags = "9, 10")]
    pub gift_note: Option<GiftNote>,
    #[prost(btree_map = "string, string", tag = "11")]
    pub labels: BTreeMap<String, String>,
}

/// `contract::Line`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Line {
    #[prost(string, tag = "1")]
    pub sku: String,
    #[prost(uint32, tag = "2")]
    pub quantity: u32,
}

/// `contract::Delivery`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Delivery {
    #[prost(message, tag = "3")]
    Ship(Ship),
    #[prost(message, tag = "4")]
    Pickup(Pickup),
}

/// `contract::Delivery::Ship`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Ship {
    #[prost(message, optional, tag = "1")]
    pub address: Option<Address>,
    #[prost(bool, tag = "2")]
    pub express: bool,
}

/// `contract::Address`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Address {
    #[prost(string, tag = "1")]
    pub street: String,
    #[prost(string, tag = "2")]
    pub city: String,
    #[prost(string, tag = "3")]
    pub country: String,
    #[prost(string, optional, tag = "4")]
    pub postal_code: Option<String>,
}

/// `contract::Delivery::Pickup`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Pickup {
    #[prost(string, tag = "1")]
    pub store: String,
}

/// `contract::Payment`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Payment {
    #[prost(message, tag = "5")]
    Card(Card),
    #[prost(message, tag = "6")]
    Invoice(Invoice),
    #[prost(message, tag = "7")]
    Credit(Credit),
}

/// `contract::Payment::Card`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Card {
    #[prost(string, tag = "1")]
    pub last4: String,
}

/// `contract::Payment::Invoice`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Invoice {
    #[prost(uint32, tag = "1")]
    pub due_days: u32,
}

/// `contract::Payment::Credit`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Credit {}

/// `contract::Discount`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Discount {
    #[prost(oneof = "DiscountKind", tags = "1, 2")]
    pub kind: Option<DiscountKind>,
}

/// The variants of `contract::Discount`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum DiscountKind {
    #[prost(uint32, tag = "1")]
    Percent(u32),
    #[prost(string, tag = "2")]
    Voucher(String),
}

/// `contract::GiftNote`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum GiftNote {
    #[prost(string, tag = "9")]
    Text(String),
    #[prost(message, tag = "10")]
    Card(GiftCard),
}

/// `contract::GiftNote::Card`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GiftCard {
    #[prost(string, tag = "1")]
    pub to: String,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// `contract::OrderStatus`; 0 is protobuf's unset value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum OrderStatus {
    Unspecified = 0,
    Placed = 1,
    Shipped = 2,
    Cancelled = 3,
}

/// `contract::Order`; the contract flattens the order's details into it in
/// JSON, protobuf nests them.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Order {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(enumeration = "OrderStatus", tag = "2")]
    pub status: i32,
    #[prost(message, optional, tag = "3")]
    pub details: Option<NewOrder>,
    #[prost(uint64, tag = "4")]
    pub total_cents: u64,
}

/// The argument of `GetOrder`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetOrderRequest {
    #[prost(uint64, tag = "1")]
    pub id: u64,
}

fn missing(field: &str) -> Status {
    Status::invalid_argument(format!("`{field}` is missing"))
}

/// The message of a contract order.
pub fn to_new_order(order: contract::NewOrder) -> NewOrder {
    NewOrder {
        customer_id: order.customer_id.0,
        lines: order
            .lines
            .into_iter()
            .map(|line| Line {
                sku: line.sku,
                quantity: line.quantity,
            })
            .collect(),
        delivery: Some(match order.delivery {
            contract::Delivery::Ship { address, express } => Delivery::Ship(Ship {
                address: Some(Address {
                    street: address.street,
                    city: address.city,
                    country: address.country,
                    postal_code: address.postal_code,
                }),
                express,
            }),
            contract::Delivery::Pickup { store } => Delivery::Pickup(Pickup { store }),
        }),
        payment: Some(match order.payment {
            contract::Payment::Card { last4 } => Payment::Card(Card { last4 }),
            contract::Payment::Invoice { due_days } => Payment::Invoice(Invoice {
                due_days: u32::from(due_days),
            }),
            contract::Payment::Credit => Payment::Credit(Credit {}),
        }),
        discounts: order
            .discounts
            .into_iter()
            .map(|discount| Discount {
                kind: Some(match discount {
                    contract::Discount::Percent(percent) => {
                        DiscountKind::Percent(u32::from(percent))
                    }
                    contract::Discount::Voucher { code } => DiscountKind::Voucher(code),
                }),
            })
            .collect(),
        gift_note: order.gift_note.map(|note| match note {
            contract::GiftNote::Text(text) => GiftNote::Text(text),
            contract::GiftNote::Card { to, message } => GiftNote::Card(GiftCard { to, message }),
        }),
        labels: order.labels,
    }
}

/// The contract order of a message, or why it is not one.
pub fn from_new_order(order: NewOrder) -> Result<contract::NewOrder, Status> {
    let delivery = match order.delivery.ok_or_else(|| missing("delivery"))? {
        Delivery::Ship(ship) => {
            let address = ship.address.ok_or_else(|| missing("delivery.address"))?;
            contract::Delivery::Ship {
                address: contract::Address {
                    street: address.street,
                    city: address.city,
                    country: address.country,
                    postal_code: address.postal_code,
                },
                express: ship.express,
            }
        }
        Delivery::Pickup(pickup) => contract::Delivery::Pickup {
            store: pickup.store,
        },
    };
    let payment = match order.payment.ok_or_else(|| missing("payment"))? {
        Payment::Card(card) => contract::Payment::Card { last4: card.last4 },
        Payment::Invoice(invoice) => contract::Payment::Invoice {
            due_days: u16::try_from(invoice.due_days)
                .map_err(|_| Status::invalid_argument("`payment.due_days` is above 65535"))?,
        },
        Payment::Credit(Credit {}) => contract::Payment::Credit,
    };
    let discounts = order
        .discounts
        .into_iter()
        .map(
            |discount| match discount.kind.ok_or_else(|| missing("discount"))? {
                DiscountKind::Percent(percent) => u8::try_from(percent)
                    .map(contract::Discount::Percent)
                    .map_err(|_| Status::invalid_argument("a discount percent is above 255")),
                DiscountKind::Voucher(code) => Ok(contract::Discount::Voucher { code }),
            },
        )
        .collect::<Result<_, _>>()?;
    Ok(contract::NewOrder {
        customer_id: contract::CustomerId(order.customer_id),
        lines: order
            .lines
            .into_iter()
            .map(|line| contract::Line {
                sku: line.sku,
                quantity: line.quantity,
            })
            .collect(),
        delivery,
        payment,
        discounts,
        gift_note: order.gift_note.map(|note| match note {
            GiftNote::Text(text) => contract::GiftNote::Text(text),
            GiftNote::Card(card) => contract::GiftNote::Card {
                to: card.to,
                message: card.message,
            },
        }),
        labels: order.labels,
    })
}

/// The message of a contract order as the service keeps it.
pub fn to_order(order: contract::Order) -> Order {
    let status = match order.status {
        contract::OrderStatus::Placed => OrderStatus::Placed,
        contract::OrderStatus::Shipped => OrderStatus::Shipped,
        contract::OrderStatus::Cancelled => OrderStatus::Cancelled,
    };
    Order {
        id: order.id.0,
        status: status.into(),
        details: Some(to_new_order(order.details)),
        total_cents: order.total_cents,
    }
}

/// The contract order of a message, or why it is not one.
pub fn from_order(order: Order) -> Result<contract::Order, Status> {
    let status = match OrderStatus::try_from(order.status) {
        Ok(OrderStatus::Placed) => contract::OrderStatus::Placed,
        Ok(OrderStatus::Shipped) => contract::OrderStatus::Shipped,
        Ok(OrderStatus::Cancelled) => contract::OrderStatus::Cancelled,
        Ok(OrderStatus::Unspecified) | Err(_) => return Err(missing("status")),
    };
    Ok(contract::Order {
        id: contract::OrderId(order.id),
        status,
        details: from_new_order(order.details.ok_or_else(|| missing("details"))?)?,
        total_cents: order.total_cents,
    })
}

/// The gRPC status of a contract error, with its reason.
fn status_of(error: contract::OrderError) -> Status {
    use contract::OrderError;
    match error {
        OrderError::NotFound { id } => Status::new(Code::NotFound, format!("no order {}", id.0)),
        OrderError::OutOfStock { sku, available } => Status::new(
            Code::FailedPrecondition,
            format!("{sku}: {available} in stock"),
        ),
        OrderError::InvalidTransition { from, to } => Status::new(
            Code::FailedPrecondition,
            format!("cannot go from {from:?} to {to:?}"),
        ),
        OrderError::Rejected { reason } => Status::new(Code::InvalidArgument, reason),
    }
}

/// The service: the shared work, between the messages and the contract's
/// types.
#[derive(Debug, Default)]
pub struct GrpcOrders {
    work: Arc<Work>,
}

#[tonic::async_trait]
impl generated::orders_server::Orders for GrpcOrders {
    async fn place_order(&self, request: Request<NewOrder>) -> Result<Response<Order>, Status> {
        let order = from_new_order(request.into_inner())?;
        let placed = self.work.place(order).map_err(status_of)?;
        Ok(Response::new(to_order(placed)))
    }

    async fn get_order(
        &self,
        request: Request<GetOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let id = contract::OrderId(request.into_inner().id);
        let order = self.work.get(id).map_err(status_of)?;
        Ok(Response::new(to_order(order)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn an_order_survives_the_messages() {
        let mut order = crate::work::new_order();
        order.discounts = vec![
            contract::Discount::Percent(10),
            contract::Discount::Voucher {
                code: "WELCOME".into(),
            },
        ];
        order.gift_note = Some(contract::GiftNote::Card {
            to: "Ann".into(),
            message: "enjoy".into(),
        });
        order.labels.insert("campaign".into(), "spring".into());
        order.delivery = contract::Delivery::Ship {
            address: contract::Address {
                street: "1 Main St".into(),
                city: "Utrecht".into(),
                country: "NL".into(),
                postal_code: Some("3511".into()),
            },
            express: true,
        };
        let placed = contract::Order {
            id: contract::OrderId(7),
            status: contract::OrderStatus::Shipped,
            details: order,
            total_cents: 220,
        };
        let bytes = to_order(placed.clone()).encode_to_vec();
        let decoded = Order::decode(bytes.as_slice()).unwrap();
        assert_eq!(from_order(decoded).unwrap(), placed);
    }

    #[test]
    fn an_order_without_a_payment_is_refused() {
        let mut message = to_new_order(crate::work::new_order());
        message.payment = None;
        let error = from_new_order(message).unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
        assert!(error.message().contains("payment"), "{error:?}");
    }
}
