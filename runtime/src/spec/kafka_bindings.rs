//! The Kafka bindings of the AsyncAPI document (binding version 0.5.0):
//! what a Kafka client needs to know beyond the channel's address.
//!
//! - channel: the Kafka topic, which is the event's topic itself;
//! - operation: the consumer group, which is the accord subscriber group
//!   of the same name (chosen by the subscriber, so described, not fixed);
//! - message: the record key, which is the event's key field where the
//!   event declares one (the partition key: per-key order holds).
//!
//! Each is added under `bindings.kafka`, beside the bindings of other
//! protocols.

use serde_json::{json, Map, Value};

/// The binding version these follow.
const VERSION: &str = "0.5.0";

fn bind(target: &mut Map<String, Value>, binding: Value) {
    let bindings = target
        .entry("bindings")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(bindings) = bindings {
        bindings.insert("kafka".into(), binding);
    }
}

/// Adds the Kafka binding of an event's channel on `topic`.
pub(super) fn channel(channel: &mut Map<String, Value>, topic: &str) {
    bind(
        channel,
        json!({ "topic": topic, "bindingVersion": VERSION }),
    );
}

/// Adds the Kafka binding of an event's operation: its consumer groups.
pub(super) fn operation(operation: &mut Map<String, Value>) {
    bind(
        operation,
        json!({
            "groupId": {
                "type": "string",
                "description": "The accord subscriber group: each group is a Kafka consumer \
                    group of the same name, and its dead letters go to the topic \
                    `accord.dead-letter.<group>`."
            },
            "bindingVersion": VERSION,
        }),
    );
}

/// Adds the Kafka binding of an event's message: its record key, the
/// event's `key` field where it has one.
pub(super) fn message(message: &mut Map<String, Value>, key: Option<&str>) {
    let key = match key {
        Some(field) => json!({
            "type": "string",
            "description": format!(
                "The event's `{field}` field: the partition key, so events with the same \
                 `{field}` are delivered in order."
            ),
        }),
        None => json!({
            "type": "null",
            "description": "No key: the events are spread over the topic's partitions.",
        }),
    };
    bind(message, json!({ "key": key, "bindingVersion": VERSION }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_sit_beside_those_of_other_protocols() {
        let mut channel = Map::new();
        channel.insert("bindings".into(), json!({ "nats": { "queue": "q" } }));
        super::channel(&mut channel, "orders.placed");
        assert_eq!(channel["bindings"]["nats"]["queue"], "q");
        assert_eq!(channel["bindings"]["kafka"]["topic"], "orders.placed");

        let mut message = Map::new();
        super::message(&mut message, Some("customer_id"));
        let key = &message["bindings"]["kafka"]["key"];
        assert_eq!(key["type"], "string");
        assert!(key["description"].as_str().unwrap().contains("customer_id"));

        let mut operation = Map::new();
        super::operation(&mut operation);
        assert_eq!(operation["bindings"]["kafka"]["groupId"]["type"], "string");
    }
}
