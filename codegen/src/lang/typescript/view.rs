//! The TypeScript view model: what the TypeScript templates receive.
//!
//! Built from the language-neutral [`view::ServiceView`]: TypeScript names
//! and type expressions, argument order, which arguments may be left out,
//! the names the client declares. `codegen/TEMPLATES.md` documents every
//! field; a field that is absent is `null`, never missing, so templates can
//! test it in strict mode.

use serde::Serialize;

/// Everything the TypeScript templates are rendered with, for one service and version.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceView {
    /// The service itself.
    pub service: ServiceInfo,
    /// The request operations, in declaration order.
    pub requests: Vec<RequestView>,
    /// The event operations, in declaration order.
    pub events: Vec<EventView>,
    /// The named schemas, sorted by name.
    pub types: Vec<TypeView>,
    /// Names the TypeScript client declares besides the contract's types.
    pub names: ClientNames,
    /// The documents published beside the rendered file.
    pub files: Files,
    /// The `type` URIs of the problem documents accord servers send.
    pub problem_types: ProblemTypes,
}

/// The service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceInfo {
    /// The service name (`name = "..."`).
    pub name: String,
    /// The contract version.
    pub version: String,
    /// The trait's doc comment.
    pub docs: Option<String>,
    /// The first paragraph of `docs`, on one line.
    pub summary: Option<String>,
    /// The contract crate's package name.
    pub package: String,
    /// The Rust path of the service's marker type.
    pub rust_path: String,
    /// The credentials the connection takes; `null` when no request
    /// requires one.
    pub auth: Option<AuthView>,
}

/// The credentials a connection takes.
#[derive(Debug, Clone, Serialize)]
pub struct AuthView {
    /// Whether some request takes a bearer token (the connection's `token`).
    pub bearer: bool,
    /// The header of the API key (the connection's `apiKey`), when some
    /// request takes one.
    pub api_key_header: Option<String>,
}

/// A request operation.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    /// The Rust method name (the OpenAPI `operationId`).
    pub name: String,
    /// The TypeScript function name (camelCase).
    pub function: String,
    /// The method's doc comment.
    pub docs: Option<String>,
    /// The first paragraph of `docs`, on one line.
    pub summary: Option<String>,
    /// The HTTP method, upper case.
    pub method: String,
    /// The path template, with `{name}` parameters.
    pub path: String,
    /// The path split at its parameters.
    pub path_segments: Vec<PathSegment>,
    /// The status of a successful reply.
    pub status: u16,
    /// Whether the call may be repeated safely.
    pub idempotent: bool,
    /// Every argument in call order: path parameters, body, query, headers.
    pub arguments: Vec<ArgumentView>,
    /// The path parameters, in path order.
    pub path_params: Vec<ArgumentView>,
    /// The `#[query]` struct argument.
    pub query: Option<QueryView>,
    /// The `#[header]` arguments.
    pub headers: Vec<ArgumentView>,
    /// The JSON body argument.
    pub body: Option<ArgumentView>,
    /// The success value; `null` when the reply has no content.
    pub response: Option<TypeRef>,
    /// The TypeScript type of the success value (`void` without content).
    pub returns: String,
    /// The typed service error.
    pub error: Option<ErrorView>,
    /// The credential the request sends: `bearer` (the connection's
    /// `token`) or `api_key` (its `apiKey`); `null` for a public request.
    pub credential: Option<String>,
    /// The header the credential travels in.
    pub credential_header: Option<String>,
}

/// A literal piece of a path, or a parameter.
#[derive(Debug, Clone, Serialize)]
pub struct PathSegment {
    /// The literal text, for a literal piece.
    pub literal: Option<String>,
    /// The parameter's name in the path, for a parameter.
    pub param: Option<String>,
    /// The TypeScript argument that fills the parameter.
    pub argument: Option<String>,
}

/// An argument of a request function.
#[derive(Debug, Clone, Serialize)]
pub struct ArgumentView {
    /// The Rust argument name.
    pub name: String,
    /// The TypeScript parameter name.
    pub ident: String,
    /// The name on the wire: path parameter, header name; the argument name
    /// for a body or query.
    pub wire_name: String,
    /// `path`, `query`, `header` or `body`.
    pub location: String,
    /// The TypeScript type.
    pub ts_type: String,
    /// Whether a call must give it.
    pub required: bool,
    /// Whether the TypeScript parameter is optional (`name?:`): not
    /// required, and no required argument follows.
    pub optional: bool,
    /// Its docs (query fields only have them).
    pub docs: Option<String>,
    /// The named types its type refers to (TypeScript names).
    pub refs: Vec<String>,
}

/// The `#[query]` argument and its fields.
#[derive(Debug, Clone, Serialize)]
pub struct QueryView {
    /// The argument itself.
    pub argument: ArgumentView,
    /// One entry per field of the query struct.
    pub fields: Vec<ArgumentView>,
}

/// A type used by an operation.
#[derive(Debug, Clone, Serialize)]
pub struct TypeRef {
    /// The TypeScript type.
    pub ts_type: String,
    /// The named types it refers to (TypeScript names).
    pub refs: Vec<String>,
}

/// The typed error of a request.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorView {
    /// The TypeScript type of the problem document's `error` member.
    pub ts_type: String,
    /// The named types it refers to (TypeScript names).
    pub refs: Vec<String>,
    /// Each variant with its status.
    pub variants: Vec<ErrorVariantView>,
}

/// One variant of a service error.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorVariantView {
    /// The Rust variant name.
    pub name: String,
    /// The HTTP status it is sent with.
    pub status: u16,
    /// Its doc comment.
    pub docs: Option<String>,
}

/// An event operation.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// The Rust method name.
    pub name: String,
    /// camelCase of `name`.
    pub ident: String,
    /// The method's doc comment.
    pub docs: Option<String>,
    /// The first paragraph of `docs`, on one line.
    pub summary: Option<String>,
    /// The topic it is published on.
    pub topic: String,
    /// The payload field that orders and partitions deliveries.
    pub key: Option<String>,
    /// The payload.
    pub payload: TypeRef,
    /// The handler's error, when a handler returns `Result<(), E>`.
    pub error: Option<TypeRef>,
}

/// A named schema.
#[derive(Debug, Clone, Serialize)]
pub struct TypeView {
    /// The schema name (the file `schemas/<name>.json`).
    pub name: String,
    /// The TypeScript name.
    pub ts_name: String,
    /// The schema's `description`.
    pub docs: Option<String>,
    /// The first paragraph of `docs`, on one line.
    pub summary: Option<String>,
    /// `interface` (an object with properties), `union` (alternatives) or
    /// `alias` (any other type).
    pub kind: String,
    /// The whole type as one TypeScript expression.
    pub ts_type: String,
    /// The properties, sorted by name, for an `interface`.
    pub properties: Vec<PropertyView>,
    /// The alternatives, in schema order, for a `union`.
    pub variants: Vec<VariantView>,
    /// The JSON Schema file, relative to the service folder.
    pub schema_file: String,
    /// The contents of that file.
    pub schema_json: String,
    /// The named types its type refers to directly.
    pub refs: Vec<String>,
    /// The operations that use the type, directly or through other types.
    pub used_by: Vec<UsedBy>,
}

/// An operation that uses a type.
#[derive(Debug, Clone, Serialize)]
pub struct UsedBy {
    /// The operation's name.
    pub name: String,
    /// Its anchor on the documentation page: `op-<name>` for a request,
    /// `event-<name>` for an event.
    pub anchor: String,
}

/// A property of an `interface` type.
#[derive(Debug, Clone, Serialize)]
pub struct PropertyView {
    /// The JSON name.
    pub name: String,
    /// The TypeScript property key, quoted when it must be.
    pub key: String,
    /// The TypeScript type.
    pub ts_type: String,
    /// Whether every value has it.
    pub required: bool,
    /// Its description.
    pub docs: Option<String>,
    /// The named types its type refers to.
    pub refs: Vec<String>,
}

/// An alternative of a `union` type.
#[derive(Debug, Clone, Serialize)]
pub struct VariantView {
    /// The TypeScript type.
    pub ts_type: String,
    /// Its description.
    pub docs: Option<String>,
    /// The named types its type refers to.
    pub refs: Vec<String>,
}

/// Names the TypeScript client declares. Each is the default shown unless a
/// contract type or a request function already has it; then it is prefixed
/// with `Accord`.
#[derive(Debug, Clone, Serialize)]
pub struct ClientNames {
    /// The client class: `<Service>Client`.
    pub client: String,
    /// `Connection`: where and how to send calls.
    pub connection: String,
    /// `CallOptions`: per-call options.
    pub call_options: String,
    /// `CallResult`: the result of a call with a typed error.
    pub call_result: String,
    /// `ServiceError`: thrown by `unwrap` for a typed error.
    pub service_error: String,
    /// `ProblemError`: thrown for any other problem document.
    pub problem_error: String,
    /// `ProtocolError`: thrown for a reply that is not what the contract says.
    pub protocol_error: String,
    /// `Problem`: an RFC 9457 problem document.
    pub problem: String,
    /// `FieldError`: one rejected field of a problem document.
    pub field_error: String,
    /// `unwrap`: a call result's value, or its error thrown.
    pub unwrap: String,
    /// `encodePathSegment`: percent-encodes a path parameter.
    pub encode_path_segment: String,
    /// `encodeQuery`: form-encodes a query object.
    pub encode_query: String,
    /// `topics`: the event topics by event name.
    pub topics: String,
    /// `<Service>Events`: the payload type of each event, by topic.
    pub events: String,
    /// `Credential`: a token or API key, or a function returning one
    /// (declared only when a request requires one).
    pub credential: String,
}

/// The published files, relative to the service folder.
#[derive(Debug, Clone, Serialize)]
pub struct Files {
    /// The OpenAPI document.
    pub openapi: String,
    /// The AsyncAPI document.
    pub asyncapi: String,
    /// The TypeScript client.
    pub client: String,
    /// The documentation page.
    pub index: String,
    /// The folder of per-type JSON Schemas.
    pub schemas: String,
}

/// Problem type URIs.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemTypes {
    /// A typed service error, carried in the `error` member.
    pub service_error: String,
    /// Input the server could not decode.
    pub invalid_request: String,
}
