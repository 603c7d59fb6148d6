//! NATS bindings (binding version 0.1.0): the standard `queue` of an
//! operation that serves requests (the queue group the servers of one
//! service share), and, as `x-accord-*` extensions, the JetStream stream
//! each event topic is stored in and the subject and stream of the dead
//! letters.

use serde_json::{json, Value};

use super::{AsyncApiOptions, Binding};
use crate::broker::nats_names::{
    dead_letter_stream_name, dead_letter_subject, group_token, stream_prefix, topic_stream_name,
    DEFAULT_DEAD_LETTER_SUBJECT, DEFAULT_STREAM_PREFIX,
};

const VERSION: &str = "0.1.0";

pub(super) struct NatsBinding {
    prefix: String,
}

impl NatsBinding {
    pub(super) fn new(options: &AsyncApiOptions) -> Self {
        let prefix = options
            .nats_stream_prefix
            .as_deref()
            .unwrap_or(DEFAULT_STREAM_PREFIX);
        NatsBinding {
            prefix: stream_prefix(prefix),
        }
    }
}

impl Binding for NatsBinding {
    fn protocol(&self) -> &'static str {
        "nats"
    }

    fn event_channel(&self, _topic: &str) -> Option<Value> {
        // The NATS channel binding has no fields; the stream is named on
        // the operation.
        None
    }

    fn event_operation(&self, topic: &str) -> Option<Value> {
        Some(json!({
            "bindingVersion": VERSION,
            "x-accord-stream": topic_stream_name(&self.prefix, topic),
            "x-accord-consumer": "<group>: a durable pull consumer per subscriber group, named after the group",
            "x-accord-dead-letter-stream": dead_letter_stream_name(&self.prefix),
            "x-accord-dead-letter-subject": dead_letter_subject(DEFAULT_DEAD_LETTER_SUBJECT, "<group>"),
        }))
    }

    fn request_channel(&self, _service: &str, _topic: &str) -> Option<Value> {
        None
    }

    fn request_operation(&self, service: &str, _topic: &str) -> Option<Value> {
        Some(json!({
            "bindingVersion": VERSION,
            "queue": group_token(service),
        }))
    }
}
