//! The contract as data.
//!
//! `#[accord::service]` generates a function that builds a [`ServiceDescriptor`]
//! once per process: every operation with its kind, binding, docs and the
//! schemas schemars produces for its types. The HTTP server routes from it,
//! the spec emitters ([`crate::spec`]) read it, and the CLI exports it as
//! JSON, so it derives `Serialize` and `Deserialize`.
//!
//! Schemas reference named types as `#/$defs/<Name>`; the named schemas live
//! once in [`ServiceDescriptor::definitions`]. Each document format moves
//! them to where it resolves them and rewrites the references
//! ([`crate::spec::rewrite_refs`]).

mod auth;

use std::collections::BTreeMap;

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ServiceError;

pub use self::auth::{AuthRequirement, AuthScheme};

/// A service contract: what one `#[accord::service]` trait declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceDescriptor {
    /// The service name (`name = "..."`), used in topics, spans and documents.
    pub name: String,
    /// The contract's semantic version (`version = "..."`).
    pub version: String,
    /// The trait's doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
    /// The scheme every request requires unless it says otherwise
    /// (`auth = "..."` on the service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthScheme>,
    /// Every method of the trait, in declaration order.
    pub operations: Vec<OperationDescriptor>,
    /// Named schemas, referenced from operation schemas as `#/$defs/<name>`.
    pub definitions: BTreeMap<String, Value>,
}

impl ServiceDescriptor {
    /// The request operations, in declaration order.
    pub fn requests(&self) -> impl Iterator<Item = (&OperationDescriptor, &RequestDescriptor)> {
        self.operations.iter().filter_map(|op| match &op.kind {
            OperationKind::Request(r) => Some((op, r)),
            OperationKind::Event(_) => None,
        })
    }

    /// The event operations, in declaration order.
    pub fn events(&self) -> impl Iterator<Item = (&OperationDescriptor, &EventDescriptor)> {
        self.operations.iter().filter_map(|op| match &op.kind {
            OperationKind::Event(e) => Some((op, e)),
            OperationKind::Request(_) => None,
        })
    }

    /// Every scheme the contract uses, the service's default first, each
    /// once.
    pub fn auth_schemes(&self) -> Vec<&AuthScheme> {
        let mut schemes: Vec<&AuthScheme> = self.auth.iter().collect();
        for (_, request) in self.requests() {
            if let Some(auth) = &request.auth {
                if !schemes.contains(&&auth.scheme) {
                    schemes.push(&auth.scheme);
                }
            }
        }
        schemes
    }

    /// Looks an operation up by its method name.
    pub fn operation(&self, name: &str) -> Option<&OperationDescriptor> {
        self.operations.iter().find(|op| op.name == name)
    }

    /// Follows a `#/$defs/<name>` reference to its schema; other schemas are
    /// returned as they are.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut current = schema;
        // A chain of references ends; a cycle of bare references cannot be
        // produced by schemars, but stop after a bounded walk regardless.
        for _ in 0..32 {
            let Some(name) = current
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
            else {
                return current;
            };
            match self.definitions.get(name) {
                Some(next) => current = next,
                None => return current,
            }
        }
        current
    }
}

/// One method of the contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationDescriptor {
    /// The Rust method name; unique within the service.
    pub name: String,
    /// The method's doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
    /// Request or event, with its binding.
    #[serde(flatten)]
    pub kind: OperationKind,
}

/// Whether an operation is answered (request) or published (event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
// Built once per process and read in place: boxing the larger variant
// would only add an indirection to every read.
#[allow(clippy::large_enum_variant)]
pub enum OperationKind {
    /// A synchronous call with a reply.
    Request(RequestDescriptor),
    /// An asynchronous message consumed by subscriber groups.
    Event(EventDescriptor),
}

/// How a request method is bound to HTTP (and, through the same encoding, to
/// any other request transport).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestDescriptor {
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template with `{name}` parameters.
    pub path: String,
    /// Status of a successful reply.
    pub status: u16,
    /// Whether repeating the call has the same effect as making it once.
    pub idempotent: bool,
    /// Path parameters in the order they appear in the path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path_params: Vec<ParamDescriptor>,
    /// The `#[query]` struct, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<QueryDescriptor>,
    /// `#[header("...")]` arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<ParamDescriptor>,
    /// The JSON body argument, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyDescriptor>,
    /// Schema of the success value; `None` when the method returns `()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
    /// The service error type, when the method returns `Result<T, E>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDescriptor>,
    /// The credential a caller must present; `None` for a public request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthRequirement>,
}

/// A path parameter, a header, or one field of a query struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamDescriptor {
    /// The name on the wire (path placeholder, header name, query key).
    pub name: String,
    /// The Rust argument it binds (for query fields: the query argument).
    pub argument: String,
    /// Whether a call must carry it.
    pub required: bool,
    /// Its schema.
    pub schema: Value,
    /// Field docs, for query fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
}

/// A `#[query]` struct argument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryDescriptor {
    /// The Rust argument name.
    pub argument: String,
    /// Schema of the whole struct.
    pub schema: Value,
    /// One entry per property of the struct, when its schema lists them.
    pub fields: Vec<ParamDescriptor>,
}

/// The JSON body argument of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BodyDescriptor {
    /// The Rust argument name.
    pub argument: String,
    /// Schema of the body.
    pub schema: Value,
}

/// The error type of a request method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDescriptor {
    /// Schema of the error value carried in the problem document's `error` member.
    pub schema: Value,
    /// Each variant (one entry for a struct error) with its status.
    pub variants: Vec<ErrorVariant>,
}

/// One variant of a [`ServiceError`] and the status it is sent with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorVariant {
    /// The variant (or struct) name.
    pub name: String,
    /// The HTTP status.
    pub status: u16,
    /// The variant's doc comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
}

/// How an event method is bound to a broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDescriptor {
    /// The topic the event is published on.
    pub topic: String,
    /// The payload field whose value orders and partitions deliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The payload argument name.
    pub argument: String,
    /// Schema of the payload.
    pub payload: Value,
    /// Schema of the handler's error, when the handler returns `Result<(), E>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

/// Builds a [`ServiceDescriptor`]; used by generated code.
#[derive(Debug)]
pub struct DescriptorBuilder {
    generator: SchemaGenerator,
    descriptor: ServiceDescriptor,
}

/// The fixed part of a request binding, written by the macro.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpec {
    /// Method name.
    pub name: &'static str,
    /// Doc comment, empty if none.
    pub docs: &'static str,
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
    /// Success status.
    pub status: u16,
    /// Whether the call may be repeated safely.
    pub idempotent: bool,
}

fn non_empty(docs: &str) -> Option<String> {
    let docs = docs.trim();
    (!docs.is_empty()).then(|| docs.to_owned())
}

/// Whether a missing value decodes as `T`: true exactly for `Option`-like types.
fn accepts_missing<T: serde::de::DeserializeOwned>() -> bool {
    T::deserialize(serde::de::value::UnitDeserializer::<serde::de::value::Error>::new()).is_ok()
}

impl DescriptorBuilder {
    /// Starts a descriptor for the service `name` at `version`.
    pub fn new(name: &str, version: &str, docs: &str) -> Self {
        DescriptorBuilder {
            generator: SchemaSettings::draft2020_12().into_generator(),
            descriptor: ServiceDescriptor {
                name: name.to_owned(),
                version: version.to_owned(),
                docs: non_empty(docs),
                auth: None,
                operations: Vec::new(),
                definitions: BTreeMap::new(),
            },
        }
    }

    /// Sets the scheme every request requires unless it says otherwise.
    pub fn auth(&mut self, scheme: AuthScheme) {
        self.descriptor.auth = Some(scheme);
    }

    /// Adds a request operation; its parts are added to the returned builder.
    pub fn request(&mut self, spec: RequestSpec) -> RequestBuilder<'_> {
        self.descriptor.operations.push(OperationDescriptor {
            name: spec.name.to_owned(),
            docs: non_empty(spec.docs),
            kind: OperationKind::Request(RequestDescriptor {
                method: spec.method.to_owned(),
                path: spec.path.to_owned(),
                status: spec.status,
                idempotent: spec.idempotent,
                path_params: Vec::new(),
                query: None,
                headers: Vec::new(),
                body: None,
                response: None,
                error: None,
                auth: None,
            }),
        });
        let Some(OperationDescriptor {
            kind: OperationKind::Request(request),
            ..
        }) = self.descriptor.operations.last_mut()
        else {
            unreachable!("a request was pushed just above")
        };
        RequestBuilder {
            generator: &mut self.generator,
            request,
        }
    }

    /// Adds an event operation with payload type `T`.
    pub fn event<T: JsonSchema>(
        &mut self,
        name: &str,
        docs: &str,
        topic: &str,
        key: Option<&str>,
        argument: &str,
    ) {
        let payload = self.generator.subschema_for::<T>().to_value();
        self.descriptor.operations.push(OperationDescriptor {
            name: name.to_owned(),
            docs: non_empty(docs),
            kind: OperationKind::Event(EventDescriptor {
                topic: topic.to_owned(),
                key: key.map(str::to_owned),
                argument: argument.to_owned(),
                payload,
                error: None,
            }),
        });
    }

    /// Records the error type of the last event's handler.
    pub fn event_error<E: JsonSchema>(&mut self) {
        let schema = self.generator.subschema_for::<E>().to_value();
        if let Some(OperationDescriptor {
            kind: OperationKind::Event(event),
            ..
        }) = self.descriptor.operations.last_mut()
        {
            event.error = Some(schema);
        }
    }

    /// Finishes the descriptor, collecting the named schemas.
    pub fn finish(mut self) -> ServiceDescriptor {
        self.descriptor.definitions = self.generator.take_definitions(true).into_iter().collect();
        let descriptor = self.descriptor;
        expand_query_fields(descriptor)
    }
}

/// Lists each property of each query struct as its own parameter, now that
/// the definitions the query schemas reference are known.
fn expand_query_fields(mut descriptor: ServiceDescriptor) -> ServiceDescriptor {
    let mut expanded = Vec::new();
    for (index, op) in descriptor.operations.iter().enumerate() {
        let OperationKind::Request(request) = &op.kind else {
            continue;
        };
        let Some(query) = &request.query else {
            continue;
        };
        let schema = descriptor.resolve(&query.schema);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let fields: Vec<ParamDescriptor> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .map(|(name, schema)| {
                        let docs = schema
                            .get("description")
                            .and_then(Value::as_str)
                            .map(str::to_owned);
                        ParamDescriptor {
                            name: name.clone(),
                            argument: query.argument.clone(),
                            required: required.contains(&name.as_str()),
                            schema: schema.clone(),
                            docs,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        expanded.push((index, fields));
    }
    for (index, fields) in expanded {
        if let OperationKind::Request(request) = &mut descriptor.operations[index].kind {
            if let Some(query) = &mut request.query {
                query.fields = fields;
            }
        }
    }
    descriptor
}

/// Adds the parts of one request operation; used by generated code.
#[derive(Debug)]
pub struct RequestBuilder<'a> {
    generator: &'a mut SchemaGenerator,
    request: &'a mut RequestDescriptor,
}

impl RequestBuilder<'_> {
    /// A `{name}` path parameter bound to `argument`.
    pub fn path_param<T: JsonSchema>(self, name: &str, argument: &str) -> Self {
        let schema = self.generator.subschema_for::<T>().to_value();
        self.request.path_params.push(ParamDescriptor {
            name: name.to_owned(),
            argument: argument.to_owned(),
            required: true,
            schema,
            docs: None,
        });
        self
    }

    /// A `#[query]` struct bound to `argument`.
    pub fn query<T: JsonSchema>(self, argument: &str) -> Self {
        let schema = self.generator.subschema_for::<T>().to_value();
        self.request.query = Some(QueryDescriptor {
            argument: argument.to_owned(),
            schema,
            fields: Vec::new(),
        });
        self
    }

    /// A `#[header("name")]` argument.
    pub fn header<T: JsonSchema + serde::de::DeserializeOwned>(
        self,
        name: &str,
        argument: &str,
    ) -> Self {
        let schema = self.generator.subschema_for::<T>().to_value();
        self.request.headers.push(ParamDescriptor {
            name: name.to_owned(),
            argument: argument.to_owned(),
            required: !accepts_missing::<T>(),
            schema,
            docs: None,
        });
        self
    }

    /// The JSON body argument.
    pub fn body<T: JsonSchema>(self, argument: &str) -> Self {
        let schema = self.generator.subschema_for::<T>().to_value();
        self.request.body = Some(BodyDescriptor {
            argument: argument.to_owned(),
            schema,
        });
        self
    }

    /// The success type; not called for methods returning `()`.
    pub fn response<T: JsonSchema>(self) -> Self {
        self.request.response = Some(self.generator.subschema_for::<T>().to_value());
        self
    }

    /// The credential the request requires, with the scopes it must grant.
    pub fn auth(self, scheme: AuthScheme, scopes: &[&str]) -> Self {
        self.request.auth = Some(AuthRequirement {
            scheme,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        });
        self
    }

    /// The error type of a method returning `Result<T, E>`.
    pub fn error<E: ServiceError>(self) -> Self {
        let schema = self.generator.subschema_for::<E>().to_value();
        self.request.error = Some(ErrorDescriptor {
            schema,
            variants: E::variants()
                .iter()
                .map(|v| ErrorVariant {
                    name: v.name.to_owned(),
                    status: v.status,
                    docs: non_empty(v.docs),
                })
                .collect(),
        });
        self
    }
}
