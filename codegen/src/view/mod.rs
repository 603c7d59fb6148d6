//! The language-neutral view of one service version.
//!
//! [`build`] reads a descriptor once into what every published artifact
//! needs: the operations with their bindings (path, query, headers, body),
//! replies and typed errors, the events, and the named types, each type
//! lowered from JSON Schema to a [`Ty`] tree. Nothing here is shaped for
//! one target language: each language module (`crate::lang`) maps these
//! names and types to its own, and the documentation page (`crate::page`)
//! shows them as they are on the wire.

pub mod ty;

use std::collections::{BTreeMap, BTreeSet};

use accord::descriptor::{OperationKind, ParamDescriptor, RequestDescriptor};
use accord::error::{INVALID_REQUEST, SERVICE_ERROR};
use accord::spec::{bound_integer_formats, referenced_definitions, summary};
use accord::ServiceDescriptor;
use serde_json::{Map, Value};

pub use ty::{ObjectTy, Property, Ty};

use ty::Lowering;

/// The OpenAPI document, below the service folder.
pub const OPENAPI_FILE: &str = "openapi.json";

/// The AsyncAPI document, below the service folder.
pub const ASYNCAPI_FILE: &str = "asyncapi.json";

/// The folder of per-type JSON Schemas, below the service folder.
pub const SCHEMAS_FOLDER: &str = "schemas";

/// The documentation page, below the service folder.
pub const PAGE_FILE: &str = "index.html";

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
    /// The contents of that file.
    pub schema_json: String,
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

/// Builds the view of `descriptor`; `schema_files` are the published
/// per-type schemas by name.
pub fn build(
    descriptor: &ServiceDescriptor,
    package: &str,
    rust_path: &str,
    schema_files: &BTreeMap<String, Value>,
) -> ServiceView {
    // Integer formats as bounds, so every language sees them the same way.
    let definitions: BTreeMap<String, Value> = descriptor
        .definitions
        .iter()
        .map(|(name, schema)| (name.clone(), bounded(schema)))
        .collect();
    let lowering = Lowering::new(&definitions);
    let lower = |schema: &Value| lowering.lower(&bounded(schema));

    let requests = descriptor
        .requests()
        .map(|(op, request)| Request {
            name: op.name.clone(),
            docs: op.docs.clone(),
            summary: op.docs.as_deref().map(summary),
            method: request.method.clone(),
            path: request.path.clone(),
            path_segments: path_segments(&request.path),
            status: request.status,
            idempotent: request.idempotent,
            path_params: request
                .path_params
                .iter()
                .map(|p| param(&lower, p))
                .collect(),
            query: request.query.as_ref().map(|q| {
                let ty = lower(&q.schema);
                let fields: Vec<Param> = q.fields.iter().map(|f| param(&lower, f)).collect();
                Query {
                    argument: q.argument.clone(),
                    required: !ty.is_nullable() && fields.iter().any(|f| f.required),
                    ty,
                    fields,
                }
            }),
            headers: request.headers.iter().map(|p| param(&lower, p)).collect(),
            body: request.body.as_ref().map(|b| Body {
                argument: b.argument.clone(),
                ty: lower(&b.schema),
            }),
            response: success_schema(request).map(&lower),
            error: request.error.as_ref().map(|e| ServiceErrorDef {
                ty: lower(&e.schema),
                variants: e
                    .variants
                    .iter()
                    .map(|v| ErrorVariant {
                        name: v.name.clone(),
                        status: v.status,
                        docs: v.docs.clone(),
                    })
                    .collect(),
            }),
        })
        .collect();

    let events = descriptor
        .events()
        .map(|(op, event)| Event {
            name: op.name.clone(),
            docs: op.docs.clone(),
            summary: op.docs.as_deref().map(summary),
            topic: event.topic.clone(),
            key: event.key.clone(),
            payload: lower(&event.payload),
            error: event.error.as_ref().map(&lower),
        })
        .collect();

    let used_by = operations_using(descriptor);
    let types = definitions
        .iter()
        .map(|(name, schema)| {
            let docs = schema
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let published = schema_files.get(name).unwrap_or(schema);
            TypeDef {
                name: name.clone(),
                summary: docs.as_deref().map(summary),
                docs,
                shape: shape(&lowering, schema),
                ty: lowering.lower(schema),
                schema_file: format!("{SCHEMAS_FOLDER}/{name}.json"),
                schema_json: serde_json::to_string_pretty(published).unwrap_or_default(),
                used_by: used_by.get(name).cloned().unwrap_or_default(),
            }
        })
        .collect();

    ServiceView {
        service: ServiceInfo {
            name: descriptor.name.clone(),
            version: descriptor.version.clone(),
            docs: descriptor.docs.clone(),
            summary: descriptor.docs.as_deref().map(summary),
            package: package.to_owned(),
            rust_path: rust_path.to_owned(),
        },
        requests,
        events,
        types,
        problem_types: ProblemTypes {
            service_error: SERVICE_ERROR.into(),
            invalid_request: INVALID_REQUEST.into(),
        },
    }
}

fn bounded(schema: &Value) -> Value {
    let mut schema = schema.clone();
    bound_integer_formats(&mut schema);
    schema
}

/// The schema of the reply body, when the reply has one.
fn success_schema(request: &RequestDescriptor) -> Option<&Value> {
    request.response.as_ref().filter(|_| request.status != 204)
}

fn param(lower: &impl Fn(&Value) -> Ty, param: &ParamDescriptor) -> Param {
    Param {
        name: param.name.clone(),
        argument: param.argument.clone(),
        required: param.required,
        docs: param.docs.clone(),
        ty: lower(&param.schema),
    }
}

fn path_segments(path: &str) -> Vec<PathSegment> {
    let mut segments = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        if open > 0 {
            segments.push(PathSegment::Literal(rest[..open].to_owned()));
        }
        segments.push(PathSegment::Param(rest[open + 1..open + close].to_owned()));
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        segments.push(PathSegment::Literal(rest.to_owned()));
    }
    segments
}

/// How the definition `schema` is best declared.
fn shape(lowering: &Lowering<'_>, schema: &Value) -> Shape {
    let empty = Map::new();
    let map = schema.as_object().unwrap_or(&empty);
    let has = |key: &str| map.contains_key(key);
    let is_object = match map.get("type") {
        Some(Value::String(t)) => t == "object",
        None => has("properties"),
        _ => false,
    };
    let open_map = ["additionalProperties", "unevaluatedProperties"]
        .iter()
        .any(|k| map.get(*k).is_some_and(Value::is_object));
    let combined = ["oneOf", "anyOf", "allOf", "$ref", "enum", "const"]
        .iter()
        .any(|k| has(k));
    if is_object && has("properties") && !combined && !open_map {
        return Shape::Object(lowering.object_type(map));
    }
    match union_alternatives(map) {
        Some(alternatives) => Shape::Union(
            alternatives
                .iter()
                .map(|alternative| Variant {
                    ty: lowering.lower(alternative),
                    docs: alternative
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                })
                .collect(),
        ),
        None => Shape::Alias,
    }
}

/// The alternatives of a schema that is nothing but a union: `oneOf` or
/// `anyOf` (with no other shape), or an `enum` of values.
fn union_alternatives(map: &Map<String, Value>) -> Option<Vec<Value>> {
    let shape_keys = ["properties", "allOf", "$ref", "items", "prefixItems"];
    if shape_keys.iter().any(|k| map.contains_key(*k)) {
        return None;
    }
    let one_of = map.get("oneOf").and_then(Value::as_array);
    let any_of = map.get("anyOf").and_then(Value::as_array);
    match (one_of, any_of) {
        (Some(alternatives), None) | (None, Some(alternatives)) => Some(alternatives.clone()),
        (None, None) => map.get("enum").and_then(Value::as_array).map(|values| {
            values
                .iter()
                .map(|v| serde_json::json!({ "const": v }))
                .collect()
        }),
        _ => None,
    }
}

/// For each definition, the operations that use it.
fn operations_using(descriptor: &ServiceDescriptor) -> BTreeMap<String, Vec<UsedBy>> {
    let mut found: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for (index, op) in descriptor.operations.iter().enumerate() {
        let schemas: Vec<&Value> = match &op.kind {
            OperationKind::Request(r) => r
                .path_params
                .iter()
                .chain(&r.headers)
                .map(|p| &p.schema)
                .chain(r.query.as_ref().map(|q| &q.schema))
                .chain(r.body.as_ref().map(|b| &b.schema))
                .chain(r.response.as_ref())
                .chain(r.error.as_ref().map(|e| &e.schema))
                .collect(),
            OperationKind::Event(e) => std::iter::once(&e.payload)
                .chain(e.error.as_ref())
                .collect(),
        };
        for schema in schemas {
            for name in referenced_definitions(schema, &descriptor.definitions) {
                found.entry(name).or_default().insert(index);
            }
        }
    }
    found
        .into_iter()
        .map(|(name, ops)| {
            let names = ops
                .into_iter()
                .map(|i| {
                    let op = &descriptor.operations[i];
                    UsedBy {
                        name: op.name.clone(),
                        event: matches!(op.kind, OperationKind::Event(_)),
                    }
                })
                .collect();
            (name, names)
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

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

    #[test]
    fn paths_split_at_parameters() {
        assert_eq!(
            path_segments("/orders/{id}/lines/{line}"),
            [
                PathSegment::Literal("/orders/".into()),
                PathSegment::Param("id".into()),
                PathSegment::Literal("/lines/".into()),
                PathSegment::Param("line".into()),
            ]
        );
    }

    #[test]
    fn the_view_reads_operations_types_and_bounds() {
        let view = build(
            &descriptor(),
            "shop-contract",
            "shop::Shop",
            &BTreeMap::new(),
        );
        let request = &view.requests[0];
        let arguments = request.arguments();
        let order: Vec<(&str, &str, bool)> = arguments
            .iter()
            .map(|a| (a.name(), a.location(), a.required()))
            .collect();
        assert_eq!(
            order,
            [
                ("id", "path", true),
                ("item", "body", true),
                ("options", "query", false),
                ("revision", "header", false),
            ]
        );
        assert_eq!(view.types[0].shape.kind(), "interface");
        assert_eq!(view.types[2].shape.kind(), "union");
        assert_eq!(view.types[0].used_by.len(), 2);
        let Shape::Object(item) = &view.types[0].shape else {
            unreachable!()
        };
        assert_eq!(
            item.properties[0].ty,
            Ty::Integer {
                minimum: Some(0.into()),
                maximum: Some(255.into())
            },
            "integer formats become bounds"
        );
    }
}
