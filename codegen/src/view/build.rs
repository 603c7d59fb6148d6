//! Building the language-neutral view from a descriptor: the types are
//! lowered once, with integer formats turned into bounds, so that every
//! target reads the same types.

use std::collections::{BTreeMap, BTreeSet};

use accord::descriptor::{
    AuthRequirement, AuthScheme, OperationKind, ParamDescriptor, RequestDescriptor,
};
use accord::error::{INVALID_REQUEST, SERVICE_ERROR};
use accord::spec::{bound_integer_formats, collect_refs, referenced_definitions, summary};
use accord::ServiceDescriptor;
use serde_json::{Map, Value};

use super::ty::Lowering;
use super::*;

/// Builds the view of `descriptor`, with each type's published schema
/// file ([`TypeDef::schema_json`]).
pub fn build(descriptor: &ServiceDescriptor, package: &str, rust_path: &str) -> ServiceView {
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
            auth: request.auth.as_ref().map(request_auth),
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
    let mut types: Vec<TypeDef> = definitions
        .iter()
        .map(|(name, schema)| {
            let docs = schema
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned);
            TypeDef {
                name: name.clone(),
                summary: docs.as_deref().map(summary),
                docs,
                shape: shape(&lowering, schema),
                ty: lowering.lower(schema),
                schema_file: format!("{SCHEMAS_FOLDER}/{name}.json"),
                schema_json: String::new(),
                schema: Value::Null,
                used_by: used_by.get(name).cloned().unwrap_or_default(),
            }
        })
        .collect();
    // The lowered definitions, already bounded, become the schema files.
    for (def, (name, schema)) in types.iter_mut().zip(definitions) {
        let published = published_schema(&name, schema);
        def.schema_json = crate::pretty::to_string(&published);
        def.schema = published;
    }

    ServiceView {
        service: ServiceInfo {
            name: descriptor.name.clone(),
            version: descriptor.version.clone(),
            docs: descriptor.docs.clone(),
            summary: descriptor.docs.as_deref().map(summary),
            package: package.to_owned(),
            rust_path: rust_path.to_owned(),
            auth: service_auth(descriptor),
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

fn service_auth(descriptor: &ServiceDescriptor) -> Option<ServiceAuth> {
    let schemes = descriptor.auth_schemes();
    if schemes.is_empty() {
        return None;
    }
    Some(ServiceAuth {
        bearer: schemes.iter().any(|s| matches!(s, AuthScheme::Bearer)),
        api_key_header: schemes.iter().find_map(|s| match s {
            AuthScheme::ApiKey { header } => Some(header.clone()),
            AuthScheme::Bearer => None,
        }),
    })
}

fn request_auth(auth: &AuthRequirement) -> RequestAuth {
    RequestAuth {
        scheme: auth.scheme.name(),
        header: auth.scheme.header().to_owned(),
        scopes: auth.scopes.clone(),
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
    let mut reaches: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
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
            let mut direct = Vec::new();
            collect_refs(schema, &mut direct);
            for name in direct {
                let Some(definition) = descriptor.definitions.get(&name) else {
                    continue;
                };
                // What a reference to `name` reaches, worked out once per
                // definition rather than once per operation using it.
                let reached = reaches.entry(name).or_insert_with_key(|name| {
                    let mut reached = referenced_definitions(definition, &descriptor.definitions);
                    reached.insert(name.clone());
                    reached
                });
                for used in reached.iter() {
                    found.entry(used.clone()).or_default().insert(index);
                }
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
mod tests {
    use super::*;
    use crate::view::tests::descriptor;

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
        let view = build(&descriptor(), "shop-contract", "shop::Shop");
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
