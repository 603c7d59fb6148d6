//! The view model: what every template receives.
//!
//! One [`ServiceView`] per service and version, built from the descriptor
//! and serialized to JSON for handlebars. Everything a template needs is
//! here, already decided: TypeScript names and type expressions, argument
//! order, which arguments may be left out, the file names of the other
//! published documents. `codegen/TEMPLATES.md` documents every field; a
//! field that is absent is `null`, never missing, so templates can test it
//! in strict mode.

use std::collections::{BTreeMap, BTreeSet};

use accord::descriptor::{OperationKind, ParamDescriptor, RequestDescriptor};
use accord::error::{INVALID_REQUEST, SERVICE_ERROR};
use accord::ServiceDescriptor;
use serde::Serialize;
use serde_json::Value;

use crate::names::reachable;
use crate::ts::{identifier, type_name, TypeRenderer};

/// Everything a template is rendered with, for one service and version.
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

/// Builds the view of `descriptor`; `schema_files` are the published
/// per-type schemas by name.
pub fn build(
    descriptor: &ServiceDescriptor,
    package: &str,
    rust_path: &str,
    schema_files: &BTreeMap<String, Value>,
) -> ServiceView {
    let renderer = TypeRenderer::new(descriptor.definitions.keys());
    let type_ref = |schema: &Value| TypeRef {
        ts_type: renderer.type_expr(schema),
        refs: renderer.referenced_names(schema),
    };

    let requests: Vec<RequestView> = descriptor
        .requests()
        .map(|(op, request)| RequestView {
            name: op.name.clone(),
            function: identifier(&op.name, true),
            docs: op.docs.clone(),
            summary: op.docs.as_deref().map(summary),
            method: request.method.clone(),
            path: request.path.clone(),
            path_segments: path_segments(&request.path),
            status: request.status,
            idempotent: request.idempotent,
            arguments: Vec::new(),
            path_params: request
                .path_params
                .iter()
                .map(|p| argument(&renderer, p, "path"))
                .collect(),
            query: request.query.as_ref().map(|q| {
                let fields: Vec<ArgumentView> = q
                    .fields
                    .iter()
                    .map(|f| argument(&renderer, f, "query"))
                    .collect();
                let schema_nullable = renderer.type_expr(&q.schema).ends_with("| null");
                QueryView {
                    argument: ArgumentView {
                        name: q.argument.clone(),
                        ident: identifier(&q.argument, false),
                        wire_name: q.argument.clone(),
                        location: "query".into(),
                        ts_type: renderer.type_expr(&q.schema),
                        required: !schema_nullable && fields.iter().any(|f| f.required),
                        optional: false,
                        docs: None,
                        refs: renderer.referenced_names(&q.schema),
                    },
                    fields,
                }
            }),
            headers: request
                .headers
                .iter()
                .map(|p| argument(&renderer, p, "header"))
                .collect(),
            body: request.body.as_ref().map(|b| ArgumentView {
                name: b.argument.clone(),
                ident: identifier(&b.argument, false),
                wire_name: b.argument.clone(),
                location: "body".into(),
                ts_type: renderer.type_expr(&b.schema),
                required: true,
                optional: false,
                docs: None,
                refs: renderer.referenced_names(&b.schema),
            }),
            response: success_schema(request).map(&type_ref),
            returns: success_schema(request)
                .map(|s| renderer.type_expr(s))
                .unwrap_or_else(|| "void".into()),
            error: request.error.as_ref().map(|e| ErrorView {
                ts_type: renderer.type_expr(&e.schema),
                refs: renderer.referenced_names(&e.schema),
                variants: e
                    .variants
                    .iter()
                    .map(|v| ErrorVariantView {
                        name: v.name.clone(),
                        status: v.status,
                        docs: v.docs.clone(),
                    })
                    .collect(),
            }),
        })
        .map(with_arguments)
        .collect();

    let events: Vec<EventView> = descriptor
        .events()
        .map(|(op, event)| EventView {
            name: op.name.clone(),
            ident: identifier(&op.name, true),
            docs: op.docs.clone(),
            summary: op.docs.as_deref().map(summary),
            topic: event.topic.clone(),
            key: event.key.clone(),
            payload: type_ref(&event.payload),
            error: event.error.as_ref().map(&type_ref),
        })
        .collect();

    let used_by = operations_using(descriptor);
    let types: Vec<TypeView> = descriptor
        .definitions
        .iter()
        .map(|(name, schema)| {
            type_view(
                &renderer,
                name,
                schema,
                schema_files.get(name).unwrap_or(schema),
                used_by.get(name).cloned().unwrap_or_default(),
            )
        })
        .collect();

    let names = client_names(descriptor, &types, &requests);
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
        names,
        files: Files {
            openapi: "openapi.json".into(),
            asyncapi: "asyncapi.json".into(),
            client: "client.ts".into(),
            index: "index.html".into(),
            schemas: "schemas".into(),
        },
        problem_types: ProblemTypes {
            service_error: SERVICE_ERROR.into(),
            invalid_request: INVALID_REQUEST.into(),
        },
    }
}

/// The schema of the reply body, when the reply has one.
fn success_schema(request: &RequestDescriptor) -> Option<&Value> {
    request.response.as_ref().filter(|_| request.status != 204)
}

fn argument(renderer: &TypeRenderer, param: &ParamDescriptor, location: &str) -> ArgumentView {
    ArgumentView {
        name: if location == "query" {
            param.name.clone()
        } else {
            param.argument.clone()
        },
        ident: identifier(
            if location == "query" {
                &param.name
            } else {
                &param.argument
            },
            false,
        ),
        wire_name: param.name.clone(),
        location: location.into(),
        ts_type: renderer.type_expr(&param.schema),
        required: param.required,
        optional: false,
        docs: param.docs.clone(),
        refs: renderer.referenced_names(&param.schema),
    }
}

/// Orders the arguments (path parameters, body, query, headers), makes
/// the trailing ones that may be left out optional, and names the path
/// segments' arguments.
fn with_arguments(mut request: RequestView) -> RequestView {
    // The request functions' own parameters keep their names.
    let rename = |argument: &mut ArgumentView| {
        if matches!(argument.ident.as_str(), "connection" | "options") {
            argument.ident.push('_');
        }
    };
    request.path_params.iter_mut().for_each(rename);
    request.headers.iter_mut().for_each(rename);
    request.body.iter_mut().for_each(rename);
    if let Some(query) = &mut request.query {
        rename(&mut query.argument);
    }
    let mut arguments: Vec<ArgumentView> = request.path_params.clone();
    arguments.extend(request.body.clone());
    arguments.extend(request.query.as_ref().map(|q| q.argument.clone()));
    arguments.extend(request.headers.iter().cloned());
    let mut optional_tail = true;
    for argument in arguments.iter_mut().rev() {
        optional_tail &= !argument.required;
        argument.optional = optional_tail;
    }
    for segment in &mut request.path_segments {
        if let Some(param) = &segment.param {
            segment.argument = arguments
                .iter()
                .find(|a| a.location == "path" && &a.wire_name == param)
                .map(|a| a.ident.clone());
        }
    }
    // Keep the per-kind lists in step with the call order's flags.
    let flag = |list: &mut Vec<ArgumentView>| {
        for item in list.iter_mut() {
            if let Some(a) = arguments
                .iter()
                .find(|a| a.location == item.location && a.ident == item.ident)
            {
                item.optional = a.optional;
            }
        }
    };
    flag(&mut request.path_params);
    flag(&mut request.headers);
    if let Some(query) = &mut request.query {
        query.argument.optional = arguments
            .iter()
            .find(|a| a.location == "query")
            .is_some_and(|a| a.optional);
    }
    request.arguments = arguments;
    request
}

fn path_segments(path: &str) -> Vec<PathSegment> {
    let mut segments = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        if open > 0 {
            segments.push(PathSegment {
                literal: Some(rest[..open].to_owned()),
                param: None,
                argument: None,
            });
        }
        segments.push(PathSegment {
            literal: None,
            param: Some(rest[open + 1..open + close].to_owned()),
            argument: None,
        });
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        segments.push(PathSegment {
            literal: Some(rest.to_owned()),
            param: None,
            argument: None,
        });
    }
    segments
}

fn type_view(
    renderer: &TypeRenderer,
    name: &str,
    schema: &Value,
    published: &Value,
    used_by: Vec<UsedBy>,
) -> TypeView {
    let docs = schema
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let empty = serde_json::Map::new();
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

    let mut properties = Vec::new();
    let mut variants = Vec::new();
    let kind = if is_object && has("properties") && !combined && !open_map {
        properties = renderer
            .properties(map)
            .into_iter()
            .map(|p| {
                let refs = map
                    .get("properties")
                    .and_then(|props| props.get(&p.name))
                    .map(|s| renderer.referenced_names(s))
                    .unwrap_or_default();
                PropertyView {
                    name: p.name,
                    key: p.key,
                    ts_type: p.ts_type,
                    required: p.required,
                    docs: p.docs,
                    refs,
                }
            })
            .collect();
        "interface"
    } else if let Some(alternatives) = union_alternatives(map) {
        variants = alternatives
            .iter()
            .map(|alternative| VariantView {
                ts_type: renderer.type_expr(alternative),
                docs: alternative
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                refs: renderer.referenced_names(alternative),
            })
            .collect();
        "union"
    } else {
        "alias"
    };
    TypeView {
        name: name.to_owned(),
        ts_name: type_name(name),
        summary: docs.as_deref().map(summary),
        docs,
        kind: kind.into(),
        ts_type: renderer.type_expr(schema),
        properties,
        variants,
        schema_file: format!("schemas/{name}.json"),
        schema_json: serde_json::to_string_pretty(published).unwrap_or_default(),
        refs: renderer.referenced_names(schema),
        used_by,
    }
}

/// The alternatives of a schema that is nothing but a union: `oneOf` or
/// `anyOf` (with no other shape), or an `enum` of values.
fn union_alternatives(map: &serde_json::Map<String, Value>) -> Option<Vec<Value>> {
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
            for name in reachable(schema, &descriptor.definitions) {
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
                    let prefix = match op.kind {
                        OperationKind::Request(_) => "op",
                        OperationKind::Event(_) => "event",
                    };
                    UsedBy {
                        name: op.name.clone(),
                        anchor: format!("{prefix}-{}", op.name),
                    }
                })
                .collect();
            (name, names)
        })
        .collect()
}

fn client_names(
    descriptor: &ServiceDescriptor,
    types: &[TypeView],
    requests: &[RequestView],
) -> ClientNames {
    let taken: BTreeSet<String> = types
        .iter()
        .map(|t| t.ts_name.clone())
        .chain(requests.iter().map(|r| r.function.clone()))
        .collect();
    let pick = |default: &str| {
        let capitalized = default
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase());
        let mut name = default.to_owned();
        while taken.contains(&name) {
            name = if capitalized {
                format!("Accord{name}")
            } else {
                format!("accord{}{}", name[..1].to_ascii_uppercase(), &name[1..])
            };
        }
        name
    };
    let service = identifier(&descriptor.name, true);
    let pascal = format!("{}{}", service[..1].to_ascii_uppercase(), &service[1..]);
    ClientNames {
        client: pick(&format!("{}Client", pascal.trim_start_matches('_'))),
        connection: pick("Connection"),
        call_options: pick("CallOptions"),
        call_result: pick("CallResult"),
        service_error: pick("ServiceError"),
        problem_error: pick("ProblemError"),
        protocol_error: pick("ProtocolError"),
        problem: pick("Problem"),
        field_error: pick("FieldError"),
        unwrap: pick("unwrap"),
        encode_path_segment: pick("encodePathSegment"),
        encode_query: pick("encodeQuery"),
        topics: pick("topics"),
        events: pick(&format!("{}Events", pascal.trim_start_matches('_'))),
    }
}

pub use accord::spec::summary;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_at_parameters() {
        let segments = path_segments("/orders/{id}/lines/{line}");
        let shown: Vec<String> = segments
            .iter()
            .map(|s| match (&s.literal, &s.param) {
                (Some(l), _) => format!("L{l}"),
                (_, Some(p)) => format!("P{p}"),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(shown, ["L/orders/", "Pid", "L/lines/", "Pline"]);
    }

    /// A service using every part of the view model.
    fn descriptor() -> ServiceDescriptor {
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
                "Item": {"type": "object", "description": "An item.", "properties": {"id": {"type": "string"}}, "required": ["id"]},
                "Options": {"type": "object", "properties": {"dry_run": {"type": "boolean"}}},
                "ShopError": {"oneOf": [{"const": "missing", "description": "Gone."}]}
            }
        }))
        .unwrap()
    }

    fn keys(value: &Value, found: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    found.insert(key.clone());
                    keys(value, found);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| keys(v, found)),
            _ => {}
        }
    }

    #[test]
    fn templates_md_documents_every_field_of_the_view_model() {
        let view = build(
            &descriptor(),
            "shop-contract",
            "shop::Shop",
            &BTreeMap::new(),
        );
        let mut found = BTreeSet::new();
        keys(&serde_json::to_value(&view).unwrap(), &mut found);
        let docs = include_str!("../TEMPLATES.md");
        let missing: Vec<&String> = found
            .iter()
            .filter(|key| !docs.contains(&format!("`{key}`")))
            .collect();
        assert!(
            missing.is_empty(),
            "TEMPLATES.md does not document {missing:?}"
        );
        assert!(found.len() > 60, "the view has only {} fields", found.len());
    }

    #[test]
    fn arguments_come_in_call_order_with_optional_ones_last() {
        let view = build(
            &descriptor(),
            "shop-contract",
            "shop::Shop",
            &BTreeMap::new(),
        );
        let request = &view.requests[0];
        let order: Vec<(&str, &str, bool)> = request
            .arguments
            .iter()
            .map(|a| (a.ident.as_str(), a.location.as_str(), a.optional))
            .collect();
        assert_eq!(
            order,
            [
                ("id", "path", false),
                ("item", "body", false),
                ("options_", "query", true),
                ("revision", "header", true),
            ]
        );
        assert_eq!(request.path_segments[1].argument.as_deref(), Some("id"));
        assert_eq!(view.types[0].kind, "interface");
        assert_eq!(view.types[2].kind, "union");
        assert_eq!(view.types[0].used_by.len(), 2);
        assert_eq!(view.names.client, "ShopClient");
    }

    #[test]
    fn client_names_give_way_to_the_contract() {
        let mut descriptor = descriptor();
        descriptor.operations[0].name = "unwrap".into();
        descriptor
            .definitions
            .insert("Problem".into(), serde_json::json!({"type": "string"}));
        let view = build(&descriptor, "shop-contract", "shop::Shop", &BTreeMap::new());
        assert_eq!(view.names.problem, "AccordProblem");
        assert_eq!(view.names.unwrap, "accordUnwrap");
        assert_eq!(view.names.service_error, "ServiceError");
    }

    #[test]
    fn summaries_are_the_first_paragraph() {
        assert_eq!(
            summary("Cancel an order.\nAgain.\n\nMore."),
            "Cancel an order. Again."
        );
    }
}
