//! The Kafka bindings of the AsyncAPI document (binding version 0.5.0):
//! what a Kafka client needs to know beyond the channel's address.
//!
//! - channel: the Kafka topic, which is the event's topic itself;
//! - operation: the consumer group, which is the accord subscriber group
//!   of the same name (chosen by the subscriber, so described, not fixed);
//! - message: the record key, which is the event's key field where the
//!   event declares one (the partition key: per-key order holds).
//!
//! Requests have none: the Kafka backend offers no request/reply.

use serde_json::{json, Value};

use super::Binding;

/// The binding version these follow.
const VERSION: &str = "0.5.0";

pub(super) struct KafkaBinding;

impl Binding for KafkaBinding {
    fn protocol(&self) -> &'static str {
        "kafka"
    }

    fn event_channel(&self, topic: &str) -> Option<Value> {
        Some(json!({ "topic": topic, "bindingVersion": VERSION }))
    }

    fn event_operation(&self, _topic: &str) -> Option<Value> {
        Some(json!({
            "groupId": {
                "type": "string",
                "description": "The accord subscriber group: each group is a Kafka consumer \
                    group of the same name, and its dead letters go to the topic \
                    `accord.dead-letter.<group>`."
            },
            "bindingVersion": VERSION,
        }))
    }

    fn event_message(&self, key: Option<&str>) -> Option<Value> {
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
        Some(json!({ "key": key, "bindingVersion": VERSION }))
    }

    // Kafka offers no request/reply: requests have no Kafka binding.
    fn request_channel(&self, _service: &str, _topic: &str) -> Option<Value> {
        None
    }

    fn request_operation(&self, _service: &str, _topic: &str) -> Option<Value> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_group_and_key() {
        assert_eq!(
            KafkaBinding.event_channel("orders.placed").unwrap()["topic"],
            "orders.placed"
        );
        let operation = KafkaBinding.event_operation("orders.placed").unwrap();
        assert_eq!(operation["groupId"]["type"], "string");
        let message = KafkaBinding.event_message(Some("customer_id")).unwrap();
        assert_eq!(message["key"]["type"], "string");
        assert!(message["key"]["description"]
            .as_str()
            .unwrap()
            .contains("customer_id"));
        assert_eq!(
            KafkaBinding.event_message(None).unwrap()["key"]["type"],
            "null"
        );
        assert!(KafkaBinding
            .request_operation("orders", "orders.rpc.x")
            .is_none());
    }
}
