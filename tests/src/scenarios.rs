//! The orders contract end to end, written once against
//! `OrdersClient<T: Transport>` so every transport runs the same calls and
//! must give the same answers.
//!
//! Each scenario expects a fresh service (order ids start at 1), asserts
//! what a caller sees, and returns a [`Transcript`] of every result so that
//! two transports can be compared answer for answer.

use std::collections::BTreeMap;
use std::fmt::Debug;

use accord::{CallError, Transport};
use orders_contract::{
    Address, CustomerId, Delivery, Discount, GiftNote, Line, NewOrder, Order, OrderError,
    OrderFilter, OrderId, OrderStatus, Payment, StatusChange,
};
use serde::Serialize;
use serde_json::{json, Value};

use crate::OrdersEnv;

/// Every result a scenario saw, in order, labelled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transcript(pub Vec<(String, Value)>);

impl Transcript {
    /// Records a call's outcome: the value, the typed service error, or a
    /// description of any other failure.
    pub fn record<T: Serialize, E: Serialize + Debug>(
        &mut self,
        label: &str,
        result: &Result<T, CallError<E>>,
    ) {
        let value = match result {
            Ok(value) => json!({ "ok": value }),
            Err(CallError::Service(error)) => json!({ "service_error": error }),
            Err(other) => json!({ "failed": other.to_string() }),
        };
        self.0.push((label.to_owned(), value));
    }
}

/// Unwraps a successful call, failing the test with the error otherwise.
#[track_caller]
pub fn ok<T, E: Debug>(label: &str, result: Result<T, CallError<E>>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{label}: expected success, got {error}"),
    }
}

/// The typed service error of a failed call; fails the test otherwise.
#[track_caller]
pub fn service_error<T: Debug, E: Debug>(label: &str, result: Result<T, CallError<E>>) -> E {
    match result {
        Err(CallError::Service(error)) => error,
        Ok(value) => panic!("{label}: expected a service error, got Ok({value:?})"),
        Err(other) => panic!("{label}: expected a service error, got {other}"),
    }
}

/// A one-line order collected from the central store, paid with credit.
pub fn pickup_order(customer: &str, sku: &str, quantity: u32) -> NewOrder {
    NewOrder {
        customer_id: CustomerId(customer.to_owned()),
        lines: vec![Line {
            sku: sku.to_owned(),
            quantity,
        }],
        delivery: Delivery::Pickup {
            store: "central".to_owned(),
        },
        payment: Payment::Credit,
        discounts: Vec::new(),
        gift_note: None,
        labels: BTreeMap::new(),
    }
}

/// An order with every optional part filled in: two lines, shipping with a
/// postal code, a card, two discounts, a gift card and labels. Its total is
/// 2 x 50 + 70 = 170 cents less 10 %: 153.
pub fn full_order() -> NewOrder {
    NewOrder {
        customer_id: CustomerId("alice".to_owned()),
        lines: vec![
            Line {
                sku: "apple".to_owned(),
                quantity: 2,
            },
            Line {
                sku: "pear".to_owned(),
                quantity: 1,
            },
        ],
        delivery: Delivery::Ship {
            address: Address {
                street: "1 Long Road".to_owned(),
                city: "Springfield".to_owned(),
                country: "GB".to_owned(),
                postal_code: Some("SP1 2AB".to_owned()),
            },
            express: true,
        },
        payment: Payment::Card {
            last4: "4242".to_owned(),
        },
        discounts: vec![
            Discount::Percent(10),
            Discount::Voucher {
                code: "WELCOME".to_owned(),
            },
        ],
        gift_note: Some(GiftNote::Card {
            to: "Bob".to_owned(),
            message: "Happy birthday!".to_owned(),
        }),
        labels: BTreeMap::from([
            ("campaign".to_owned(), "spring".to_owned()),
            ("channel".to_owned(), "web".to_owned()),
        ]),
    }
}

/// Orders that between them use every variant of every enum in `NewOrder`:
/// internally tagged `Delivery`, adjacently tagged `Payment` (with and
/// without content), externally tagged `Discount` (newtype and struct
/// variants) and untagged `GiftNote`.
pub fn tagging_orders() -> Vec<NewOrder> {
    let base = pickup_order("tags", "apple", 1);
    vec![
        NewOrder {
            delivery: Delivery::Ship {
                address: Address {
                    street: "2 Short Street".to_owned(),
                    city: "Shelbyville".to_owned(),
                    country: "IE".to_owned(),
                    postal_code: None,
                },
                express: false,
            },
            payment: Payment::Invoice { due_days: 30 },
            discounts: vec![Discount::Percent(0)],
            gift_note: Some(GiftNote::Text("with love".to_owned())),
            ..base.clone()
        },
        NewOrder {
            delivery: Delivery::Pickup {
                store: "north".to_owned(),
            },
            payment: Payment::Card {
                last4: "0001".to_owned(),
            },
            discounts: vec![Discount::Voucher {
                code: "SPRING".to_owned(),
            }],
            gift_note: Some(GiftNote::Card {
                to: "Ann".to_owned(),
                message: "Enjoy".to_owned(),
            }),
            ..base.clone()
        },
        NewOrder {
            payment: Payment::Credit,
            discounts: vec![
                Discount::Percent(100),
                Discount::Voucher {
                    code: String::new(),
                },
            ],
            gift_note: Some(GiftNote::Text(String::new())),
            labels: BTreeMap::from([("k".to_owned(), String::new())]),
            ..base.clone()
        },
        full_order(),
    ]
}

fn ids(orders: &[Order]) -> Vec<u64> {
    orders.iter().map(|o| o.id.0).collect()
}

fn filter(status: Option<OrderStatus>, customer: Option<&str>, limit: Option<u32>) -> OrderFilter {
    OrderFilter {
        status,
        customer_id: customer.map(str::to_owned),
        limit,
    }
}

/// Place an order and fetch it back; fetch one that does not exist.
pub async fn place_and_get<T: Transport>(env: &OrdersEnv<T>) -> Transcript {
    let client = &env.client;
    let mut t = Transcript::default();
    let order = full_order();

    let placed = client.place_order(&order).await;
    t.record("place", &placed);
    let placed = ok("place", placed);
    assert_eq!(placed.id, OrderId(1));
    assert_eq!(placed.status, OrderStatus::Placed);
    assert_eq!(placed.details, order, "the order comes back as sent");
    assert_eq!(placed.total_cents, 153);

    let fetched = client.get_order(&placed.id).await;
    t.record("get", &fetched);
    assert_eq!(ok("get", fetched), placed);

    let second = client.place_order(&pickup_order("bob", "pear", 3)).await;
    t.record("place second", &second);
    let second = ok("place second", second);
    assert_eq!(second.id, OrderId(2));
    assert_eq!(second.total_cents, 210);

    let missing = client.get_order(&OrderId(404)).await;
    t.record("get missing", &missing);
    assert_eq!(
        service_error("get missing", missing),
        OrderError::NotFound { id: OrderId(404) }
    );
    t
}

/// List orders with each filter of the query string and their combination.
pub async fn list_with_filters<T: Transport>(env: &OrdersEnv<T>) -> Transcript {
    let client = &env.client;
    let mut t = Transcript::default();
    let odd_customer = "o'brien & co=1?#%+ü/x";
    for (customer, sku, quantity) in [
        ("alice", "apple", 1),
        ("bob", "apple", 1),
        ("alice", "pear", 1),
        ("bob", "pear", 2),
        ("alice", "apple", 3),
        (odd_customer, "apple", 1),
    ] {
        let placed = client
            .place_order(&pickup_order(customer, sku, quantity))
            .await;
        t.record("place", &placed);
        ok("place", placed);
    }
    let shipped = client
        .set_status(
            &OrderId(3),
            &StatusChange {
                status: OrderStatus::Shipped,
                reason: None,
            },
        )
        .await;
    t.record("ship 3", &shipped);
    ok("ship 3", shipped);

    let cases: [(&str, OrderFilter, Vec<u64>); 8] = [
        ("no filter", OrderFilter::default(), vec![6, 5, 4, 3, 2, 1]),
        (
            "status",
            filter(Some(OrderStatus::Shipped), None, None),
            vec![3],
        ),
        ("customer", filter(None, Some("alice"), None), vec![5, 3, 1]),
        ("limit", filter(None, None, Some(2)), vec![6, 5]),
        (
            "all three",
            filter(Some(OrderStatus::Placed), Some("bob"), Some(1)),
            vec![4],
        ),
        (
            "customer needing encoding",
            filter(None, Some(odd_customer), None),
            vec![6],
        ),
        (
            "unknown customer",
            filter(None, Some("nobody"), None),
            vec![],
        ),
        ("limit zero", filter(None, None, Some(0)), vec![]),
    ];
    for (label, filter, expected) in cases {
        let listed = client.list_orders(&filter).await;
        t.record(label, &listed);
        let listed = ok(label, listed);
        assert_eq!(ids(&listed), expected, "list {label} ({filter:?})");
        for order in &listed {
            assert!(filter.status.is_none_or(|s| order.status == s));
        }
    }
    t
}

/// Move orders through their statuses, including the moves not allowed.
pub async fn set_status<T: Transport>(env: &OrdersEnv<T>) -> Transcript {
    let client = &env.client;
    let mut t = Transcript::default();
    let first = ok(
        "place",
        client.place_order(&pickup_order("carol", "apple", 1)).await,
    );

    let change = StatusChange {
        status: OrderStatus::Shipped,
        reason: Some("handed to the carrier".to_owned()),
    };
    let shipped = client.set_status(&first.id, &change).await;
    t.record("ship", &shipped);
    let shipped = ok("ship", shipped);
    assert_eq!(shipped.status, OrderStatus::Shipped);
    assert_eq!(shipped.details, first.details);

    let fetched = client.get_order(&first.id).await;
    t.record("get shipped", &fetched);
    assert_eq!(ok("get shipped", fetched).status, OrderStatus::Shipped);

    let back = client
        .set_status(
            &first.id,
            &StatusChange {
                status: OrderStatus::Placed,
                reason: None,
            },
        )
        .await;
    t.record("back to placed", &back);
    assert_eq!(
        service_error("back to placed", back),
        OrderError::InvalidTransition {
            from: OrderStatus::Shipped,
            to: OrderStatus::Placed,
        }
    );

    let again = client.set_status(&first.id, &change).await;
    t.record("ship again", &again);
    assert_eq!(ok("ship again", again).status, OrderStatus::Shipped);

    let missing = client.set_status(&OrderId(99), &change).await;
    t.record("missing", &missing);
    assert_eq!(
        service_error("missing", missing),
        OrderError::NotFound { id: OrderId(99) }
    );

    let second = ok(
        "place",
        client.place_order(&pickup_order("carol", "pear", 1)).await,
    );
    let cancelled = client
        .set_status(
            &second.id,
            &StatusChange {
                status: OrderStatus::Cancelled,
                reason: None,
            },
        )
        .await;
    t.record("cancel by status", &cancelled);
    assert_eq!(
        ok("cancel by status", cancelled).status,
        OrderStatus::Cancelled
    );
    let revived = client.set_status(&second.id, &change).await;
    t.record("ship cancelled", &revived);
    assert_eq!(
        service_error("ship cancelled", revived),
        OrderError::InvalidTransition {
            from: OrderStatus::Cancelled,
            to: OrderStatus::Shipped,
        }
    );
    t
}

/// Cancel with and without an idempotency key, repeat, and fail.
pub async fn cancel<T: Transport>(env: &OrdersEnv<T>) -> Transcript {
    let client = &env.client;
    let mut t = Transcript::default();
    for _ in 0..3 {
        ok(
            "place",
            client.place_order(&pickup_order("dave", "apple", 1)).await,
        );
    }

    let plain = client.cancel_order(&OrderId(1), &None).await;
    t.record("cancel without key", &plain);
    ok("cancel without key", plain);
    let fetched = ok("get", client.get_order(&OrderId(1)).await);
    assert_eq!(fetched.status, OrderStatus::Cancelled);

    let key = Some("cancel-2/ab c".to_owned());
    let keyed = client.cancel_order(&OrderId(2), &key).await;
    t.record("cancel with key", &keyed);
    ok("cancel with key", keyed);
    let repeated = client.cancel_order(&OrderId(2), &key).await;
    t.record("repeat with key", &repeated);
    ok("repeat with the same key", repeated);
    let fetched = ok("get", client.get_order(&OrderId(2)).await);
    assert_eq!(fetched.status, OrderStatus::Cancelled);

    ok(
        "ship 3",
        client
            .set_status(
                &OrderId(3),
                &StatusChange {
                    status: OrderStatus::Shipped,
                    reason: None,
                },
            )
            .await,
    );
    let shipped = client
        .cancel_order(&OrderId(3), &Some("cancel-3".to_owned()))
        .await;
    t.record("cancel shipped", &shipped);
    assert_eq!(
        service_error("cancel shipped", shipped),
        OrderError::InvalidTransition {
            from: OrderStatus::Shipped,
            to: OrderStatus::Cancelled,
        }
    );

    let missing = client.cancel_order(&OrderId(77), &None).await;
    t.record("cancel missing", &missing);
    assert_eq!(
        service_error("cancel missing", missing),
        OrderError::NotFound { id: OrderId(77) }
    );

    assert_eq!(
        env.cancels(),
        vec![
            (OrderId(1), None),
            (OrderId(2), key.clone()),
            (OrderId(2), key),
            (OrderId(3), Some("cancel-3".to_owned())),
            (OrderId(77), None),
        ],
        "the service receives each cancellation with its idempotency key"
    );
    t
}

/// Counts per status, and the unit health check.
pub async fn stats_and_health<T: Transport>(env: &OrdersEnv<T>) -> Transcript {
    let client = &env.client;
    let mut t = Transcript::default();

    let health = client.health().await;
    t.record("health", &health);
    ok("health", health);

    let empty = client.stats().await;
    t.record("stats empty", &empty);
    let empty = ok("stats empty", empty);
    assert_eq!(empty.total, 0);
    assert!(empty.by_status.is_empty(), "{empty:?}");

    for customer in ["erin", "frank", "grace"] {
        ok(
            "place",
            client.place_order(&pickup_order(customer, "pear", 1)).await,
        );
    }
    ok(
        "ship",
        client
            .set_status(
                &OrderId(2),
                &StatusChange {
                    status: OrderStatus::Shipped,
                    reason: None,
                },
            )
            .await,
    );
    ok("cancel", client.cancel_order(&OrderId(3), &None).await);

    let stats = client.stats().await;
    t.record("stats", &stats);
    let stats = ok("stats", stats);
    assert_eq!(stats.total, 3);
    assert_eq!(
        stats.by_status,
        BTreeMap::from([
            ("cancelled".to_owned(), 1),
            ("placed".to_owned(), 1),
            ("shipped".to_owned(), 1),
        ])
    );
    t
}

/// Every declared error variant comes back typed, with its fields.
pub async fn service_errors<T: Transport>(env: &OrdersEnv<T>) -> Transcript {
    let client = &env.client;
    let mut t = Transcript::default();

    let not_found = client.get_order(&OrderId(12345)).await;
    t.record("not found", &not_found);
    let err = not_found.expect_err("no order 12345");
    assert!(!err.is_retryable(), "a service error is final: {err}");
    assert_eq!(
        err.service_error(),
        Some(&OrderError::NotFound { id: OrderId(12345) })
    );

    let too_many = client.place_order(&pickup_order("hal", "melon", 4)).await;
    t.record("out of stock", &too_many);
    assert_eq!(
        service_error("out of stock", too_many),
        OrderError::OutOfStock {
            sku: "melon".to_owned(),
            available: 3,
        }
    );
    ok(
        "two melons",
        client.place_order(&pickup_order("hal", "melon", 2)).await,
    );
    let fewer_left = client.place_order(&pickup_order("hal", "melon", 2)).await;
    t.record("out of stock after a sale", &fewer_left);
    assert_eq!(
        service_error("out of stock after a sale", fewer_left),
        OrderError::OutOfStock {
            sku: "melon".to_owned(),
            available: 1,
        }
    );
    let none_left = client.place_order(&pickup_order("hal", "truffle", 1)).await;
    t.record("none in stock", &none_left);
    assert_eq!(
        service_error("none in stock", none_left),
        OrderError::OutOfStock {
            sku: "truffle".to_owned(),
            available: 0,
        }
    );

    let empty = client
        .place_order(&NewOrder {
            lines: Vec::new(),
            ..pickup_order("hal", "apple", 1)
        })
        .await;
    t.record("no lines", &empty);
    assert_eq!(
        service_error("no lines", empty),
        OrderError::Rejected {
            reason: "an order needs at least one line".to_owned(),
        }
    );
    let unknown = client.place_order(&pickup_order("hal", "kiwi", 1)).await;
    t.record("unknown product", &unknown);
    assert_eq!(
        service_error("unknown product", unknown),
        OrderError::Rejected {
            reason: "unknown product `kiwi`".to_owned(),
        }
    );

    let cancel = client.cancel_order(&OrderId(1), &None).await;
    t.record("cancel", &cancel);
    ok("cancel", cancel);
    let ship = client
        .set_status(
            &OrderId(1),
            &StatusChange {
                status: OrderStatus::Shipped,
                reason: None,
            },
        )
        .await;
    t.record("invalid transition", &ship);
    assert_eq!(
        service_error("invalid transition", ship),
        OrderError::InvalidTransition {
            from: OrderStatus::Cancelled,
            to: OrderStatus::Shipped,
        }
    );
    t
}

/// Every enum representation in `NewOrder` survives place, get and list
/// unchanged.
pub async fn enum_tagging<T: Transport>(env: &OrdersEnv<T>) -> Transcript {
    let client = &env.client;
    let mut t = Transcript::default();
    let orders = tagging_orders();
    let mut placed_ids = Vec::new();
    for (i, order) in orders.iter().enumerate() {
        let placed = client.place_order(order).await;
        t.record("place", &placed);
        let placed = ok("place", placed);
        assert_eq!(&placed.details, order, "order {i} placed");
        let fetched = client.get_order(&placed.id).await;
        t.record("get", &fetched);
        assert_eq!(&ok("get", fetched).details, order, "order {i} fetched");
        placed_ids.push(placed.id);
    }
    let listed = client.list_orders(&filter(None, Some("tags"), None)).await;
    t.record("list", &listed);
    let listed = ok("list", listed);
    let mut expected: Vec<&NewOrder> = orders
        .iter()
        .filter(|o| o.customer_id.0 == "tags")
        .collect();
    expected.reverse();
    assert_eq!(
        listed.iter().map(|o| &o.details).collect::<Vec<_>>(),
        expected,
        "listed newest first, unchanged"
    );
    t
}

/// Every scenario, by name, for a fresh environment each.
pub const ALL: &[&str] = &[
    "place_and_get",
    "list_with_filters",
    "set_status",
    "cancel",
    "stats_and_health",
    "service_errors",
    "enum_tagging",
];

/// Runs the scenario called `name` on `env`.
pub async fn run<T: Transport>(name: &str, env: &OrdersEnv<T>) -> Transcript {
    match name {
        "place_and_get" => place_and_get(env).await,
        "list_with_filters" => list_with_filters(env).await,
        "set_status" => set_status(env).await,
        "cancel" => cancel(env).await,
        "stats_and_health" => stats_and_health(env).await,
        "service_errors" => service_errors(env).await,
        "enum_tagging" => enum_tagging(env).await,
        other => panic!("no scenario {other:?}"),
    }
}
