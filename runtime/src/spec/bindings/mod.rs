//! The `servers` of an AsyncAPI document and the protocol bindings of its
//! channels and operations: which broker a consumer connects to, and the
//! stream, exchange and queue names accord's backends declare there.
//!
//! Each protocol is a [`Binding`] in a file of its own ([`nats`],
//! [`amqp`], [`kafka`]); another protocol is one more file and one more arm in
//! [`for_protocol`]. A document gets the bindings of the protocols of its
//! servers, or of every protocol accord has a backend for when it lists
//! none.

mod amqp;
mod kafka;
mod nats;

use serde_json::{json, Map, Value};

use crate::descriptor::{OperationKind, ServiceDescriptor};
use crate::transport::request_topic;

/// What an AsyncAPI document says about where the service runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsyncApiOptions {
    /// The brokers the service runs on, listed under `servers`.
    pub servers: Vec<AsyncApiServer>,
    /// The NATS stream prefix the services use; `ACCORD` when `None`.
    pub nats_stream_prefix: Option<String>,
    /// The RabbitMQ exchange and queue prefix; `accord` when `None`.
    pub amqp_prefix: Option<String>,
}

/// One broker of an AsyncAPI document's `servers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncApiServer {
    /// The key under `servers`, such as `production`.
    pub name: String,
    /// The protocol: `nats`, `amqp`, `amqps` or `kafka`.
    pub protocol: String,
    /// `host:port`.
    pub host: String,
    /// The path of the URL (RabbitMQ's virtual host), if any.
    pub pathname: Option<String>,
}

impl AsyncApiServer {
    /// Parses `name=url` (as `accord generate --server` takes it), for
    /// example `production=nats://nats.internal:4222`. Credentials in the
    /// URL are left out: the document is published.
    pub fn parse(spec: &str) -> Result<AsyncApiServer, String> {
        let (name, url) = spec.split_once('=').ok_or_else(|| {
            format!("`{spec}` is not NAME=URL, such as production=nats://nats.internal:4222")
        })?;
        let name = name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(format!(
                "the server name `{name}` must be letters, digits, `.`, `_` or `-`"
            ));
        }
        let (scheme, rest) = url.trim().split_once("://").ok_or_else(|| {
            format!("`{url}` has no scheme: use nats://, tls://, amqp://, amqps:// or kafka://")
        })?;
        let protocol = match scheme.to_ascii_lowercase().as_str() {
            "nats" | "tls" => "nats",
            "amqp" => "amqp",
            "amqps" => "amqps",
            "kafka" => "kafka",
            other => {
                return Err(format!(
                    "the scheme `{other}://` of server `{name}` is not one accord has a backend \
                     for: use nats://, tls://, amqp://, amqps:// or kafka://"
                ))
            }
        };
        let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        let (host, path) = match rest.find('/') {
            Some(at) => (&rest[..at], Some(&rest[at..])),
            None => (rest, None),
        };
        if host.is_empty() {
            return Err(format!("server `{name}` has no host in `{url}`"));
        }
        Ok(AsyncApiServer {
            name: name.to_owned(),
            protocol: protocol.to_owned(),
            host: host.to_owned(),
            pathname: path.filter(|p| *p != "/").map(str::to_owned),
        })
    }

    fn to_value(&self) -> Value {
        let mut server = json!({ "host": self.host, "protocol": self.protocol });
        if let Some(path) = &self.pathname {
            server["pathname"] = json!(path);
        }
        server
    }
}

/// The bindings of one protocol.
pub(crate) trait Binding {
    /// The key under `bindings`.
    fn protocol(&self) -> &'static str;
    /// The channel binding of the event topic `topic`.
    fn event_channel(&self, topic: &str) -> Option<Value>;
    /// The binding of the operation that publishes on `topic`.
    fn event_operation(&self, topic: &str) -> Option<Value>;
    /// The binding of an event's message whose key is the field `key`.
    fn event_message(&self, _key: Option<&str>) -> Option<Value> {
        None
    }
    /// The channel binding of the request topic `topic` of `service`.
    fn request_channel(&self, service: &str, topic: &str) -> Option<Value>;
    /// The binding of the operation that serves requests on `topic`.
    fn request_operation(&self, service: &str, topic: &str) -> Option<Value>;
}

/// The binding of `protocol`, if accord has one.
fn for_protocol(protocol: &str, options: &AsyncApiOptions) -> Option<Box<dyn Binding>> {
    match protocol {
        "nats" => Some(Box::new(nats::NatsBinding::new(options))),
        "amqp" | "amqps" => Some(Box::new(amqp::AmqpBinding::new(options))),
        "kafka" => Some(Box::new(kafka::KafkaBinding)),
        _ => None,
    }
}

/// The protocols accord has backends for, in document order.
const PROTOCOLS: [&str; 3] = ["nats", "amqp", "kafka"];

/// Adds `servers` and the bindings of `options` to `document`, the
/// AsyncAPI document of `descriptor`.
pub(crate) fn apply(
    document: &mut Value,
    descriptor: &ServiceDescriptor,
    options: &AsyncApiOptions,
) {
    let mut protocols: Vec<&str> = Vec::new();
    if options.servers.is_empty() {
        protocols.extend(PROTOCOLS);
    } else {
        let servers: Map<String, Value> = options
            .servers
            .iter()
            .map(|s| (s.name.clone(), s.to_value()))
            .collect();
        document["servers"] = Value::Object(servers);
        for server in &options.servers {
            let key = if server.protocol == "amqps" {
                "amqp"
            } else {
                server.protocol.as_str()
            };
            if !protocols.contains(&key) {
                protocols.push(key);
            }
        }
    }
    let bindings: Vec<Box<dyn Binding>> = protocols
        .iter()
        .filter_map(|p| for_protocol(p, options))
        .collect();
    for op in &descriptor.operations {
        let (channel_id, channel, operation): (String, Vec<_>, Vec<_>) = match &op.kind {
            OperationKind::Event(event) => (
                op.name.clone(),
                bindings
                    .iter()
                    .filter_map(|b| Some((b.protocol(), b.event_channel(&event.topic)?)))
                    .collect(),
                bindings
                    .iter()
                    .filter_map(|b| Some((b.protocol(), b.event_operation(&event.topic)?)))
                    .collect(),
            ),
            OperationKind::Request(_) => {
                let topic = request_topic(&descriptor.name, &op.name);
                let service = descriptor.name.as_str();
                (
                    format!("{}_request", op.name),
                    bindings
                        .iter()
                        .filter_map(|b| Some((b.protocol(), b.request_channel(service, &topic)?)))
                        .collect(),
                    bindings
                        .iter()
                        .filter_map(|b| Some((b.protocol(), b.request_operation(service, &topic)?)))
                        .collect(),
                )
            }
        };
        if let OperationKind::Event(event) = &op.kind {
            let message: Vec<_> = bindings
                .iter()
                .filter_map(|b| Some((b.protocol(), b.event_message(event.key.as_deref())?)))
                .collect();
            insert(&mut document["components"]["messages"][&op.name], message);
        }
        insert(&mut document["channels"][&channel_id], channel);
        insert(&mut document["operations"][&op.name], operation);
    }
}

fn insert(target: &mut Value, bindings: Vec<(&'static str, Value)>) {
    if bindings.is_empty() || !target.is_object() {
        return;
    }
    let map: Map<String, Value> = bindings
        .into_iter()
        .map(|(protocol, binding)| (protocol.to_owned(), binding))
        .collect();
    target["bindings"] = Value::Object(map);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_name_equals_url_without_its_credentials() {
        let server = AsyncApiServer::parse("production=amqp://app:secret@rabbit:5672/%2f").unwrap();
        assert_eq!(server.name, "production");
        assert_eq!(server.protocol, "amqp");
        assert_eq!(server.host, "rabbit:5672");
        assert_eq!(server.pathname.as_deref(), Some("/%2f"));
        let nats = AsyncApiServer::parse("dev=nats://127.0.0.1:4222").unwrap();
        assert_eq!((nats.protocol.as_str(), nats.pathname), ("nats", None));
    }

    #[test]
    fn a_bad_server_says_what_is_wrong() {
        for (spec, says) in [
            ("nats://x:4222", "NAME=URL"),
            ("prod=x:4222", "no scheme"),
            ("prod=http://x", "`http://`"),
            ("pr od=nats://x", "server name"),
            ("prod=nats://", "no host"),
        ] {
            let error = AsyncApiServer::parse(spec).unwrap_err();
            assert!(error.contains(says), "{spec}: {error}");
        }
    }
}
