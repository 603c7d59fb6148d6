//! The language-neutral view of one service version.
//!
//! [`build`] reads a descriptor once into what every published artifact
//! needs: the operations with their bindings (path, query, headers, body),
//! replies and typed errors, the events, and the named types, each type
//! lowered from JSON Schema to a [`Ty`] tree. Nothing here is shaped for
//! one target language: each language module (`crate::lang`) maps these
//! names and types to its own, and the documentation page (`crate::page`)
//! shows them as they are on the wire.

mod build;
pub mod ty;

pub use build::build;
pub use ty::{ObjectTy, Property, Ty};

/// The OpenAPI document, below the service folder.
pub const OPENAPI_FILE: &str = "openapi.json";

/// The AsyncAPI document, below the service folder.
pub const ASYNCAPI_FILE: &str = "asyncapi.json";

/// The folder of per-type JSON Schemas, below the service folder.
pub const SCHEMAS_FOLDER: &str = "schemas";

/// The documentation page, below the service folder.
pub const PAGE_FILE: &str = "index.html";

/// The JSON Schema dialect of the per-type schema files.
pub const SCHEMA_DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The schema file of the definition `name`, from its `schema` with
/// integer bounds already added ([`accord::spec::bound_integer_formats`]):
/// a JSON Schema 2020-12 document that refers to the other types as
/// sibling files (`"$ref": "Line.json"`) and has a `title`.
pub fn published_schema(name: &str, schema: serde_json::Value) -> serde_json::Value {
    use serde_json::{json, Value};
    let mut schema = match schema {
        Value::Object(_) => schema,
        Value::Bool(true) => json!({}),
        _ => json!({ "not": {} }),
    };
    rewrite_refs_to_files(&mut schema);
    if let Value::Object(map) = &mut schema {
        map.insert("$schema".into(), json!(SCHEMA_DIALECT));
        map.entry("title").or_insert_with(|| json!(name));
    }
    schema
}

fn rewrite_refs_to_files(schema: &mut serde_json::Value) {
    use serde_json::Value;
    match schema {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match (key.as_str(), &mut *value) {
                    ("$ref", Value::String(reference)) => {
                        if let Some(name) = accord::spec::ref_name(reference) {
                            *reference = format!("{name}.json");
                        }
                    }
                    ("const" | "enum" | "default" | "examples" | "example", _) => {}
                    _ => rewrite_refs_to_files(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs_to_files),
        _ => {}
    }
}

/// One service version, as every target sees it.
#[derive(Debug, Clone)]
pub struct ServiceView {
    /// The service itself.
    pub service: ServiceInfo,
    /// The request operations, in declaration order.
    pub requests: Vec<Request>,
    /// The event operations, in declaration order.
    pub events: Vec<Event>,
    /// The named schemas, sorted by name.
    pub types: Vec<TypeDef>,
    /// The `type` URIs of the problem documents accord servers send.
    pub problem_types: ProblemTypes,
}

/// The service.
#[derive(Debug, Clone)]
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
    /// The credentials the service's requests take, when any requires one.
    pub auth: Option<ServiceAuth>,
}

/// The kinds of credential a service's requests take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAuth {
    /// Whether some request takes a bearer token.
    pub bearer: bool,
    /// The header of the API key, when some request takes one.
    pub api_key_header: Option<String>,
}

/// The credential one request requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestAuth {
    /// `bearer` or `api_key`.
    pub scheme: &'static str,
    /// The header it travels in: `authorization` or the API key header.
    pub header: String,
    /// The scopes it must grant.
    pub scopes: Vec<String>,
}

/// A request operation.
#[derive(Debug, Clone)]
pub struct Request {
    /// The Rust method name (the OpenAPI `operationId`).
    pub name: String,
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
    /// The path parameters, in path order.
    pub path_params: Vec<Param>,
    /// The `#[query]` struct argument.
    pub query: Option<Query>,
    /// The `#[header]` arguments.
    pub headers: Vec<Param>,
    /// The JSON body argument.
    pub body: Option<Body>,
    /// The success value; `None` when the reply has no content.
    pub response: Option<Ty>,
    /// The typed service error.
    pub error: Option<ServiceErrorDef>,
    /// The credential it requires; `None` for a public request.
    pub auth: Option<RequestAuth>,
}

impl Request {
    /// Every argument in call order (path parameters, body, query,
    /// headers) with where it goes.
    pub fn arguments(&self) -> Vec<Argument<'_>> {
        let mut arguments: Vec<Argument<'_>> =
            self.path_params.iter().map(Argument::Path).collect();
        arguments.extend(self.body.iter().map(Argument::Body));
        arguments.extend(self.query.iter().map(Argument::Query));
        arguments.extend(self.headers.iter().map(Argument::Header));
        arguments
    }
}

/// One argument of a request, by where it goes.
#[derive(Debug, Clone, Copy)]
pub enum Argument<'a> {
    /// A path parameter.
    Path(&'a Param),
    /// The JSON body.
    Body(&'a Body),
    /// The query struct.
    Query(&'a Query),
    /// A header.
    Header(&'a Param),
}

impl Argument<'_> {
    /// The Rust argument name.
    pub fn name(&self) -> &str {
        match self {
            Argument::Path(p) | Argument::Header(p) => &p.argument,
            Argument::Body(b) => &b.argument,
            Argument::Query(q) => &q.argument,
        }
    }

    /// `path`, `body`, `query` or `header`.
    pub fn location(&self) -> &'static str {
        match self {
            Argument::Path(_) => "path",
            Argument::Body(_) => "body",
            Argument::Query(_) => "query",
            Argument::Header(_) => "header",
        }
    }

    /// Whether a call must give it.
    pub fn required(&self) -> bool {
        match self {
            Argument::Path(p) | Argument::Header(p) => p.required,
            Argument::Body(_) => true,
            Argument::Query(q) => q.required,
        }
    }

    /// Its type.
    pub fn ty(&self) -> &Ty {
        match self {
            Argument::Path(p) | Argument::Header(p) => &p.ty,
            Argument::Body(b) => &b.ty,
            Argument::Query(q) => &q.ty,
        }
    }
}

/// A literal piece of a path, or a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// Literal text.
    Literal(String),
    /// A parameter, by its name in the path.
    Param(String),
}

/// A path parameter, a header, or a field of a query struct.
#[derive(Debug, Clone)]
pub struct Param {
    /// The name on the wire: the path parameter, the header, the query field.
    pub name: String,
    /// The Rust argument it comes from.
    pub argument: String,
    /// Whether a call must give it.
    pub required: bool,
    /// Its docs (query fields have them).
    pub docs: Option<String>,
    /// Its type.
    pub ty: Ty,
}

/// The `#[query]` argument.
#[derive(Debug, Clone)]
pub struct Query {
    /// The Rust argument name.
    pub argument: String,
    /// The query struct's type.
    pub ty: Ty,
    /// Whether a call must give it: the struct has a required field and
    /// cannot be null.
    pub required: bool,
    /// One entry per field of the struct.
    pub fields: Vec<Param>,
}

/// The JSON body argument.
#[derive(Debug, Clone)]
pub struct Body {
    /// The Rust argument name.
    pub argument: String,
    /// Its type.
    pub ty: Ty,
}

/// The typed error of a request.
#[derive(Debug, Clone)]
pub struct ServiceErrorDef {
    /// The type of the problem document's `error` member.
    pub ty: Ty,
    /// Each variant with its status.
    pub variants: Vec<ErrorVariant>,
}

/// One variant of a service error.
#[derive(Debug, Clone)]
pub struct ErrorVariant {
    /// The Rust variant name.
    pub name: String,
    /// The HTTP status it is sent with.
    pub status: u16,
    /// Its doc comment.
    pub docs: Option<String>,
}

/// An event operation.
#[derive(Debug, Clone)]
pub struct Event {
    /// The Rust method name.
    pub name: String,
    /// The method's doc comment.
    pub docs: Option<String>,
    /// The first paragraph of `docs`, on one line.
    pub summary: Option<String>,
    /// The topic it is published on.
    pub topic: String,
    /// The payload field that orders and partitions deliveries.
    pub key: Option<String>,
    /// The payload.
    pub payload: Ty,
    /// The handler's error, when a handler returns `Result<(), E>`.
    pub error: Option<Ty>,
}

/// A named schema.
#[derive(Debug, Clone)]
pub struct TypeDef {
    /// The schema name (the file `schemas/<name>.json`).
    pub name: String,
    /// The schema's `description`.
    pub docs: Option<String>,
    /// The first paragraph of `docs`, on one line.
    pub summary: Option<String>,
    /// How the type is best declared.
    pub shape: Shape,
    /// The whole type.
    pub ty: Ty,
    /// The JSON Schema file, relative to the service folder.
    pub schema_file: String,
    /// The contents of that file, without its final newline.
    pub schema_json: String,
    /// The published schema that [`schema_json`](Self::schema_json) spells.
    pub schema: serde_json::Value,
    /// The operations that use the type, directly or through other types.
    pub used_by: Vec<UsedBy>,
}

/// How a named type is best declared.
#[derive(Debug, Clone)]
pub enum Shape {
    /// An object with declared properties and nothing else (a struct).
    Object(ObjectTy),
    /// Nothing but alternatives (`oneOf`, `anyOf` or `enum`): an enum.
    Union(Vec<Variant>),
    /// Any other type, declared as an alias of [`TypeDef::ty`].
    Alias,
}

impl Shape {
    /// `interface`, `union` or `alias`.
    pub fn kind(&self) -> &'static str {
        match self {
            Shape::Object(_) => "interface",
            Shape::Union(_) => "union",
            Shape::Alias => "alias",
        }
    }
}

/// An alternative of a union type.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Its type.
    pub ty: Ty,
    /// Its description.
    pub docs: Option<String>,
}

/// An operation that uses a type.
#[derive(Debug, Clone)]
pub struct UsedBy {
    /// The operation's name.
    pub name: String,
    /// Whether it is an event (else a request).
    pub event: bool,
}

/// Problem type URIs.
#[derive(Debug, Clone)]
pub struct ProblemTypes {
    /// A typed service error, carried in the `error` member.
    pub service_error: String,
    /// Input the server could not decode.
    pub invalid_request: String,
}

#[cfg(test)]
pub(crate) mod tests {
    use accord::ServiceDescriptor;

    /// A service using every part of the view.
    pub(crate) fn descriptor() -> ServiceDescriptor {
        serde_json::from_value(serde_json::json!({
            "name": "shop",
            "version": "1.0.0",
            "docs": "A shop.",
            "operations": [
                {
                    "name": "update_item", "docs": "Update.", "kind": "request",
                    "method": "PUT", "path": "/items/{id}", "status": 200, "idempotent": true,
                    "path_params": [{"name": "id", "argument": "id", "required": true, "schema": {"type": "string"}}],
                    "query": {"argument": "options", "schema": {"$ref": "#/$defs/Options"}, "fields": [
                        {"name": "dry_run", "argument": "options", "required": false, "schema": {"type": "boolean"}, "docs": "Only check."}
                    ]},
                    "headers": [{"name": "if-match", "argument": "revision", "required": false, "schema": {"type": ["integer", "null"]}}],
                    "body": {"argument": "item", "schema": {"$ref": "#/$defs/Item"}},
                    "response": {"$ref": "#/$defs/Item"},
                    "error": {"schema": {"$ref": "#/$defs/ShopError"}, "variants": [{"name": "Missing", "status": 404, "docs": "Gone."}]}
                },
                {
                    "name": "item_changed", "kind": "event", "topic": "shop.item_changed", "key": "id",
                    "argument": "event", "payload": {"$ref": "#/$defs/Item"}, "error": {"$ref": "#/$defs/ShopError"}
                }
            ],
            "definitions": {
                "Item": {"type": "object", "description": "An item.", "properties": {"id": {"type": "string"}, "count": {"type": "integer", "format": "uint8"}}, "required": ["id"]},
                "Options": {"type": "object", "properties": {"dry_run": {"type": "boolean"}}},
                "ShopError": {"oneOf": [{"const": "missing", "description": "Gone."}]}
            }
        }))
        .unwrap()
    }
}
