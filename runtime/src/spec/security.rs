//! How the documents describe authentication: OpenAPI's
//! `securitySchemes` and per-operation `security`, the 401 and 403
//! answers, and AsyncAPI's security on the broker request operations.
//! Events are not authenticated per message, so no event carries security.

use serde_json::{json, Map, Value};

use crate::descriptor::{AuthRequirement, AuthScheme, RequestDescriptor, ServiceDescriptor};

/// OpenAPI `components.securitySchemes`, or `None` when the contract
/// declares no authentication.
pub(crate) fn openapi_schemes(descriptor: &ServiceDescriptor) -> Option<Value> {
    let schemes = descriptor.auth_schemes();
    if schemes.is_empty() {
        return None;
    }
    let map: Map<String, Value> = schemes
        .into_iter()
        .map(|scheme| {
            let value = match scheme {
                AuthScheme::Bearer => json!({
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A JSON Web Token in `Authorization: Bearer <token>`.",
                }),
                AuthScheme::ApiKey { header } => json!({
                    "type": "apiKey",
                    "in": "header",
                    "name": header,
                    "description": format!("An API key in the `{header}` header."),
                }),
            };
            (scheme.name().to_owned(), value)
        })
        .collect();
    Some(Value::Object(map))
}

/// The document-wide `security`: the service's default scheme.
pub(crate) fn openapi_default(descriptor: &ServiceDescriptor) -> Option<Value> {
    let scheme = descriptor.auth.as_ref()?;
    Some(json!([{ scheme.name(): [] }]))
}

/// An operation's `security`: its scheme with the scopes it requires, or
/// an empty list for a public operation of a service with a default.
/// `scopes` says whether the document may list scopes for schemes other
/// than OAuth 2.0 (3.1 may; 3.0 may not).
pub(crate) fn openapi_operation(
    descriptor: &ServiceDescriptor,
    request: &RequestDescriptor,
    scopes: bool,
) -> Option<Value> {
    match &request.auth {
        Some(AuthRequirement { scheme, scopes: s }) => {
            let listed: &[String] = if scopes { s } else { &[] };
            Some(json!([{ scheme.name(): listed }]))
        }
        None if descriptor.auth.is_some() => Some(json!([])),
        None => None,
    }
}

/// The 401 (and, when the request requires scopes, 403) responses of an
/// authenticated request, each a problem document.
pub(crate) fn openapi_responses(request: &RequestDescriptor, problem: &Value) -> Vec<(u16, Value)> {
    let Some(auth) = &request.auth else {
        return Vec::new();
    };
    let mut responses = vec![(
        401,
        json!({
            "description": "The credential is missing, malformed or not valid; `WWW-Authenticate` names the scheme.",
            "headers": { "WWW-Authenticate": {
                "description": "The scheme and why the credential was refused.",
                "schema": { "type": "string" },
            } },
            "content": { "application/problem+json": { "schema": problem } },
        }),
    )];
    if !auth.scopes.is_empty() {
        responses.push((
            403,
            json!({
                "description": format!(
                    "The credential is valid but does not grant {}; `detail` names the scope missing.",
                    scope_list(&auth.scopes)
                ),
                "content": { "application/problem+json": { "schema": problem } },
            }),
        ));
    }
    responses
}

/// AsyncAPI `components.securitySchemes` for the broker requests.
pub(crate) fn asyncapi_schemes(descriptor: &ServiceDescriptor) -> Option<Value> {
    let schemes = descriptor.auth_schemes();
    if schemes.is_empty() {
        return None;
    }
    let map: Map<String, Value> = schemes
        .into_iter()
        .map(|scheme| {
            let value = match scheme {
                AuthScheme::Bearer => json!({
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A JSON Web Token in the request's `authorization` header: `Bearer <token>`.",
                }),
                AuthScheme::ApiKey { header } => json!({
                    "type": "httpApiKey",
                    "in": "header",
                    "name": header,
                    "description": format!("An API key in the request's `{header}` header."),
                }),
            };
            (scheme.name().to_owned(), value)
        })
        .collect();
    Some(Value::Object(map))
}

/// A broker request operation's `security`, when it requires a credential.
pub(crate) fn asyncapi_operation(request: &RequestDescriptor) -> Option<Value> {
    let auth = request.auth.as_ref()?;
    Some(json!([{ "$ref": format!("#/components/securitySchemes/{}", auth.scheme.name()) }]))
}

/// The header the credential of a broker request travels in, with its
/// schema.
pub(crate) fn asyncapi_header(request: &RequestDescriptor) -> Option<(String, Value)> {
    let auth = request.auth.as_ref()?;
    let mut description = match &auth.scheme {
        AuthScheme::Bearer => "`Bearer <token>`, a JSON Web Token".to_owned(),
        AuthScheme::ApiKey { .. } => "An API key".to_owned(),
    };
    if !auth.scopes.is_empty() {
        description.push_str(&format!(" granting {}", scope_list(&auth.scopes)));
    }
    description.push('.');
    Some((
        auth.scheme.header().to_owned(),
        json!({ "type": "string", "description": description }),
    ))
}

fn scope_list(scopes: &[String]) -> String {
    let quoted: Vec<String> = scopes.iter().map(|s| format!("`{s}`")).collect();
    quoted.join(", ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::descriptor::{AuthScheme, DescriptorBuilder, RequestSpec};
    use crate::spec::{asyncapi, openapi};

    fn spec(name: &'static str, method: &'static str, path: &'static str) -> RequestSpec {
        RequestSpec {
            name,
            docs: "",
            method,
            path,
            status: 200,
            idempotent: true,
        }
    }

    /// A service with bearer auth by default, a request with scopes, one on
    /// an API key, a public one and an event.
    fn descriptor() -> crate::ServiceDescriptor {
        let mut builder = DescriptorBuilder::new("vault", "1.0.0", "");
        builder.auth(AuthScheme::Bearer);
        builder
            .request(spec("read", "GET", "/secret"))
            .response::<String>()
            .auth(AuthScheme::Bearer, &["vault:read"]);
        builder
            .request(spec("stats", "GET", "/stats"))
            .response::<u64>()
            .auth(AuthScheme::api_key("x-vault-key"), &[]);
        builder
            .request(spec("health", "GET", "/health"))
            .response::<bool>();
        builder.event::<String>("opened", "", "vault.opened", None, "event");
        builder.finish()
    }

    #[test]
    fn openapi_declares_the_schemes_and_each_operations_requirement() {
        let document = openapi(&descriptor());
        assert_eq!(
            document["components"]["securitySchemes"],
            json!({
                "bearer": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "A JSON Web Token in `Authorization: Bearer <token>`.",
                },
                "api_key": {
                    "type": "apiKey", "in": "header", "name": "x-vault-key",
                    "description": "An API key in the `x-vault-key` header.",
                },
            })
        );
        assert_eq!(document["security"], json!([{ "bearer": [] }]));
        let paths = &document["paths"];
        assert_eq!(
            paths["/secret"]["get"]["security"],
            json!([{ "bearer": ["vault:read"] }])
        );
        assert_eq!(
            paths["/stats"]["get"]["security"],
            json!([{ "api_key": [] }])
        );
        assert_eq!(paths["/health"]["get"]["security"], json!([]));
        let read = &paths["/secret"]["get"]["responses"];
        assert!(read["401"]["headers"]["WWW-Authenticate"].is_object());
        assert!(read["403"]["description"]
            .as_str()
            .unwrap()
            .contains("`vault:read`"));
        let stats = &paths["/stats"]["get"]["responses"];
        assert!(stats["401"].is_object());
        assert!(stats["403"].is_null(), "no scope, so no 403");
        let health = &paths["/health"]["get"]["responses"];
        assert!(health["401"].is_null(), "a public operation is not refused");
    }

    #[test]
    fn asyncapi_secures_the_broker_requests_and_no_event() {
        let document = asyncapi(&descriptor());
        assert_eq!(
            document["components"]["securitySchemes"]["api_key"]["type"],
            "httpApiKey"
        );
        let operations = &document["operations"];
        assert_eq!(
            operations["read"]["security"],
            json!([{ "$ref": "#/components/securitySchemes/bearer" }])
        );
        assert!(operations["health"]["security"].is_null());
        assert!(operations["opened"]["security"].is_null());
        let headers = &document["components"]["messages"]["read_request"]["headers"];
        assert!(headers["required"]
            .as_array()
            .unwrap()
            .contains(&json!("authorization")));
        assert!(headers["properties"]["authorization"]["description"]
            .as_str()
            .unwrap()
            .contains("`vault:read`"));
    }

    #[test]
    fn a_contract_without_auth_has_no_security() {
        let mut builder = DescriptorBuilder::new("open", "1.0.0", "");
        builder.request(spec("ping", "GET", "/ping"));
        let descriptor = builder.finish();
        let document = openapi(&descriptor);
        assert!(document.get("security").is_none());
        assert!(document["components"].get("securitySchemes").is_none());
        assert!(document["paths"]["/ping"]["get"].get("security").is_none());
        assert!(asyncapi(&descriptor)["components"]
            .get("securitySchemes")
            .is_none());
    }
}
