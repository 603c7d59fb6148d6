//! The Python view model: what the Python templates receive.
//!
//! Built from the language-neutral [`view::ServiceView`]: the package's
//! names and version, the models and type aliases in declaration order
//! (models first, since their annotations are evaluated late; aliases in
//! dependency order), one exception per typed error, the request methods
//! with their parameters and the event topics. `codegen/TEMPLATES.md`
//! documents every field; a field that is absent is `null`.

use serde::Serialize;

/// The oldest Python the client runs on.
pub const REQUIRES_PYTHON: &str = ">=3.10";

/// What the client needs, as pip requirements.
pub const DEPENDENCIES: &[&str] = &[
    "anyio>=4",
    "httpx>=0.27,<1",
    "pydantic>=2.11,<3",
    "typing-extensions>=4.6",
];

/// What builds the package.
pub const BUILD_REQUIRES: &str = "setuptools>=61";

/// Everything the Python templates are rendered with, for one service and version.
#[derive(Debug, Clone, Serialize)]
pub struct PythonView {
    /// The service.
    pub service: ServiceInfo,
    /// The package.
    pub package: Package,
    /// The module's docstring.
    pub module_doc: String,
    /// The client class's docstring.
    pub client_doc: String,
    /// Names the module declares besides the contract's types.
    pub names: ClientNames,
    /// Every name in the module's `__all__`, sorted.
    pub exports: Vec<String>,
    /// The model classes, in declaration order.
    pub models: Vec<ModelView>,
    /// The type aliases, in dependency order.
    pub aliases: Vec<AliasView>,
    /// One exception class per typed error type.
    pub errors: Vec<ErrorView>,
    /// The `TypeAdapter`s the methods and events use.
    pub adapters: Vec<AdapterView>,
    /// The request methods, in declaration order.
    pub requests: Vec<RequestView>,
    /// The events, in declaration order.
    pub events: Vec<EventView>,
    /// The `type` URIs of accord's problem documents.
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
    /// Its first paragraph.
    pub summary: Option<String>,
    /// The contract crate.
    pub package: String,
    /// The Rust path of the service.
    pub rust_path: String,
    /// The credentials the client takes; `None` when no request requires one.
    pub auth: Option<AuthView>,
}

/// The credentials a client takes.
#[derive(Debug, Clone, Serialize)]
pub struct AuthView {
    /// Whether some request takes a bearer token (the client's `token`).
    pub bearer: bool,
    /// The header of the API key (the client's `api_key`), when some
    /// request takes one.
    pub api_key_header: Option<String>,
}

/// The Python package.
#[derive(Debug, Clone, Serialize)]
pub struct Package {
    /// The import name (`orders_client`).
    pub module: String,
    /// The distribution name (`orders-client`).
    pub distribution: String,
    /// The package version: the contract version, in PEP 440's spelling.
    pub version: String,
    /// A one-line description.
    pub description: String,
    /// The Python versions it supports (`>=3.10`).
    pub requires_python: String,
    /// Its requirements.
    pub dependencies: Vec<String>,
    /// What builds it.
    pub build_requires: String,
}

/// Names the module declares; each is the default unless a contract type
/// already has it, then it gets an `Accord` prefix.
#[derive(Debug, Clone, Serialize)]
pub struct ClientNames {
    /// `<Service>Client`.
    pub client: String,
    /// `ServiceError`.
    pub service_error: String,
    /// `ProblemError`.
    pub problem_error: String,
    /// `ProtocolError`.
    pub protocol_error: String,
    /// `Problem`.
    pub problem: String,
    /// `FieldError`.
    pub field_error: String,
    /// `Topics`.
    pub topics: String,
    /// `<Service>Events`.
    pub events: String,
    /// `EVENT_PAYLOADS`.
    pub event_payloads: String,
    /// `DEFAULT_TIMEOUT`.
    pub default_timeout: String,
    /// `DEFAULT_REPLY_LIMIT`.
    pub default_reply_limit: String,
    /// `Credential`: a token or API key, or a function returning one
    /// (declared and exported only when a request requires one).
    pub credential: String,
}

/// A model class.
#[derive(Debug, Clone, Serialize)]
pub struct ModelView {
    /// The class name.
    pub name: String,
    /// Its docstring.
    pub docs: Option<String>,
    /// Whether it keeps undeclared properties (`extra="allow"`).
    pub extra: bool,
    /// The Python names of the fields the JSON may leave out.
    pub optional: Vec<String>,
    /// Its fields.
    pub fields: Vec<FieldView>,
}

/// A field of a model.
#[derive(Debug, Clone, Serialize)]
pub struct FieldView {
    /// The Python name.
    pub name: String,
    /// The JSON name.
    pub json_name: String,
    /// The annotation.
    pub annotation: String,
    /// The default as Python source, or null for a required field.
    pub default: Option<String>,
    /// Its docstring.
    pub docs: Option<String>,
}

/// A type alias.
#[derive(Debug, Clone, Serialize)]
pub struct AliasView {
    /// The alias name.
    pub name: String,
    /// What it stands for.
    pub annotation: String,
    /// Its docstring.
    pub docs: Option<String>,
}

/// The exception of one typed error type.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorView {
    /// The exception class (`OrderErrorException`).
    pub exception: String,
    /// The typed error's annotation.
    pub annotation: String,
    /// The `TypeAdapter` decoding it.
    pub adapter: String,
    /// The `TypedError` the methods raise it with.
    pub decoder: String,
    /// The exception's docstring.
    pub doc: String,
}

/// A module-level `TypeAdapter`.
#[derive(Debug, Clone, Serialize)]
pub struct AdapterView {
    /// Its name.
    pub name: String,
    /// The type it validates and dumps.
    pub annotation: String,
}

/// A request method.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    /// The Python method name.
    pub name: String,
    /// The Rust method name (the OpenAPI `operationId`).
    pub operation: String,
    /// The method's docstring.
    pub doc: String,
    /// The HTTP method.
    pub method: String,
    /// The path template.
    pub path: String,
    /// The Python expression of the path, with parameters encoded.
    pub path_expr: String,
    /// The parameters in call order: path parameters, body, query,
    /// headers; those that may be left out (and all after them) default
    /// to `None`.
    pub parameters: Vec<ParameterView>,
    /// The query parameter.
    pub query: Option<QueryView>,
    /// The header parameters.
    pub headers: Vec<HeaderView>,
    /// The body parameter.
    pub body: Option<BodyView>,
    /// The return annotation (`None` without content).
    pub returns: String,
    /// The adapter decoding the reply; null without content.
    pub response_adapter: Option<String>,
    /// The typed error.
    pub error: Option<RequestErrorView>,
    /// `bearer` or `api_key`: the credential the request sends; `None`
    /// for a public request.
    pub credential: Option<String>,
}

/// A parameter of a request method.
#[derive(Debug, Clone, Serialize)]
pub struct ParameterView {
    /// Its name.
    pub ident: String,
    /// Its annotation.
    pub annotation: String,
    /// Its default as Python source, or null.
    pub default: Option<String>,
}

/// The query parameter.
#[derive(Debug, Clone, Serialize)]
pub struct QueryView {
    /// The parameter.
    pub ident: String,
    /// The adapter dumping it to JSON fields.
    pub adapter: String,
}

/// A header parameter.
#[derive(Debug, Clone, Serialize)]
pub struct HeaderView {
    /// The parameter.
    pub ident: String,
    /// The header name.
    pub wire_name: String,
}

/// The body parameter.
#[derive(Debug, Clone, Serialize)]
pub struct BodyView {
    /// The parameter.
    pub ident: String,
    /// The adapter dumping it to JSON.
    pub adapter: String,
}

/// The typed error of a request method.
#[derive(Debug, Clone, Serialize)]
pub struct RequestErrorView {
    /// The exception raised.
    pub exception: String,
    /// The `TypedError` decoding it.
    pub decoder: String,
    /// Each variant with its status.
    pub variants: Vec<VariantView>,
}

/// A variant of a typed error.
#[derive(Debug, Clone, Serialize)]
pub struct VariantView {
    /// The Rust variant name.
    pub name: String,
    /// Its status.
    pub status: u16,
    /// Its docs.
    pub docs: Option<String>,
}

/// An event.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// The Rust method name.
    pub name: String,
    /// The constant of its topic in `Topics` (`ORDER_PLACED`).
    pub constant: String,
    /// The topic.
    pub topic: String,
    /// The payload's annotation.
    pub payload: String,
    /// The adapter decoding the payload.
    pub adapter: String,
    /// The event's docs.
    pub docs: Option<String>,
}

/// Problem type URIs.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemTypes {
    /// A typed service error.
    pub service_error: String,
    /// Input the server could not decode.
    pub invalid_request: String,
}
