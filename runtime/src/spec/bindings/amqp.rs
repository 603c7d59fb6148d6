//! AMQP 0.9.1 bindings (binding version 0.3.0): events go to the topic
//! exchange with the topic as routing key, requests to the direct
//! requests exchange; the queues accord declares are named as
//! `x-accord-*` extensions (a subscriber group's queue depends on the
//! group, which the contract does not know).

use serde_json::{json, Value};

use super::{AsyncApiOptions, Binding};
use crate::broker::amqp_names::{AmqpNames, DEFAULT_PREFIX};

const VERSION: &str = "0.3.0";

pub(super) struct AmqpBinding {
    names: AmqpNames,
    vhost: String,
}

impl AmqpBinding {
    pub(super) fn new(options: &AsyncApiOptions) -> Self {
        let vhost = options
            .servers
            .iter()
            .find(|s| s.protocol.starts_with("amqp"))
            .and_then(|s| s.pathname.as_deref())
            .map_or_else(|| "/".to_owned(), |path| decode_vhost(&path[1..]));
        AmqpBinding {
            names: AmqpNames::new(options.amqp_prefix.as_deref().unwrap_or(DEFAULT_PREFIX)),
            vhost,
        }
    }

    fn exchange(&self, name: String, kind: &str) -> Value {
        json!({
            "is": "routingKey",
            "exchange": {
                "name": name,
                "type": kind,
                "durable": true,
                "autoDelete": false,
                "vhost": self.vhost,
            },
            "bindingVersion": VERSION,
        })
    }
}

/// A virtual host from a URL path: `%2f` is `/`.
fn decode_vhost(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned()
}

impl Binding for AmqpBinding {
    fn protocol(&self) -> &'static str {
        "amqp"
    }

    fn event_channel(&self, _topic: &str) -> Option<Value> {
        Some(self.exchange(self.names.events_exchange(), "topic"))
    }

    fn event_operation(&self, topic: &str) -> Option<Value> {
        Some(json!({
            "cc": [topic],
            "deliveryMode": 2,
            "bindingVersion": VERSION,
            "x-accord-group-queue": self.names.group_queue("<group>"),
            "x-accord-dead-letter-exchange": self.names.dead_letter_exchange(),
            "x-accord-dead-letter-queue": self.names.dead_letter_queue("<group>"),
        }))
    }

    fn request_channel(&self, _service: &str, _topic: &str) -> Option<Value> {
        Some(self.exchange(self.names.requests_exchange(), "direct"))
    }

    fn request_operation(&self, service: &str, topic: &str) -> Option<Value> {
        Some(json!({
            "ack": true,
            "bindingVersion": VERSION,
            "x-accord-queue": self.names.responder_queue(service, topic),
        }))
    }
}
