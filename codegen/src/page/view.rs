//! The page's view model: what `index.html.hbs` receives, documented
//! field by field in `codegen/TEMPLATES.md`.

use serde::Serialize;

/// Everything the page's templates are rendered with.
#[derive(Debug, Clone, Serialize)]
pub struct PageView {
    /// The service.
    pub service: ServiceInfo,
    /// The request operations, in declaration order.
    pub requests: Vec<RequestView>,
    /// The event operations, in declaration order.
    pub events: Vec<EventView>,
    /// The named schemas, sorted by name.
    pub types: Vec<TypeView>,
    /// The documents published beside the page.
    pub files: Files,
    /// The clients published beside the page, one per language.
    pub clients: Vec<ClientView>,
    /// The `type` URIs of the problem documents accord servers send.
    pub problem_types: ProblemTypes,
}

/// The service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceInfo {
    /// The service name.
    pub name: String,
    /// The contract version.
    pub version: String,
    /// The trait's doc comment.
    pub docs: Option<String>,
    /// Its first paragraph, on one line.
    pub summary: Option<String>,
    /// The contract crate's package name.
    pub package: String,
    /// The Rust path of the service.
    pub rust_path: String,
}

/// A request operation.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    /// The Rust method name (the OpenAPI `operationId`).
    pub name: String,
    /// The method's doc comment.
    pub docs: Option<String>,
    /// Its first paragraph, on one line.
    pub summary: Option<String>,
    /// The HTTP method, upper case.
    pub method: String,
    /// The path template.
    pub path: String,
    /// The status of a successful reply.
    pub status: u16,
    /// Whether a repeated call has the same effect.
    pub idempotent: bool,
    /// Every argument in call order: path parameters, body, query, headers.
    pub arguments: Vec<ArgumentView>,
    /// The path parameters.
    pub path_params: Vec<ArgumentView>,
    /// The query argument and its fields.
    pub query: Option<QueryView>,
    /// The headers.
    pub headers: Vec<ArgumentView>,
    /// The JSON body.
    pub body: Option<ArgumentView>,
    /// The success value; null without content.
    pub response: Option<TypeRef>,
    /// The typed service error.
    pub error: Option<ErrorView>,
    /// How each published client calls it.
    pub calls: Vec<CallView>,
}

/// How one client calls an operation.
#[derive(Debug, Clone, Serialize)]
pub struct CallView {
    /// The language, for people (`TypeScript`).
    pub language: String,
    /// The call (`placeOrder()`).
    pub call: String,
}

/// An argument.
#[derive(Debug, Clone, Serialize)]
pub struct ArgumentView {
    /// The Rust argument (for query fields: the field) name.
    pub name: String,
    /// The path parameter, header or query field name; the argument name
    /// for a body or query.
    pub wire_name: String,
    /// `path`, `query`, `header` or `body`.
    pub location: String,
    /// Its type, in the page's notation.
    #[serde(rename = "type")]
    pub type_: String,
    /// Whether a call must give it.
    pub required: bool,
    /// Its docs.
    pub docs: Option<String>,
    /// The named types its type mentions.
    pub refs: Vec<String>,
}

/// The query argument.
#[derive(Debug, Clone, Serialize)]
pub struct QueryView {
    /// The query struct argument.
    pub argument: ArgumentView,
    /// Its fields.
    pub fields: Vec<ArgumentView>,
}

/// A type, in the page's notation, with the named types it mentions.
#[derive(Debug, Clone, Serialize)]
pub struct TypeRef {
    /// The type.
    #[serde(rename = "type")]
    pub type_: String,
    /// The named types it mentions.
    pub refs: Vec<String>,
}

/// A typed service error.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorView {
    /// The type of the problem document's `error` member.
    #[serde(rename = "type")]
    pub type_: String,
    /// The named types it mentions.
    pub refs: Vec<String>,
    /// Each variant and its status.
    pub variants: Vec<ErrorVariantView>,
}

/// One variant of a service error.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorVariantView {
    /// The Rust variant name.
    pub name: String,
    /// Its status.
    pub status: u16,
    /// Its docs.
    pub docs: Option<String>,
}

/// An event operation.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// The Rust method name.
    pub name: String,
    /// The method's doc comment.
    pub docs: Option<String>,
    /// Its first paragraph, on one line.
    pub summary: Option<String>,
    /// The topic.
    pub topic: String,
    /// The payload field that orders deliveries.
    pub key: Option<String>,
    /// The payload.
    pub payload: TypeRef,
    /// The handler's error.
    pub error: Option<TypeRef>,
}

/// A named schema.
#[derive(Debug, Clone, Serialize)]
pub struct TypeView {
    /// The schema name.
    pub name: String,
    /// The anchor of its section, without `type-`.
    pub anchor: String,
    /// Its description.
    pub docs: Option<String>,
    /// Its first paragraph.
    pub summary: Option<String>,
    /// `interface`, `union` or `alias`.
    pub kind: String,
    /// The whole type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Its JSON Schema type, format and bounds, such as `integer, uint64,
    /// 0 to 18446744073709551615`; `None` for an object or a union.
    pub schema: Option<String>,
    /// The example values the contract gives, pretty-printed JSON.
    pub examples: Vec<String>,
    /// The properties of an `interface`.
    pub properties: Vec<PropertyView>,
    /// The alternatives of a `union`.
    pub variants: Vec<VariantView>,
    /// The named types it mentions.
    pub refs: Vec<String>,
    /// Its schema file.
    pub schema_file: String,
    /// That file's contents.
    pub schema_json: String,
    /// The operations using it.
    pub used_by: Vec<UsedBy>,
}

/// A property.
#[derive(Debug, Clone, Serialize)]
pub struct PropertyView {
    /// The JSON name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Its JSON Schema type, format and bounds, where the property has its
    /// own (not a reference to a named type).
    pub schema: Option<String>,
    /// The example values the contract gives for it, compact JSON.
    pub examples: Vec<String>,
    /// Whether every value has it.
    pub required: bool,
    /// Its description.
    pub docs: Option<String>,
    /// The named types it mentions.
    pub refs: Vec<String>,
}

/// An alternative of a union.
#[derive(Debug, Clone, Serialize)]
pub struct VariantView {
    /// Its type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Its description.
    pub docs: Option<String>,
    /// The named types it mentions.
    pub refs: Vec<String>,
}

/// An operation using a type.
#[derive(Debug, Clone, Serialize)]
pub struct UsedBy {
    /// The operation.
    pub name: String,
    /// Its anchor: `op-<name>` or `event-<name>`.
    pub anchor: String,
}

/// A client published beside the page.
#[derive(Debug, Clone, Serialize)]
pub struct ClientView {
    /// Its language, for people (`TypeScript`).
    pub language: String,
    /// The file or folder to open, relative to the page.
    pub entry: String,
}

/// The documents beside the page.
#[derive(Debug, Clone, Serialize)]
pub struct Files {
    /// The OpenAPI document.
    pub openapi: String,
    /// The AsyncAPI document.
    pub asyncapi: String,
    /// The folder of JSON Schemas.
    pub schemas: String,
    /// The page itself.
    pub index: String,
}

/// Problem type URIs.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemTypes {
    /// A typed service error.
    pub service_error: String,
    /// Input the server could not decode.
    pub invalid_request: String,
}
