//! OpenAPI 3.1 from a descriptor.

use serde_json::{json, Map, Value};

use crate::descriptor::{
    OperationDescriptor, ParamDescriptor, RequestDescriptor, ServiceDescriptor,
};

use super::{rewrite_refs, summary};

const SCHEMAS: &str = "#/components/schemas/";

/// The OpenAPI 3.1 document of the request operations of `descriptor`.
pub fn openapi(descriptor: &ServiceDescriptor) -> Value {
    let problem_name = if descriptor.definitions.contains_key("ProblemDetails") {
        "AccordProblemDetails"
    } else {
        "ProblemDetails"
    };
    let problem_ref = json!({ "$ref": format!("{SCHEMAS}{problem_name}") });

    let mut paths = Map::new();
    for (op, request) in descriptor.requests() {
        let item = paths
            .entry(request.path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        item[request.method.to_ascii_lowercase()] = operation(op, request, &problem_ref);
    }

    let mut schemas: Map<String, Value> = descriptor
        .definitions
        .iter()
        .map(|(name, schema)| (name.clone(), schema.clone()))
        .collect();
    schemas.insert(problem_name.to_owned(), problem_schema());

    let mut info = Map::new();
    info.insert("title".into(), json!(descriptor.name));
    info.insert("version".into(), json!(descriptor.version));
    if let Some(docs) = &descriptor.docs {
        info.insert("description".into(), json!(docs));
    }

    let mut document = json!({
        "openapi": "3.1.0",
        "info": info,
        "paths": paths,
        "components": { "schemas": schemas },
    });
    rewrite_refs(&mut document, SCHEMAS);
    document
}

fn operation(op: &OperationDescriptor, request: &RequestDescriptor, problem: &Value) -> Value {
    let mut operation = Map::new();
    operation.insert("operationId".into(), json!(op.name));
    if let Some(docs) = &op.docs {
        operation.insert("summary".into(), json!(summary(docs)));
        operation.insert("description".into(), json!(docs));
    }

    let mut parameters = Vec::new();
    for param in &request.path_params {
        parameters.push(parameter(param, "path"));
    }
    if let Some(query) = &request.query {
        if query.fields.is_empty() {
            parameters.push(json!({
                "name": query.argument,
                "in": "query",
                "style": "form",
                "explode": true,
                "schema": query.schema,
            }));
        } else {
            parameters.extend(query.fields.iter().map(|f| parameter(f, "query")));
        }
    }
    for param in &request.headers {
        parameters.push(parameter(param, "header"));
    }
    let has_input = !parameters.is_empty() || request.body.is_some();
    if !parameters.is_empty() {
        operation.insert("parameters".into(), Value::Array(parameters));
    }

    if let Some(body) = &request.body {
        operation.insert(
            "requestBody".into(),
            json!({
                "required": true,
                "content": { "application/json": { "schema": body.schema } },
            }),
        );
    }

    let mut responses = Map::new();
    let success = match &request.response {
        Some(schema) if request.status != 204 => json!({
            "description": "Success.",
            "content": { "application/json": { "schema": schema } },
        }),
        _ => json!({ "description": "Success, with no content." }),
    };
    responses.insert(request.status.to_string(), success);

    if let Some(error) = &request.error {
        let mut by_status: Vec<(u16, Vec<&str>)> = Vec::new();
        for variant in &error.variants {
            match by_status.iter_mut().find(|(s, _)| *s == variant.status) {
                Some((_, names)) => names.push(&variant.name),
                None => by_status.push((variant.status, vec![&variant.name])),
            }
        }
        by_status.sort();
        for (status, names) in by_status {
            responses.insert(
                status.to_string(),
                json!({
                    "description": format!("Service error: {}.", names.join(", ")),
                    "content": { "application/problem+json": { "schema": {
                        "allOf": [
                            problem,
                            { "type": "object", "required": ["error"], "properties": { "error": error.schema } },
                        ],
                    } } },
                }),
            );
        }
    }
    let problem_response = |description: &str| {
        json!({
            "description": description,
            "content": { "application/problem+json": { "schema": problem } },
        })
    };
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| problem_response(description));
    };
    if has_input {
        add(
            "400",
            "The request could not be decoded; `errors` names each rejected field.",
        );
    }
    if request.body.is_some() {
        add("413", "The request body is larger than the server accepts.");
        add("415", "The request body is not JSON.");
        add(
            "422",
            "The request body does not match the contract; `errors` names each field.",
        );
    }
    add("default", "The request failed; see the problem document.");
    operation.insert("responses".into(), Value::Object(responses));
    Value::Object(operation)
}

fn parameter(param: &ParamDescriptor, location: &str) -> Value {
    let mut value = json!({
        "name": param.name,
        "in": location,
        "required": param.required,
        "schema": param.schema,
    });
    if let Some(docs) = &param.docs {
        value["description"] = json!(docs);
    }
    value
}

fn problem_schema() -> Value {
    json!({
        "description": "An RFC 9457 problem document.",
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": { "type": "string", "description": "A URI identifying the problem type." },
            "title": { "type": "string" },
            "status": { "type": "integer", "minimum": 100, "maximum": 599 },
            "detail": { "type": "string" },
            "instance": { "type": "string" },
            "errors": {
                "type": "array",
                "description": "Each rejected part of the request.",
                "items": {
                    "type": "object",
                    "required": ["location", "field", "reason"],
                    "properties": {
                        "location": { "enum": ["path", "query", "header", "body"] },
                        "field": { "type": "string" },
                        "reason": { "type": "string" },
                    },
                },
            },
            "error": { "description": "The service's typed error, for service errors." },
        },
    })
}
