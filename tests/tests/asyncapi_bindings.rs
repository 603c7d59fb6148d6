//! The AsyncAPI document names what the backends really declare: its
//! servers, and the NATS stream and RabbitMQ exchange and queues of each
//! channel, as a running broker names them.

use accord::broker::amqp_names::AmqpNames;
use accord::broker::nats::NatsBroker;
use accord::spec::{asyncapi, asyncapi_with, AsyncApiOptions, AsyncApiServer};
use orders_contract::Orders;

fn options(servers: &[&str]) -> AsyncApiOptions {
    AsyncApiOptions {
        servers: servers
            .iter()
            .map(|s| AsyncApiServer::parse(s).unwrap())
            .collect(),
        ..AsyncApiOptions::default()
    }
}

#[tokio::test]
async fn the_nats_binding_names_the_stream_the_broker_declares() {
    let document = asyncapi_with(
        Orders::descriptor(),
        &options(&["production=nats://nats.internal:4222"]),
    );
    assert_eq!(
        document["servers"]["production"],
        serde_json::json!({ "host": "nats.internal:4222", "protocol": "nats" })
    );
    let url =
        std::env::var("ACCORD_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let broker = match NatsBroker::connect(&url).await {
        Ok(broker) => broker,
        Err(error) if std::env::var_os("CI").is_some() => {
            panic!("CI needs NATS at {url} (ACCORD_NATS_URL): {error}")
        }
        Err(error) => {
            println!("skipped: no NATS at {url} (set ACCORD_NATS_URL): {error}");
            return;
        }
    };
    let binding = &document["operations"]["order_placed"]["bindings"];
    assert_eq!(
        binding["nats"]["x-accord-stream"],
        broker.topic_stream_name("orders.placed")
    );
    assert_eq!(
        binding["nats"]["x-accord-dead-letter-stream"],
        broker.dead_letter_stream_name()
    );
    assert!(
        binding.get("amqp").is_none(),
        "only the servers' protocols are bound: {binding}"
    );
    let request = &document["operations"]["place_order"]["bindings"]["nats"];
    assert_eq!(request["queue"], "orders");
}

#[test]
fn the_amqp_binding_names_the_exchanges_and_queues() {
    let document = asyncapi_with(
        Orders::descriptor(),
        &options(&["broker=amqp://app:secret@rabbit.internal:5672/shop"]),
    );
    let server = &document["servers"]["broker"];
    assert_eq!(server["host"], "rabbit.internal:5672");
    assert_eq!(server["pathname"], "/shop");
    assert!(
        !document.to_string().contains("secret"),
        "credentials are not published"
    );
    let names = AmqpNames::new("accord");
    let channel = &document["channels"]["order_placed"]["bindings"]["amqp"];
    assert_eq!(channel["is"], "routingKey");
    assert_eq!(channel["exchange"]["name"], names.events_exchange());
    assert_eq!(channel["exchange"]["type"], "topic");
    assert_eq!(channel["exchange"]["vhost"], "shop");
    let operation = &document["operations"]["order_placed"]["bindings"]["amqp"];
    assert_eq!(operation["cc"], serde_json::json!(["orders.placed"]));
    assert_eq!(
        operation["x-accord-dead-letter-queue"],
        names.dead_letter_queue("<group>")
    );
    let request = &document["channels"]["place_order_request"]["bindings"]["amqp"];
    assert_eq!(request["exchange"]["name"], names.requests_exchange());
    let serve = &document["operations"]["place_order"]["bindings"]["amqp"];
    assert_eq!(
        serve["x-accord-queue"],
        names.responder_queue("orders", "orders.rpc.place_order")
    );
}

#[test]
fn an_event_message_shows_the_example_its_payload_type_gives() {
    let document = asyncapi(Orders::descriptor());
    let example = &document["components"]["messages"]["order_placed"]["examples"][0]["payload"];
    assert_eq!(example["order_id"], 1042);
    assert_eq!(example["lines"][0]["sku"], "MUG-RED");
    assert!(
        document["components"]["messages"]["order_cancelled"]
            .get("examples")
            .is_none(),
        "no example is made up where the contract gives none"
    );
}

#[test]
fn without_servers_every_protocol_is_bound_and_no_servers_are_listed() {
    let document = asyncapi(Orders::descriptor());
    assert!(document.get("servers").is_none());
    let bindings = &document["operations"]["order_placed"]["bindings"];
    assert!(bindings.get("nats").is_some() && bindings.get("amqp").is_some());
}
