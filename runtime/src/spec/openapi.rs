//! OpenAPI 3.1 from a descriptor.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::descriptor::{
    OperationDescriptor, ParamDescriptor, RequestDescriptor, ServiceDescriptor,
};

use super::{finish_document, object, referenced_definitions, security, summary, Document};

const SCHEMAS: &str = "#/components/schemas/";

/// The OpenAPI 3.1 document of the request operations of `descriptor`.
///
/// `components/schemas` holds the named schemas the operations use (event
/// payloads, say, belong to other documents) and the problem document.
pub fn openapi(descriptor: &ServiceDescriptor) -> Value {
    openapi_document(descriptor).into_value()
}

/// [`openapi`], to be written: the named schemas are borrowed from
/// `descriptor`, not copied into the document.
pub fn openapi_document(descriptor: &ServiceDescriptor) -> Document<'_> {
    let problem_name = super::problem_schema_name(descriptor);
    let problem_ref = json!({ "$ref": format!("{SCHEMAS}{problem_name}") });

    let mut paths = Map::new();
    for (op, request) in descriptor.requests() {
        let item = paths
            .entry(request.path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        item[request.method.to_ascii_lowercase()] =
            operation(descriptor, op, request, &problem_ref);
    }
    let paths = Value::Object(paths);

    let mut schemas: BTreeMap<&str, Cow<'_, Value>> =
        referenced_definitions(&paths, &descriptor.definitions)
            .iter()
            .filter_map(|name| descriptor.definitions.get_key_value(name))
            .map(|(name, schema)| (name.as_str(), Cow::Borrowed(schema)))
            .collect();
    schemas.insert(problem_name, Cow::Owned(problem_schema()));

    let info = super::info(descriptor);

    // `schemas` is written into `components` by the document.
    let mut components = Value::Object(Map::new());
    if let Some(schemes) = security::openapi_schemes(descriptor) {
        components["securitySchemes"] = schemes;
    }
    let mut document = object([
        ("openapi", json!("3.1.0")),
        ("info", info),
        // The API is served where the document is: OpenAPI's default, said
        // explicitly for tools that want a server listed.
        ("servers", json!([{ "url": "/" }])),
        ("paths", paths),
        ("components", components),
    ]);
    if let Some(security) = security::openapi_default(descriptor) {
        document["security"] = security;
    }
    finish_document(&mut document, SCHEMAS);
    Document::new(document, SCHEMAS, schemas)
}

fn operation(
    descriptor: &ServiceDescriptor,
    op: &OperationDescriptor,
    request: &RequestDescriptor,
    problem: &Value,
) -> Value {
    let mut operation = Map::new();
    operation.insert("operationId".into(), json!(op.name));
    if let Some(docs) = &op.docs {
        operation.insert("summary".into(), json!(summary(docs)));
        operation.insert("description".into(), json!(docs));
    }
    if let Some(security) = security::openapi_operation(descriptor, request, true) {
        operation.insert("security".into(), security);
    }

    let mut parameters = Vec::new();
    for param in &request.path_params {
        parameters.push(parameter(param, "path"));
    }
    if let Some(query) = &request.query {
        if query.fields.is_empty() {
            parameters.push(object([
                ("name", json!(query.argument)),
                ("in", json!("query")),
                ("style", json!("form")),
                ("explode", json!(true)),
                ("schema", query.schema.clone()),
            ]));
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
            object([
                ("required", json!(true)),
                ("content", json_content(body.schema.clone())),
            ]),
        );
    }

    // What the server itself answers when it cannot decode the input.
    let mut input_errors: Vec<(u16, &str)> = Vec::new();
    if has_input {
        input_errors.push((
            400,
            "The request could not be decoded; `errors` names each rejected field.",
        ));
    }
    if request.body.is_some() {
        input_errors.extend([
            (413, "The request body is larger than the server accepts."),
            (415, "The request body is not JSON."),
            (
                422,
                "The request body does not match the contract; `errors` names each field.",
            ),
        ]);
    }

    let mut responses = Map::new();
    let success = match &request.response {
        Some(schema) if request.status != 204 => object([
            ("description", json!("Success.")),
            ("content", json_content(schema.clone())),
        ]),
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
            let mut description = format!("Service error: {}.", names.join(", "));
            let mut typed = object([
                ("type", json!("object")),
                ("properties", object([("error", error.schema.clone())])),
            ]);
            // A status the server also answers for undecodable input carries
            // either kind of problem, so the typed error is optional there.
            match input_errors.iter().find(|(s, _)| *s == status) {
                Some((_, input)) => {
                    description.push(' ');
                    description.push_str(input);
                }
                None => typed["required"] = json!(["error"]),
            }
            responses.insert(
                status.to_string(),
                object([
                    ("description", Value::String(description)),
                    (
                        "content",
                        problem_content(object([(
                            "allOf",
                            Value::Array(vec![problem.clone(), typed]),
                        )])),
                    ),
                ]),
            );
        }
    }
    let problem_response = |description: &str| {
        object([
            ("description", json!(description)),
            ("content", problem_content(problem.clone())),
        ])
    };
    for (status, description) in input_errors {
        responses
            .entry(status.to_string())
            .or_insert_with(|| problem_response(description));
    }
    for (status, response) in security::openapi_responses(request, problem) {
        responses.entry(status.to_string()).or_insert(response);
    }
    responses.insert(
        "default".to_owned(),
        problem_response("The request failed; see the problem document."),
    );
    operation.insert("responses".into(), Value::Object(responses));
    Value::Object(operation)
}

/// `{"application/json": {"schema": schema}}`.
fn json_content(schema: Value) -> Value {
    object([("application/json", object([("schema", schema)]))])
}

/// `{"application/problem+json": {"schema": schema}}`.
fn problem_content(schema: Value) -> Value {
    object([("application/problem+json", object([("schema", schema)]))])
}

fn parameter(param: &ParamDescriptor, location: &str) -> Value {
    let mut value = object([
        ("name", json!(param.name)),
        ("in", json!(location)),
        ("required", json!(param.required)),
        ("schema", param.schema.clone()),
    ]);
    if let Some(docs) = &param.docs {
        value["description"] = json!(docs);
    }
    value
}

pub(crate) fn problem_schema() -> Value {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};
    use serde_json::{json, Value};

    use super::openapi;
    use crate::descriptor::{DescriptorBuilder, RequestSpec};
    use crate::error::{ErrorVariantInfo, ServiceError};
    use crate::ServiceDescriptor;

    #[derive(Serialize, Deserialize, JsonSchema)]
    struct Line {
        sku: String,
        quantity: u32,
    }

    #[derive(Serialize, Deserialize, JsonSchema)]
    struct NewOrder {
        lines: Vec<Line>,
    }

    #[derive(Serialize, Deserialize, JsonSchema)]
    struct Order {
        id: u64,
        lines: Vec<Line>,
    }

    #[derive(Serialize, Deserialize, JsonSchema)]
    struct Filter {
        limit: Option<u32>,
    }

    #[derive(Serialize, Deserialize, JsonSchema)]
    struct Placed {
        id: u64,
    }

    #[derive(Serialize, Deserialize, JsonSchema)]
    #[serde(tag = "code")]
    enum OrderError {
        NotFound { id: u64 },
        Rejected { reason: String },
    }

    impl ServiceError for OrderError {
        fn status(&self) -> u16 {
            match self {
                OrderError::NotFound { .. } => 404,
                OrderError::Rejected { .. } => 422,
            }
        }
        fn variant(&self) -> &'static str {
            match self {
                OrderError::NotFound { .. } => "NotFound",
                OrderError::Rejected { .. } => "Rejected",
            }
        }
        fn variants() -> &'static [ErrorVariantInfo] {
            &[
                ErrorVariantInfo {
                    name: "NotFound",
                    status: 404,
                    docs: "",
                },
                ErrorVariantInfo {
                    name: "Rejected",
                    status: 422,
                    docs: "",
                },
            ]
        }
    }

    fn spec(name: &'static str, method: &'static str, path: &'static str) -> RequestSpec {
        RequestSpec {
            name,
            docs: "",
            method,
            path,
            status: 200,
            idempotent: method != "POST",
        }
    }

    /// A contract with one request of each method, a query struct, a header
    /// and an event, as `#[accord::service]` would describe it.
    fn descriptor() -> ServiceDescriptor {
        let mut builder = DescriptorBuilder::new("orders", "1.0.0", "Orders.");
        builder
            .request(RequestSpec {
                status: 201,
                ..spec("place_order", "POST", "/orders")
            })
            .body::<NewOrder>("order")
            .response::<Order>()
            .error::<OrderError>();
        builder
            .request(spec("get_order", "GET", "/orders/{id}"))
            .path_param::<u64>("id", "id")
            .response::<Order>()
            .error::<OrderError>();
        builder
            .request(spec("list_orders", "GET", "/orders"))
            .query::<Filter>("filter")
            .response::<Vec<Order>>();
        builder
            .request(spec("replace_order", "PUT", "/orders/{id}"))
            .path_param::<u64>("id", "id")
            .body::<NewOrder>("order")
            .response::<Order>()
            .error::<OrderError>();
        builder
            .request(spec("amend_order", "PATCH", "/orders/{id}"))
            .path_param::<u64>("id", "id")
            .body::<NewOrder>("order");
        builder
            .request(RequestSpec {
                status: 204,
                ..spec("cancel_order", "DELETE", "/orders/{id}")
            })
            .path_param::<u64>("id", "id")
            .header::<Option<String>>("idempotency-key", "key")
            .error::<OrderError>();
        builder.request(spec("health", "HEAD", "/health"));
        builder.request(spec("probe", "OPTIONS", "/health"));
        builder.event::<Placed>("order_placed", "", "orders.placed", None, "event");
        builder.finish()
    }

    /// Every `(path, method, operation)` in the document.
    fn operations(document: &Value) -> Vec<(String, String, &Value)> {
        let mut found = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                found.push((path.clone(), method.clone(), operation));
            }
        }
        found
    }

    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match value {
                        Value::String(reference) if key == "$ref" => found.push(reference),
                        _ => refs(value, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    #[test]
    fn every_request_method_is_an_operation_with_its_id() {
        let descriptor = descriptor();
        let document = openapi(&descriptor);
        let mut expected: Vec<(String, String, String)> = descriptor
            .requests()
            .map(|(op, request)| {
                (
                    request.path.clone(),
                    request.method.to_ascii_lowercase(),
                    op.name.clone(),
                )
            })
            .collect();
        expected.sort();
        let mut actual: Vec<(String, String, String)> = operations(&document)
            .into_iter()
            .map(|(path, method, operation)| {
                let id = operation["operationId"].as_str().unwrap_or_default();
                (path, method, id.to_owned())
            })
            .collect();
        actual.sort();
        assert_eq!(actual, expected);
        for method in ["get", "post", "put", "patch", "delete", "head", "options"] {
            assert!(
                actual.iter().any(|(_, m, _)| m == method),
                "no {method} operation"
            );
        }
        let ids: BTreeSet<&str> = actual.iter().map(|(_, _, id)| id.as_str()).collect();
        assert_eq!(ids.len(), actual.len(), "operationIds are not unique");
    }

    #[test]
    fn every_reference_resolves_to_a_component_schema() {
        let document = openapi(&descriptor());
        let schemas = document["components"]["schemas"].as_object().unwrap();
        let mut found = Vec::new();
        refs(&document, &mut found);
        assert!(!found.is_empty());
        for reference in found {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{reference} is not a component schema"));
            assert!(schemas.contains_key(name), "{reference} does not resolve");
        }
    }

    #[test]
    fn components_hold_only_the_schemas_operations_use() {
        let document = openapi(&descriptor());
        let names: Vec<&str> = document["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        // `Placed` is an event payload and `Filter` is published as one
        // parameter per field, so neither is referenced.
        assert_eq!(
            names,
            ["Line", "NewOrder", "Order", "OrderError", "ProblemDetails"]
        );
    }

    #[test]
    fn integer_parameters_and_fields_carry_their_range() {
        let document = openapi(&descriptor());
        let id = &document["paths"]["/orders/{id}"]["get"]["parameters"][0];
        assert_eq!(id["name"], "id");
        assert_eq!(id["schema"]["maximum"], json!(u64::MAX));
        let quantity = &document["components"]["schemas"]["Line"]["properties"]["quantity"];
        assert_eq!(quantity["maximum"], json!(u32::MAX));
        let limit = &document["paths"]["/orders"]["get"]["parameters"][0];
        assert_eq!(limit["name"], "limit");
        assert_eq!(limit["schema"]["maximum"], json!(u32::MAX));
    }

    #[test]
    fn document_names_a_server() {
        let document = openapi(&descriptor());
        assert_eq!(document["servers"], json!([{ "url": "/" }]));
    }

    #[test]
    fn service_errors_sharing_an_input_error_status_may_lack_the_typed_error() {
        let document = openapi(&descriptor());
        let responses = &document["paths"]["/orders"]["post"]["responses"];
        let schema =
            |status: &str| &responses[status]["content"]["application/problem+json"]["schema"];

        // The body can fail to decode with 422 too, so `error` is optional.
        let shared = &schema("422")["allOf"][1];
        assert_eq!(
            shared["properties"]["error"],
            json!({ "$ref": "#/components/schemas/OrderError" })
        );
        assert!(shared.get("required").is_none(), "{shared}");
        let description = responses["422"]["description"].as_str().unwrap();
        assert!(
            description.starts_with("Service error: Rejected."),
            "{description}"
        );
        assert!(
            description.contains("does not match the contract"),
            "{description}"
        );

        // Only the service answers 404, always with its typed error.
        assert_eq!(schema("404")["allOf"][1]["required"], json!(["error"]));

        for status in ["400", "413", "415"] {
            assert_eq!(
                *schema(status),
                json!({ "$ref": "#/components/schemas/ProblemDetails" }),
                "{status}"
            );
        }
        assert!(responses.get("default").is_some());
    }

    #[test]
    fn only_operations_with_input_declare_input_errors() {
        let document = openapi(&descriptor());
        let health = &document["paths"]["/health"]["head"]["responses"];
        assert_eq!(
            health.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["200", "default"]
        );
        let cancel = &document["paths"]["/orders/{id}"]["delete"]["responses"];
        assert_eq!(
            cancel.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["204", "400", "404", "422", "default"]
        );
        // No body, so a 422 here is always the service's own error.
        assert_eq!(
            cancel["422"]["content"]["application/problem+json"]["schema"]["allOf"][1]["required"],
            json!(["error"])
        );
    }
}
