//! Bad input over raw HTTP: each malformed request gets a 4xx
//! `application/problem+json` document naming the field and the reason,
//! never a 500 or a hang, and the server goes on answering good requests.

use std::net::SocketAddr;

use accord::error::INVALID_REQUEST;
use accord::{Location, Problem};
use accord_tests::raw::{self, RawBody, RawResponse};
use accord_tests::scenarios::pickup_order;
use accord_tests::{within, TestServer};
use bytes::Bytes;
use http::header::ALLOW;
use http::{Method, Request, StatusCode};
use orders_contract::{OrderId, Orders, OrdersClient, OrdersServer};
use orders_server::InMemoryOrders;

async fn orders() -> TestServer {
    TestServer::start(InMemoryOrders::new().into_router()).await
}

/// A valid order as JSON text.
fn good_order() -> Vec<u8> {
    serde_json::to_vec(&pickup_order("kim", "apple", 1)).unwrap()
}

/// Sends `request`, checks the answer is a problem document with `status`,
/// checks the server still places an order afterwards, and returns the
/// problem.
async fn rejected(server: &TestServer, request: Request<RawBody>, status: u16) -> Problem {
    let description = format!("{} {}", request.method(), request.uri());
    let response = raw::send(server.addr(), request).await;
    assert_eq!(
        response.status.as_u16(),
        status,
        "{description}: {}",
        response.text()
    );
    let problem = response.problem();
    assert_still_serves(server.addr()).await;
    problem
}

async fn assert_still_serves(addr: SocketAddr) {
    let response = raw::send(addr, raw::json(Method::POST, "/orders", good_order())).await;
    assert_eq!(
        response.status,
        StatusCode::CREATED,
        "a good request right after: {}",
        response.text()
    );
    let client = OrdersClient::new(&format!("http://{addr}")).unwrap();
    within("a typed call", client.health())
        .await
        .expect("the server still answers");
}

/// The one rejected field of an invalid-request problem.
fn only_error(problem: &Problem) -> &accord::FieldError {
    assert_eq!(problem.type_, INVALID_REQUEST, "{problem:?}");
    assert_eq!(problem.errors.len(), 1, "{problem:?}");
    let error = &problem.errors[0];
    let detail = problem.detail.as_deref().unwrap_or("");
    assert!(
        detail.contains(&error.reason),
        "the detail repeats the reason: {problem:?}"
    );
    error
}

#[tokio::test]
async fn malformed_json_is_400() {
    let server = orders().await;
    let problem = rejected(
        &server,
        raw::json(Method::POST, "/orders", r#"{"customer_id":"c1""#),
        400,
    )
    .await;
    let error = only_error(&problem);
    assert_eq!(error.location, Location::Body);
    assert_eq!(error.field, "", "the body as a whole: {problem:?}");
    assert!(error.reason.contains("EOF while parsing"), "{problem:?}");

    let problem = rejected(
        &server,
        raw::json(
            Method::POST,
            "/orders",
            r#"{"customer_id":"c1","lines":[{"sku": ]}"#,
        ),
        400,
    )
    .await;
    let error = only_error(&problem);
    assert_eq!(error.field, "lines[0].sku", "{problem:?}");
    assert!(error.reason.contains("expected value"), "{problem:?}");

    let problem = rejected(
        &server,
        raw::json(
            Method::POST,
            "/orders",
            [good_order(), b" {}".to_vec()].concat(),
        ),
        400,
    )
    .await;
    assert!(
        only_error(&problem).reason.contains("trailing characters"),
        "{problem:?}"
    );
}

#[tokio::test]
async fn wrong_type_is_422_naming_the_field() {
    let server = orders().await;
    let mut order = serde_json::to_value(pickup_order("kim", "apple", 1)).unwrap();
    order["lines"][0]["quantity"] = "two".into();
    let problem = rejected(
        &server,
        raw::json(Method::POST, "/orders", order.to_string()),
        422,
    )
    .await;
    assert_eq!(problem.title, "Request body does not match the contract");
    let error = only_error(&problem);
    assert_eq!(error.location, Location::Body);
    assert_eq!(error.field, "lines[0].quantity");
    assert_eq!(
        error.reason, "\"two\" is not of type \"integer\"",
        "{problem:?}"
    );

    let mut order = serde_json::to_value(pickup_order("kim", "apple", 1)).unwrap();
    order["payment"] = serde_json::json!({"type": "cheque"});
    let problem = rejected(
        &server,
        raw::json(Method::POST, "/orders", order.to_string()),
        422,
    )
    .await;
    let error = only_error(&problem);
    assert_eq!(error.field, "payment.type", "{problem:?}");
    assert_eq!(
        error.reason, r#""cheque" is not one of "card", "invoice", "credit""#,
        "{problem:?}"
    );

    let problem = rejected(&server, raw::json(Method::POST, "/orders", "[1, 2]"), 422).await;
    let error = only_error(&problem);
    assert_eq!(error.field, "", "{problem:?}");
    assert!(
        error.reason.contains("is not of type \"object\""),
        "{problem:?}"
    );
}

#[tokio::test]
async fn every_mistake_in_a_body_is_listed_at_once() {
    let server = orders().await;
    let mut order = serde_json::to_value(pickup_order("kim", "apple", 1)).unwrap();
    order["lines"][0]["quantity"] = "two".into();
    order["lines"][0].as_object_mut().unwrap().remove("sku");
    order["payment"] = serde_json::json!({"type": "cheque"});
    let problem = rejected(
        &server,
        raw::json(Method::POST, "/orders", order.to_string()),
        422,
    )
    .await;
    let mut fields: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["lines[0].quantity", "lines[0].sku", "payment.type"],
        "{problem:?}"
    );
    assert!(problem.errors.iter().all(|e| e.location == Location::Body));
    // The detail names each of them too.
    let detail = problem.detail.as_deref().unwrap_or_default();
    for field in fields {
        assert!(detail.contains(&format!("`{field}`")), "{detail}");
    }
}

#[tokio::test]
async fn missing_field_is_422_naming_it() {
    let server = orders().await;
    let problem = rejected(
        &server,
        raw::json(Method::POST, "/orders", r#"{"customer_id":"c1"}"#),
        422,
    )
    .await;
    // Each missing field is named, all at once.
    let mut fields: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["delivery", "lines", "payment"], "{problem:?}");
    for error in &problem.errors {
        assert_eq!(error.location, Location::Body);
        assert_eq!(
            error.reason,
            format!("\"{}\" is a required property", error.field)
        );
    }

    let mut order = serde_json::to_value(pickup_order("kim", "apple", 1)).unwrap();
    order["lines"][0]
        .as_object_mut()
        .unwrap()
        .remove("quantity");
    let problem = rejected(
        &server,
        raw::json(Method::POST, "/orders", order.to_string()),
        422,
    )
    .await;
    let error = only_error(&problem);
    assert_eq!(error.field, "lines[0].quantity", "{problem:?}");
    assert_eq!(error.reason, "\"quantity\" is a required property");
}

#[tokio::test]
async fn empty_body_is_400() {
    let server = orders().await;
    for body in [RawBody::Empty, RawBody::Full(Bytes::new())] {
        let problem = rejected(
            &server,
            raw::request_with_type(Method::POST, "/orders", "application/json", body),
            400,
        )
        .await;
        let error = only_error(&problem);
        assert_eq!(error.location, Location::Body);
        assert!(error.reason.contains("the body is empty"), "{problem:?}");
    }
}

#[tokio::test]
async fn wrong_or_missing_content_type_is_415() {
    let server = orders().await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/jsonx",
    ] {
        let problem = rejected(
            &server,
            raw::request_with_type(
                Method::POST,
                "/orders",
                content_type,
                RawBody::Full(good_order().into()),
            ),
            415,
        )
        .await;
        assert_eq!(problem.title, "Unsupported media type");
        let error = only_error(&problem);
        assert_eq!(error.location, Location::Header);
        assert_eq!(error.field, "content-type");
        assert!(error.reason.contains(content_type), "{problem:?}");
    }
    let problem = rejected(
        &server,
        raw::request(Method::POST, "/orders", RawBody::Full(good_order().into())),
        415,
    )
    .await;
    let error = only_error(&problem);
    assert_eq!(error.field, "content-type");
    assert!(error.reason.contains("missing"), "{problem:?}");

    // JSON with parameters, or in another case, is JSON.
    for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
        let response = raw::send(
            server.addr(),
            raw::request_with_type(
                Method::POST,
                "/orders",
                content_type,
                RawBody::Full(good_order().into()),
            ),
        )
        .await;
        assert_eq!(response.status, StatusCode::CREATED, "{content_type}");
    }
}

#[tokio::test]
async fn bad_path_parameter_is_400_naming_it() {
    let server = orders().await;
    for path in [
        "/orders/abc",
        "/orders/-1",
        "/orders/1.5",
        "/orders/99999999999999999999",
    ] {
        let problem = rejected(&server, raw::get(path), 400).await;
        let error = only_error(&problem);
        assert_eq!(error.location, Location::Path, "{path}");
        assert_eq!(error.field, "id", "{path}");
        assert!(error.reason.contains("cannot parse"), "{path}: {problem:?}");
    }
    let problem = rejected(
        &server,
        raw::json(Method::PUT, "/orders/x/status", r#"{"status":"shipped"}"#),
        400,
    )
    .await;
    assert_eq!(only_error(&problem).field, "id");
}

#[tokio::test]
async fn several_bad_parts_are_all_named() {
    let server = orders().await;
    let problem = rejected(
        &server,
        raw::json(Method::PUT, "/orders/x/status", r#"{"status":"lost"}"#),
        400,
    )
    .await;
    let named: Vec<(Location, &str)> = problem
        .errors
        .iter()
        .map(|e| (e.location, e.field.as_str()))
        .collect();
    assert_eq!(
        named,
        vec![(Location::Path, "id"), (Location::Body, "status")],
        "{problem:?}"
    );
}

#[tokio::test]
async fn non_utf8_path_parameter_is_400_naming_it() {
    let server = orders().await;
    let problem = rejected(&server, raw::get("/orders/%FF%FE"), 400).await;
    let error = only_error(&problem);
    assert_eq!(error.location, Location::Path);
    assert_eq!(error.field, "id", "{problem:?}");
    assert!(error.reason.contains("UTF-8"), "{problem:?}");
}

#[tokio::test]
async fn bad_query_string_is_400_naming_the_parameter() {
    let server = orders().await;
    let cases = [
        ("/orders?limit=x", "limit", "invalid digit"),
        ("/orders?limit=-3", "limit", "invalid digit"),
        ("/orders?status=lost", "status", "unknown variant `lost`"),
        ("/orders?limit=1&limit=2", "limit", ""),
    ];
    for (path, field, reason) in cases {
        let problem = rejected(&server, raw::get(path), 400).await;
        let error = only_error(&problem);
        assert_eq!(error.location, Location::Query, "{path}");
        assert_eq!(error.field, field, "{path}: {problem:?}");
        assert!(error.reason.contains(reason), "{path}: {problem:?}");
    }
}

#[tokio::test]
async fn a_non_canonical_integer_in_the_path_is_400_naming_the_canonical_form() {
    let server = orders().await;
    for (path, canonical) in [
        ("/orders/+1", "1"),
        ("/orders/%2B1", "1"),
        ("/orders/01", "1"),
        ("/orders/00", "0"),
        ("/orders/0042", "42"),
    ] {
        let problem = rejected(&server, raw::get(path), 400).await;
        let error = only_error(&problem);
        assert_eq!(error.location, Location::Path, "{path}");
        assert_eq!(error.field, "id", "{path}");
        assert!(
            error.reason.contains("not a canonical integer")
                && error.reason.contains(&format!("`{canonical}`")),
            "{path}: {problem:?}"
        );
    }
    let problem = rejected(
        &server,
        raw::json(Method::PUT, "/orders/01/status", r#"{"status":"shipped"}"#),
        400,
    )
    .await;
    assert_eq!(only_error(&problem).field, "id");
    // The canonical spelling reaches the service (`rejected` placed order 1).
    let response = raw::send(server.addr(), raw::get("/orders/1")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["id"], 1);
}

#[tokio::test]
async fn a_non_canonical_integer_in_the_query_is_400_naming_it() {
    let server = orders().await;
    for (path, canonical) in [("/orders?limit=01", "1"), ("/orders?limit=%2B5", "5")] {
        let problem = rejected(&server, raw::get(path), 400).await;
        let error = only_error(&problem);
        assert_eq!(error.location, Location::Query, "{path}");
        assert_eq!(error.field, "limit", "{path}");
        assert!(
            error.reason.contains(&format!("`{canonical}`")),
            "{path}: {problem:?}"
        );
    }
    let response = raw::send(server.addr(), raw::get("/orders?limit=5")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
}

#[tokio::test]
async fn a_query_value_that_is_not_utf8_is_400_naming_it() {
    let server = orders().await;
    for path in [
        "/orders?customer_id=%FF",
        "/orders?customer_id=ok%C3",
        "/orders?limit=1&customer_id=%E6%97",
    ] {
        let problem = rejected(&server, raw::get(path), 400).await;
        let error = only_error(&problem);
        assert_eq!(error.location, Location::Query, "{path}");
        assert_eq!(error.field, "customer_id", "{path}: {problem:?}");
        assert!(error.reason.contains("UTF-8"), "{path}: {problem:?}");
    }
    // Percent-encoded UTF-8 is fine.
    let response = raw::send(server.addr(), raw::get("/orders?customer_id=Zo%C3%AB")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
}

#[tokio::test]
async fn duplicated_header_is_400_naming_it() {
    let server = orders().await;
    let mut request = raw::request(Method::DELETE, "/orders/1", RawBody::Empty);
    request
        .headers_mut()
        .append("idempotency-key", "a".parse().unwrap());
    request
        .headers_mut()
        .append("idempotency-key", "b".parse().unwrap());
    let problem = rejected(&server, request, 400).await;
    let error = only_error(&problem);
    assert_eq!(error.location, Location::Header);
    assert_eq!(error.field, "idempotency-key");
    assert!(error.reason.contains("more than once"), "{problem:?}");
}

fn too_large(response: &RawResponse, limit: usize) {
    assert_eq!(
        response.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        response.text()
    );
    let problem = response.problem();
    let detail = problem.detail.unwrap_or_default();
    assert!(
        detail.contains(&limit.to_string()),
        "names the limit: {detail}"
    );
}

/// A JSON document of exactly `len` bytes (a string of `x`), valid JSON but
/// never a valid order: only the size decides.
fn json_of_len(len: usize) -> Bytes {
    let mut text = vec![b'x'; len];
    text[0] = b'"';
    text[len - 1] = b'"';
    Bytes::from(text)
}

#[tokio::test]
async fn body_over_the_default_limit_is_413() {
    let server = orders().await;
    let limit = accord::http::DEFAULT_BODY_LIMIT;
    let response = raw::send(
        server.addr(),
        raw::json(Method::POST, "/orders", json_of_len(limit + 1)),
    )
    .await;
    too_large(&response, limit);
    assert_still_serves(server.addr()).await;

    // At the limit, the body is read and judged on its content.
    let response = raw::send(
        server.addr(),
        raw::json(Method::POST, "/orders", json_of_len(limit)),
    )
    .await;
    assert_eq!(
        response.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn chunked_body_over_the_default_limit_is_413() {
    let server = orders().await;
    let limit = accord::http::DEFAULT_BODY_LIMIT;
    let chunk = Bytes::from(vec![b' '; 64 * 1024]);
    let chunks = vec![chunk; limit / (64 * 1024) + 1];
    let response = raw::send(
        server.addr(),
        raw::request_with_type(
            Method::POST,
            "/orders",
            "application/json",
            RawBody::Chunked(chunks),
        ),
    )
    .await;
    too_large(&response, limit);
    assert_still_serves(server.addr()).await;
}

#[tokio::test]
async fn a_configured_body_limit_applies() {
    let dispatcher = InMemoryOrders::new().into_dispatcher();
    let router = accord::HttpServer::new(dispatcher)
        .body_limit(1024)
        .into_router();
    let server = TestServer::start(router).await;

    let response = raw::send(
        server.addr(),
        raw::json(Method::POST, "/orders", json_of_len(2048)),
    )
    .await;
    too_large(&response, 1024);

    let chunks = vec![Bytes::from(vec![b' '; 300]); 7];
    let response = raw::send(
        server.addr(),
        raw::request_with_type(
            Method::POST,
            "/orders",
            "application/json",
            RawBody::Chunked(chunks),
        ),
    )
    .await;
    too_large(&response, 1024);

    // A small order, chunked, is still accepted.
    let order = good_order();
    assert!(order.len() < 1024);
    let (a, b) = order.split_at(order.len() / 2);
    let response = raw::send(
        server.addr(),
        raw::request_with_type(
            Method::POST,
            "/orders",
            "application/json",
            RawBody::Chunked(vec![Bytes::copy_from_slice(a), Bytes::copy_from_slice(b)]),
        ),
    )
    .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_still_serves(server.addr()).await;
}

#[tokio::test]
async fn unknown_route_is_404() {
    let server = orders().await;
    for path in ["/nope", "/orders/1/status/extra", "/", "/ORDERS"] {
        let problem = rejected(&server, raw::get(path), 404).await;
        assert_eq!(problem.title, "Not Found");
        assert!(
            problem.detail.as_deref().unwrap_or("").contains(path),
            "names the path: {problem:?}"
        );
    }
}

fn allowed(response: &RawResponse) -> Vec<String> {
    let allow = response
        .headers
        .get(ALLOW)
        .unwrap_or_else(|| panic!("a 405 has an Allow header: {:?}", response.headers));
    let mut methods: Vec<String> = allow
        .to_str()
        .unwrap()
        .split(',')
        .map(|m| m.trim().to_owned())
        .collect();
    methods.sort();
    methods
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let server = orders().await;
    let cases: [(Method, &str, &[&str]); 6] = [
        (Method::PATCH, "/orders", &["GET", "HEAD", "POST"]),
        (Method::POST, "/orders/1", &["DELETE", "GET", "HEAD"]),
        (Method::GET, "/orders/1/status", &["PUT"]),
        (Method::DELETE, "/stats", &["GET", "HEAD"]),
        (Method::POST, "/openapi.json", &["GET", "HEAD"]),
        (Method::PUT, "/asyncapi.json", &["GET", "HEAD"]),
    ];
    for (method, path, expected) in cases {
        let response = raw::send(
            server.addr(),
            raw::request(method.clone(), path, RawBody::Empty),
        )
        .await;
        assert_eq!(
            response.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {}",
            response.text()
        );
        let problem = response.problem();
        assert_eq!(problem.title, "Method Not Allowed");
        assert_eq!(allowed(&response), expected, "{method} {path}");
        assert_still_serves(server.addr()).await;
    }
}

#[tokio::test]
async fn the_asyncapi_document_is_served() {
    let server = orders().await;
    let response = raw::send(server.addr(), raw::get("/asyncapi.json")).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.content_type(), "application/json");
    let document = response.json();
    assert_eq!(document["asyncapi"], "3.0.0");
    assert_eq!(
        document["channels"]["order_placed"]["address"],
        "orders.placed"
    );
    assert_eq!(document["operations"]["order_placed"]["action"], "send");
    assert_eq!(
        document["channels"]["place_order_request"]["address"],
        "orders.rpc.place_order"
    );
    assert!(document["operations"]["place_order"]["reply"].is_object());

    // Integer fields keep the range of their Rust type, as in openapi.json.
    let schemas = &document["components"]["schemas"];
    let quantity = &schemas["Line"]["properties"]["quantity"];
    assert_eq!(quantity["minimum"], 0, "{quantity}");
    assert_eq!(quantity["maximum"], u32::MAX, "{quantity}");
    let placed = &schemas["OrderPlaced"]["properties"]["total_cents"];
    assert_eq!(placed["maximum"], u64::MAX, "{placed}");
    let openapi = raw::send(server.addr(), raw::get("/openapi.json"))
        .await
        .json();
    assert_eq!(
        &openapi["components"]["schemas"]["Line"]["properties"]["quantity"], quantity,
        "the same bounds in both documents"
    );
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let server = orders().await;
    let response = raw::send(server.addr(), raw::get("/openapi.json")).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.content_type(), "application/json");
    let document = response.json();
    assert_eq!(document["info"]["version"], Orders::descriptor().version);
    assert!(
        document["paths"]["/orders/{id}"]["get"].is_object(),
        "{document}"
    );
}

#[tokio::test]
async fn a_typed_client_gets_an_unknown_route_as_a_problem() {
    let server = orders().await;
    // A base URL with a path prefix the server does not serve.
    let client = OrdersClient::new(&format!("{}/prefix", server.url())).unwrap();
    let error = within("a call", client.get_order(&OrderId(1)))
        .await
        .expect_err("nothing is served under /prefix");
    match error {
        accord::CallError::Problem(problem) => {
            assert_eq!(problem.status, 404);
            assert!(problem
                .detail
                .unwrap_or_default()
                .contains("/prefix/orders/1"));
        }
        other => panic!("expected a problem, got {other}"),
    }
}
