//! The orders contract end to end over real loopback HTTP, through the
//! generated client; and what the same calls look like on the wire.

use accord::error::SERVICE_ERROR;
use accord_tests::raw::{self, RawBody};
use accord_tests::scenarios::{self, full_order, pickup_order};
use accord_tests::{orders_over_http, within, OrdersEnv};
use http::{Method, StatusCode};
use orders_contract::Order;
use serde_json::json;

async fn env() -> OrdersEnv<accord::HttpTransport> {
    orders_over_http().await
}

#[tokio::test]
async fn place_and_get() {
    let env = env().await;
    within("the scenario", scenarios::place_and_get(&env)).await;
}

#[tokio::test]
async fn list_with_filters() {
    let env = env().await;
    within("the scenario", scenarios::list_with_filters(&env)).await;
}

#[tokio::test]
async fn set_status() {
    let env = env().await;
    within("the scenario", scenarios::set_status(&env)).await;
}

#[tokio::test]
async fn cancel_with_and_without_idempotency_key() {
    let env = env().await;
    within("the scenario", scenarios::cancel(&env)).await;
}

#[tokio::test]
async fn stats_and_health() {
    let env = env().await;
    within("the scenario", scenarios::stats_and_health(&env)).await;
}

#[tokio::test]
async fn service_errors_come_back_typed() {
    let env = env().await;
    within("the scenario", scenarios::service_errors(&env)).await;
}

#[tokio::test]
async fn every_enum_representation_round_trips() {
    let env = env().await;
    within("the scenario", scenarios::enum_tagging(&env)).await;
}

fn addr(env: &OrdersEnv<accord::HttpTransport>) -> std::net::SocketAddr {
    env.server().expect("an HTTP server").addr()
}

#[tokio::test]
async fn place_answers_201_with_the_order() {
    let env = env().await;
    let body = serde_json::to_vec(&full_order()).unwrap();
    let response = raw::send(addr(&env), raw::json(Method::POST, "/orders", body)).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(response.content_type(), "application/json");
    let order: Order = serde_json::from_slice(&response.body).expect("an order");
    assert_eq!(order.details, full_order());
    assert_eq!(order.total_cents, 153);

    let fetched = raw::send(addr(&env), raw::get(&format!("/orders/{}", order.id.0))).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json(), response.json());
}

#[tokio::test]
async fn enums_use_their_declared_representation_on_the_wire() {
    let env = env().await;
    let order = env.client.place_order(&full_order()).await.expect("placed");
    let response = raw::send(addr(&env), raw::get(&format!("/orders/{}", order.id.0))).await;
    let body = response.json();
    // Order flattens NewOrder: its fields sit beside id and status.
    assert_eq!(body["id"], json!(1));
    assert_eq!(body["status"], json!("placed"));
    assert_eq!(body["customer_id"], json!("alice"));
    // Internally tagged.
    assert_eq!(body["delivery"]["method"], json!("ship"));
    assert_eq!(body["delivery"]["express"], json!(true));
    assert_eq!(body["delivery"]["address"]["postal_code"], json!("SP1 2AB"));
    // Adjacently tagged.
    assert_eq!(
        body["payment"],
        json!({"type": "card", "details": {"last4": "4242"}})
    );
    // Externally tagged.
    assert_eq!(
        body["discounts"],
        json!([{"Percent": 10}, {"Voucher": {"code": "WELCOME"}}])
    );
    // Untagged.
    assert_eq!(
        body["gift_note"],
        json!({"to": "Bob", "message": "Happy birthday!"})
    );
    assert_eq!(
        body["labels"],
        json!({"campaign": "spring", "channel": "web"})
    );

    let text_note = env
        .client
        .place_order(&scenarios::tagging_orders()[0])
        .await
        .expect("placed");
    let body = raw::send(addr(&env), raw::get(&format!("/orders/{}", text_note.id.0)))
        .await
        .json();
    assert_eq!(body["gift_note"], json!("with love"));
    assert_eq!(
        body["payment"],
        json!({"type": "invoice", "details": {"due_days": 30}})
    );
    assert!(
        body["delivery"]["address"].get("postal_code").is_none(),
        "{body}"
    );
}

#[tokio::test]
async fn unit_replies_are_204_without_a_body() {
    let env = env().await;
    let health = raw::send(addr(&env), raw::get("/health")).await;
    assert_eq!(health.status, StatusCode::NO_CONTENT);
    assert!(health.body.is_empty(), "{:?}", health.text());

    env.client
        .place_order(&pickup_order("ivy", "apple", 1))
        .await
        .expect("placed");
    let mut request = raw::request(Method::DELETE, "/orders/1", RawBody::Empty);
    request
        .headers_mut()
        .insert("idempotency-key", "k1".parse().unwrap());
    let cancelled = raw::send(addr(&env), request).await;
    assert_eq!(
        cancelled.status,
        StatusCode::NO_CONTENT,
        "{}",
        cancelled.text()
    );
    assert!(cancelled.body.is_empty());
}

#[tokio::test]
async fn service_errors_are_problem_documents_with_their_status() {
    let env = env().await;
    let not_found = raw::send(addr(&env), raw::get("/orders/7")).await;
    assert_eq!(not_found.status, StatusCode::NOT_FOUND);
    let problem = not_found.problem();
    assert_eq!(problem.type_, SERVICE_ERROR);
    assert_eq!(problem.title, "Not found");
    assert_eq!(problem.error, Some(json!({"code": "not_found", "id": 7})));

    let body = serde_json::to_vec(&pickup_order("jo", "truffle", 1)).unwrap();
    let out_of_stock = raw::send(addr(&env), raw::json(Method::POST, "/orders", body)).await;
    assert_eq!(out_of_stock.status, StatusCode::CONFLICT);
    let problem = out_of_stock.problem();
    assert_eq!(problem.type_, SERVICE_ERROR);
    assert_eq!(
        problem.error,
        Some(json!({"code": "out_of_stock", "sku": "truffle", "available": 0}))
    );

    let body = serde_json::to_vec(&pickup_order("jo", "kiwi", 1)).unwrap();
    let rejected = raw::send(addr(&env), raw::json(Method::POST, "/orders", body)).await;
    assert_eq!(rejected.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        rejected.problem().error,
        Some(json!({"code": "rejected", "reason": "unknown product `kiwi`"}))
    );
}
