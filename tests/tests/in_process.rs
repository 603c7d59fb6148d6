//! The orders contract through the in-process transport: the same calls as
//! over HTTP, the same answers.

use accord::wire::Call;
use accord_tests::scenarios::{self, full_order, Transcript};
use accord_tests::{orders_in_process, orders_over_http, within, RecordingOrders};
use orders_contract::{Order, Orders, OrdersServer};

#[tokio::test]
async fn place_and_get() {
    within(
        "the scenario",
        scenarios::place_and_get(&orders_in_process()),
    )
    .await;
}

#[tokio::test]
async fn list_with_filters() {
    within(
        "the scenario",
        scenarios::list_with_filters(&orders_in_process()),
    )
    .await;
}

#[tokio::test]
async fn set_status() {
    within("the scenario", scenarios::set_status(&orders_in_process())).await;
}

#[tokio::test]
async fn cancel_with_and_without_idempotency_key() {
    within("the scenario", scenarios::cancel(&orders_in_process())).await;
}

#[tokio::test]
async fn stats_and_health() {
    within(
        "the scenario",
        scenarios::stats_and_health(&orders_in_process()),
    )
    .await;
}

#[tokio::test]
async fn service_errors_come_back_typed() {
    within(
        "the scenario",
        scenarios::service_errors(&orders_in_process()),
    )
    .await;
}

#[tokio::test]
async fn every_enum_representation_round_trips() {
    within(
        "the scenario",
        scenarios::enum_tagging(&orders_in_process()),
    )
    .await;
}

#[tokio::test]
async fn every_scenario_gives_the_same_results_as_http() {
    for name in scenarios::ALL {
        let over_http: Transcript =
            within(name, scenarios::run(name, &orders_over_http().await)).await;
        let in_process: Transcript = within(name, scenarios::run(name, &orders_in_process())).await;
        assert!(!in_process.0.is_empty(), "{name} records its results");
        assert_eq!(
            in_process, over_http,
            "scenario {name}: in-process and HTTP answers differ"
        );
    }
}

#[tokio::test]
async fn replies_carry_the_declared_status() {
    let (service, _) = RecordingOrders::new();
    let dispatcher = service.into_dispatcher();
    let index = |name: &str| {
        dispatcher
            .routes()
            .iter()
            .position(|r| r.operation == name)
            .unwrap_or_else(|| panic!("no route {name}"))
    };
    assert_eq!(dispatcher.descriptor().name, Orders::NAME);

    let mut call = Call::new();
    call.encode_json_body(&full_order()).unwrap();
    let reply = dispatcher.dispatch(index("place_order"), call).await;
    assert_eq!(reply.status, 201);
    let order: Order = serde_json::from_slice(&reply.body).expect("an order");
    assert_eq!(order.details, full_order());

    let reply = dispatcher.dispatch(index("health"), Call::new()).await;
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty());

    let mut call = Call::new();
    call.encode_path("id", &999u64).unwrap();
    let reply = dispatcher.dispatch(index("get_order"), call).await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.content_type.as_ref().map(|v| v.to_str().unwrap()),
        Some("application/problem+json")
    );
}
