//! AsyncAPI 3.0 from a descriptor.
//!
//! The document describes the service as an application on a broker: it
//! **sends** each event on its topic, and it **receives** each request
//! method on `<service>.rpc.<operation>` and replies with a correlation id
//! (the broker request/reply of [`crate::transport::BrokerTransport`]).
//! AsyncAPI's default schema format is JSON Schema draft-07, so the
//! descriptor's 2020-12 schemas are converted with the same transforms
//! schemars applies for draft-07. Like the OpenAPI document and the schema
//! files, every fixed-width integer keeps the range of its Rust type
//! (`minimum`/`maximum`), so a publisher that validates against this
//! document cannot send a value the Rust subscriber fails to decode.

use schemars::transform::{
    RemoveRefSiblings, ReplacePrefixItems, ReplaceUnevaluatedProperties, Transform,
};
use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::Schema;
use serde_json::{json, Map, Value};

use crate::descriptor::{
    EventDescriptor, OperationDescriptor, RequestDescriptor, ServiceDescriptor,
};
use crate::events::envelope;
use crate::transport::broker::{CORRELATION_ID, PATH_PREFIX, QUERY, STATUS};
use crate::transport::request_topic;

use super::bindings::{self, AsyncApiOptions};
use super::{finish_document, object, security, summary, Document};

const SCHEMAS: &str = "#/components/schemas/";

/// What the key of an event means for the order of its deliveries.
const KEY_ORDER: &str = "The event's key. A subscriber group that asks for per-key order handles \
                         the events with the same key one at a time, in publish order, on the \
                         brokers under `ordering` that keep it; other groups get no order.";

/// The AsyncAPI 3.0 document of `descriptor`'s events and broker requests,
/// with the NATS and RabbitMQ bindings of accord's default names and no
/// `servers`.
pub fn asyncapi(descriptor: &ServiceDescriptor) -> Value {
    asyncapi_with(descriptor, &AsyncApiOptions::default())
}

/// [`asyncapi`] listing `options.servers`, with the bindings of their
/// protocols (every protocol's when there are none) under the prefixes
/// `options` names.
pub fn asyncapi_with(descriptor: &ServiceDescriptor, options: &AsyncApiOptions) -> Value {
    asyncapi_document(descriptor, options).into_value()
}

/// [`asyncapi_with`], to be written: the named schemas are borrowed from
/// `descriptor` (those that draft-07 says as they are, most of them), not
/// copied into the document.
pub fn asyncapi_document<'a>(
    descriptor: &'a ServiceDescriptor,
    options: &AsyncApiOptions,
) -> Document<'a> {
    let problem = super::problem_schema_name(descriptor);
    let problem_ref = format!("{SCHEMAS}{problem}");
    let mut channels = Map::new();
    let mut operations = Map::new();
    let mut messages = Map::new();

    for op in &descriptor.operations {
        match &op.kind {
            crate::descriptor::OperationKind::Event(event) => {
                describe_event(op, event, &mut channels, &mut operations, &mut messages)
            }
            crate::descriptor::OperationKind::Request(request) => describe_request(
                descriptor,
                &problem_ref,
                op,
                request,
                &mut channels,
                &mut operations,
                &mut messages,
            ),
        }
    }

    let mut schemas: BTreeMap<&str, Cow<'_, Value>> = descriptor
        .definitions
        .iter()
        .map(|(name, schema)| (name.as_str(), draft07(schema)))
        .collect();
    if descriptor.requests().next().is_some() {
        schemas.insert(problem, Cow::Owned(super::openapi::problem_schema()));
    }

    let info = super::info(descriptor);
    // `schemas` is written into `components` by the document.
    let mut components = object([("messages", Value::Object(messages))]);
    if let Some(schemes) = security::asyncapi_schemes(descriptor) {
        components["securitySchemes"] = schemes;
    }
    let mut document = object([
        ("asyncapi", json!("3.0.0")),
        ("info", info),
        ("defaultContentType", json!("application/json")),
        ("channels", Value::Object(channels)),
        ("operations", Value::Object(operations)),
        ("components", components),
    ]);
    finish_document(&mut document, SCHEMAS);
    bindings::apply(&mut document, descriptor, options);
    message_examples(&mut document, descriptor);
    Document::new(document, SCHEMAS, schemas)
}

/// The most examples an event message lists: 3.
const MAX_MESSAGE_EXAMPLES: usize = 3;

/// Gives each event message the examples its payload type declares
/// (`#[schemars(example = ...)]`), as AsyncAPI message examples.
fn message_examples(document: &mut Value, descriptor: &ServiceDescriptor) {
    for op in &descriptor.operations {
        let crate::descriptor::OperationKind::Event(event) = &op.kind else {
            continue;
        };
        let Some(Value::Array(examples)) = descriptor.resolve(&event.payload).get("examples")
        else {
            continue;
        };
        let listed: Vec<Value> = examples
            .iter()
            .take(MAX_MESSAGE_EXAMPLES)
            .map(|payload| json!({ "payload": payload }))
            .collect();
        if let Some(message) = document["components"]["messages"].get_mut(&op.name) {
            message["examples"] = Value::Array(listed);
        }
    }
}

/// `schema` in draft-07: itself, unless [`to_draft07`] changes it.
fn draft07(schema: &Value) -> Cow<'_, Value> {
    match schema {
        Value::Object(map) if object_needs_draft07(map) || map.values().any(needs_draft07) => {
            Cow::Owned(to_draft07(schema.clone()))
        }
        _ => Cow::Borrowed(schema),
    }
}

/// Converts a 2020-12 schema (as schemars writes them) to draft-07.
pub fn to_draft07(schema: Value) -> Value {
    // Most schemas are draft-07 already: they are returned as they are,
    // without a copy or schemars' three walks.
    let Value::Object(map) = schema else {
        // A boolean schema is the same in both dialects.
        return schema;
    };
    if !map.values().any(needs_draft07) && !object_needs_draft07(&map) {
        return Value::Object(map);
    }
    let mut schema = Schema::from(map);
    ReplaceUnevaluatedProperties::default().transform(&mut schema);
    RemoveRefSiblings::default().transform(&mut schema);
    ReplacePrefixItems::default().transform(&mut schema);
    schema.to_value()
}

/// Whether `value`, or any value in it, is an object that one of
/// [`to_draft07`]'s transforms changes: one with `unevaluatedProperties`,
/// `prefixItems`, or `$ref` beside other keywords. Instance data is looked
/// at too, which at worst runs the transforms for nothing.
fn needs_draft07(value: &Value) -> bool {
    match value {
        Value::Object(map) => object_needs_draft07(map) || map.values().any(needs_draft07),
        Value::Array(items) => items.iter().any(needs_draft07),
        _ => false,
    }
}

fn object_needs_draft07(map: &Map<String, Value>) -> bool {
    map.contains_key("unevaluatedProperties")
        || map.contains_key("prefixItems")
        || (map.len() > 1 && map.contains_key("$ref"))
}

fn docs_fields(target: &mut Map<String, Value>, docs: &Option<String>) {
    if let Some(docs) = docs {
        target.insert("summary".into(), json!(summary(docs)));
        target.insert("description".into(), json!(docs));
    }
}

fn describe_event(
    op: &OperationDescriptor,
    event: &EventDescriptor,
    channels: &mut Map<String, Value>,
    operations: &mut Map<String, Value>,
    messages: &mut Map<String, Value>,
) {
    let id = op.name.clone();
    let mut message = Map::new();
    message.insert("name".into(), json!(id));
    message.insert("title".into(), json!(event.topic));
    docs_fields(&mut message, &op.docs);
    message.insert("contentType".into(), json!("application/json"));
    message.insert("headers".into(), cloudevents_headers(&event.topic));
    message.insert("payload".into(), to_draft07(event.payload.clone()));
    message.insert(
        "correlationId".into(),
        json!({
            "description": "The CloudEvents id; redeliveries and duplicate publishes keep it.",
            "location": format!("$message.header#/{}", envelope::ID),
        }),
    );
    if let Some(key) = &event.key {
        message.insert(
            "x-accord-key".into(),
            json!({
                "field": key,
                "description": KEY_ORDER,
                "ordering": {
                    "memory": "per key, for every group",
                    "nats": "per key, for groups ordered by key: a keyed event is stored on \
                             `<topic>._key.<p>`, p the 64-bit FNV-1a hash of the key's UTF-8 bytes \
                             modulo the stream's partition count (8 by default); a retried event \
                             holds back the later events of its partition, a dead-lettered one \
                             does not",
                    "amqp": "per key, for groups ordered by key: a keyed event is published \
                             with the routing key `<topic>._key.<slot>`, slot the 64-bit FNV-1a \
                             hash of the key's UTF-8 bytes modulo 256; a retried event holds back \
                             the later events of its partition, a dead-lettered one does not",
                },
            }),
        );
    }
    messages.insert(id.clone(), Value::Object(message));

    let mut channel = Map::new();
    channel.insert("address".into(), json!(event.topic));
    channel.insert(
        "messages".into(),
        json!({ id.clone(): { "$ref": format!("#/components/messages/{id}") } }),
    );
    docs_fields(&mut channel, &op.docs);
    channels.insert(id.clone(), Value::Object(channel));

    let mut operation = Map::new();
    operation.insert("action".into(), json!("send"));
    operation.insert(
        "channel".into(),
        json!({ "$ref": format!("#/channels/{id}") }),
    );
    operation.insert(
        "messages".into(),
        json!([{ "$ref": format!("#/channels/{id}/messages/{id}") }]),
    );
    docs_fields(&mut operation, &op.docs);
    operations.insert(id, Value::Object(operation));
}

fn describe_request(
    descriptor: &ServiceDescriptor,
    problem_ref: &str,
    op: &OperationDescriptor,
    request: &RequestDescriptor,
    channels: &mut Map<String, Value>,
    operations: &mut Map<String, Value>,
    messages: &mut Map<String, Value>,
) {
    let name = &op.name;
    let request_id = format!("{name}_request");
    let reply_id = format!("{name}_reply");
    let correlation = json!({
        "description": "Ties the reply to its request.",
        "location": format!("$message.header#/{CORRELATION_ID}"),
    });

    let mut header_props = Map::new();
    let mut required = vec![json!(CORRELATION_ID)];
    header_props.insert(CORRELATION_ID.into(), json!({ "type": "string" }));
    for param in &request.path_params {
        let header = format!("{PATH_PREFIX}{}", param.name);
        let mut schema = text_schema(descriptor, &param.schema);
        schema.insert(
            "description".into(),
            json!(format!("The `{}` path parameter.", param.name)),
        );
        header_props.insert(header.clone(), Value::Object(schema));
        required.push(json!(header));
    }
    if request.query.is_some() {
        header_props.insert(
            QUERY.into(),
            json!({ "type": "string", "description": "The query parameters, form-urlencoded." }),
        );
    }
    for param in &request.headers {
        header_props.insert(
            param.name.clone(),
            Value::Object(text_schema(descriptor, &param.schema)),
        );
        if param.required {
            required.push(json!(param.name));
        }
    }
    if let Some((header, schema)) = security::asyncapi_header(request) {
        header_props.insert(header.clone(), schema);
        required.push(json!(header));
    }
    if request.body.is_some() {
        header_props.insert(
            "content-type".into(),
            json!({ "const": "application/json" }),
        );
    }
    let mut request_message = Map::new();
    request_message.insert("name".into(), json!(request_id));
    request_message.insert("title".into(), json!(format!("{name} request")));
    docs_fields(&mut request_message, &op.docs);
    request_message.insert("contentType".into(), json!("application/json"));
    request_message.insert(
        "headers".into(),
        object([
            ("type", json!("object")),
            ("required", Value::Array(required)),
            ("properties", Value::Object(header_props)),
        ]),
    );
    if let Some(body) = &request.body {
        request_message.insert("payload".into(), to_draft07(body.schema.clone()));
    }
    request_message.insert("correlationId".into(), correlation.clone());
    messages.insert(request_id.clone(), Value::Object(request_message));

    let success = match &request.response {
        Some(schema) if request.status != 204 => to_draft07(schema.clone()),
        _ => json!({ "type": "null", "description": "No content." }),
    };
    let mut reply_message = json!({
        "name": reply_id,
        "title": format!("{name} reply"),
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "required": [STATUS, CORRELATION_ID],
            "properties": {
                STATUS: {
                    "type": "string",
                    "pattern": "^[1-5][0-9][0-9]$",
                    "description": format!("{} on success; a problem document comes with its own status.", request.status),
                },
                CORRELATION_ID: { "type": "string" },
                "content-type": { "enum": ["application/json", "application/problem+json"] },
            },
        },
    });
    reply_message["payload"] = object([(
        "oneOf",
        Value::Array(vec![success, json!({ "$ref": problem_ref })]),
    )]);
    reply_message["correlationId"] = correlation;
    messages.insert(reply_id.clone(), reply_message);

    let mut request_channel = Map::new();
    request_channel.insert(
        "address".into(),
        json!(request_topic(&descriptor.name, name)),
    );
    request_channel.insert(
        "messages".into(),
        json!({ request_id.clone(): { "$ref": format!("#/components/messages/{request_id}") } }),
    );
    channels.insert(request_id.clone(), Value::Object(request_channel));
    channels.insert(
        reply_id.clone(),
        json!({
            // No `address`: the broker gives the requester's reply address
            // with each request.
            "description": "The requester's reply address, given by the broker with each request.",
            "messages": { reply_id.clone(): { "$ref": format!("#/components/messages/{reply_id}") } },
        }),
    );

    let mut operation = Map::new();
    operation.insert("action".into(), json!("receive"));
    operation.insert(
        "channel".into(),
        json!({ "$ref": format!("#/channels/{request_id}") }),
    );
    operation.insert(
        "messages".into(),
        json!([{ "$ref": format!("#/channels/{request_id}/messages/{request_id}") }]),
    );
    operation.insert(
        "reply".into(),
        json!({
            "channel": { "$ref": format!("#/channels/{reply_id}") },
            "messages": [{ "$ref": format!("#/channels/{reply_id}/messages/{reply_id}") }],
        }),
    );
    if let Some(security) = security::asyncapi_operation(request) {
        operation.insert("security".into(), security);
    }
    docs_fields(&mut operation, &op.docs);
    operations.insert(name.clone(), Value::Object(operation));
}

/// The schema of a value carried as header text: a string, held to the
/// one spelling the server accepts when the value is an integer (see
/// [`Call`](crate::wire::Call)).
fn text_schema(descriptor: &ServiceDescriptor, schema: &Value) -> Map<String, Value> {
    let mut text = Map::new();
    text.insert("type".into(), json!("string"));
    let resolved = descriptor.resolve(schema);
    let is_integer = match resolved.get("type") {
        Some(Value::String(t)) => t == "integer",
        Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
        _ => false,
    };
    if is_integer {
        let unsigned = resolved
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|min| min >= 0.0);
        let pattern = if unsigned {
            "^(0|[1-9][0-9]*)$"
        } else {
            "^(0|-?[1-9][0-9]*)$"
        };
        text.insert("pattern".into(), json!(pattern));
    }
    text
}

fn cloudevents_headers(topic: &str) -> Value {
    json!({
        "type": "object",
        "description": "CloudEvents 1.0 attributes in binary content mode, and the W3C trace context.",
        "required": [envelope::SPEC_VERSION, envelope::ID, envelope::SOURCE, envelope::TYPE],
        "properties": {
            envelope::SPEC_VERSION: { "const": "1.0" },
            envelope::ID: { "type": "string", "description": "Unique per event." },
            envelope::SOURCE: { "type": "string", "description": "The publishing service." },
            envelope::TYPE: { "const": topic },
            envelope::TIME: { "type": "string", "format": "date-time" },
            envelope::CONTENT_TYPE: { "const": "application/json" },
            crate::trace::TRACEPARENT: {
                "type": "string",
                "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft07_has_no_prefix_items() {
        let converted = to_draft07(json!({
            "type": "array",
            "prefixItems": [{ "type": "string" }, { "type": "integer" }],
            "items": false,
        }));
        assert_eq!(
            converted["items"],
            json!([{ "type": "string" }, { "type": "integer" }])
        );
        assert!(converted.get("prefixItems").is_none());
    }

    #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    struct Reading {
        sensor: u8,
        delta: i16,
        count: u32,
        total: i64,
        serial: u64,
        offset: Option<i32>,
        samples: Vec<u16>,
        ratio: f64,
    }

    #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    struct Batch {
        readings: Vec<Reading>,
        size: usize,
    }

    #[test]
    fn integer_schemas_keep_their_range() {
        let mut builder = crate::descriptor::DescriptorBuilder::new("meters", "1.0.0", "");
        builder.event::<Batch>("batch_read", "", "meters.batch", None, "batch");
        builder.event::<u32>("count_changed", "", "meters.count", None, "count");
        let document = asyncapi(&builder.finish());
        let schemas = &document["components"]["schemas"];
        let reading = &schemas["Reading"]["properties"];
        let range = |schema: &Value| (schema["minimum"].clone(), schema["maximum"].clone());
        assert_eq!(range(&reading["sensor"]), (json!(0), json!(255)));
        assert_eq!(range(&reading["delta"]), (json!(i16::MIN), json!(i16::MAX)));
        assert_eq!(range(&reading["count"]), (json!(0), json!(u32::MAX)));
        assert_eq!(range(&reading["total"]), (json!(i64::MIN), json!(i64::MAX)));
        assert_eq!(range(&reading["serial"]), (json!(0), json!(u64::MAX)));
        assert_eq!(
            range(&reading["offset"]),
            (json!(i32::MIN), json!(i32::MAX))
        );
        assert_eq!(
            range(&reading["samples"]["items"]),
            (json!(0), json!(u16::MAX))
        );
        assert_eq!(
            reading["ratio"].get("maximum"),
            None,
            "floats are not bounded"
        );
        let batch = &schemas["Batch"]["properties"];
        assert_eq!(batch["size"]["maximum"], json!(usize::MAX as u64));
        let payload = &document["components"]["messages"]["count_changed"]["payload"];
        assert_eq!(range(payload), (json!(0), json!(u32::MAX)), "{payload}");
    }

    #[test]
    fn integer_parameters_carried_as_headers_have_one_spelling() {
        let mut builder = crate::descriptor::DescriptorBuilder::new("meters", "1.0.0", "");
        builder
            .request(crate::descriptor::RequestSpec {
                name: "read",
                docs: "",
                method: "GET",
                path: "/meters/{id}/{name}",
                status: 200,
                idempotent: true,
            })
            .path_param::<u64>("id", "id")
            .path_param::<String>("name", "name")
            .header::<Option<i32>>("x-offset", "offset")
            .response::<u32>();
        let document = asyncapi(&builder.finish());
        let headers = &document["components"]["messages"]["read_request"]["headers"]["properties"];
        assert_eq!(headers["accord-path-id"]["pattern"], "^(0|[1-9][0-9]*)$");
        assert_eq!(headers["accord-path-id"]["type"], "string");
        assert!(headers["accord-path-name"].get("pattern").is_none());
        assert_eq!(headers["x-offset"]["pattern"], "^(0|-?[1-9][0-9]*)$");
    }
}
