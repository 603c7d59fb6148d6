//! What a client accepts and how it classifies a failure, the same over
//! every transport: a reply whose status contradicts the contract is a
//! protocol error; a value spelled other than canonically, or a query that
//! is not UTF-8, is refused by the server; and one rule says which failures
//! may be retried, whether the reply is a problem document or plain text.

use std::time::Duration;

use accord::broker::Message;
use accord::dispatch::Handler;
use accord::error::{RetryClass, INVALID_REQUEST};
use accord::transport::request_topic;
use accord::wire::{Call, Reply};
use accord::{
    serve_requests, BrokerTransport, CallError, Dispatcher, HttpTransport, InProcess, Location,
    MemoryBroker, Problem, RequestReply, Transport,
};
use accord_tests::scenarios::pickup_order;
use accord_tests::{within, TestServer};
use axum::routing::get;
use axum::Router;
use http::{HeaderMap, HeaderValue, StatusCode};
use orders_contract::{OrderError, OrderFilter, OrderId, OrdersClient, OrdersServer};
use orders_server::InMemoryOrders;

/// An orders server that breaks the contract in two places and serves the
/// rest as usual: `place_order` answers 200 where the contract declares
/// 201, and `get_order` answers `OutOfStock` (declared 409) with 404.
fn contradicting_orders() -> Dispatcher {
    let honest = InMemoryOrders::new().into_dispatcher();
    let handlers: Vec<Handler> = honest
        .routes()
        .iter()
        .map(|route| -> Handler {
            let honest = honest.clone();
            let index = route.index;
            match route.operation {
                "place_order" => Box::new(move |call: Call| {
                    let honest = honest.clone();
                    Box::pin(async move {
                        let mut reply = honest.dispatch(index, call).await;
                        assert_eq!(reply.status, 201, "the honest server places it");
                        reply.status = 200;
                        reply
                    })
                }),
                "get_order" => Box::new(|_call: Call| {
                    Box::pin(async {
                        let mut reply = Reply::service_error(&OrderError::OutOfStock {
                            sku: "apple".into(),
                            available: 0,
                        });
                        reply.status = 404;
                        reply
                    })
                }),
                _ => Box::new(move |call: Call| Box::pin(honest.dispatch(index, call))),
            }
        })
        .collect();
    Dispatcher::new(honest.descriptor(), honest.routes(), handlers)
}

async fn assert_contradictions_are_protocol_errors<T: Transport>(client: &OrdersClient<T>) {
    match within(
        "place_order",
        client.place_order(&pickup_order("kim", "apple", 1)),
    )
    .await
    {
        Err(CallError::Protocol(error)) => {
            assert_eq!(error.status, Some(200));
            assert!(
                error
                    .reason
                    .contains("declares status 201 for a successful `place_order`"),
                "{error}"
            );
            assert!(error.body_excerpt.contains("kim"), "{error:?}");
        }
        other => panic!("a 200 where 201 is declared was accepted: {other:?}"),
    }
    match within("get_order", client.get_order(&OrderId(1))).await {
        Err(error @ CallError::Protocol(_)) => {
            assert!(
                error
                    .to_string()
                    .contains("declares status 409 for the service error `OutOfStock`"),
                "{error}"
            );
            assert_eq!(error.retry_class(), RetryClass::Final);
        }
        other => panic!("OutOfStock with 404 was accepted: {other:?}"),
    }
    // What the server answers according to the contract still decodes.
    let listed = within("list_orders", client.list_orders(&OrderFilter::default()))
        .await
        .expect("an honest reply");
    assert_eq!(
        listed.len(),
        1,
        "the order was placed, even if the reply lied"
    );
}

#[tokio::test]
async fn a_status_that_contradicts_the_contract_is_a_protocol_error_over_http() {
    let server =
        TestServer::start(accord::HttpServer::new(contradicting_orders()).into_router()).await;
    let client = OrdersClient::new(&server.url()).unwrap();
    assert_contradictions_are_protocol_errors(&client).await;
}

#[tokio::test]
async fn a_status_that_contradicts_the_contract_is_a_protocol_error_in_process() {
    let client = OrdersClient::with_transport(InProcess::new(contradicting_orders()));
    assert_contradictions_are_protocol_errors(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_that_contradicts_the_contract_is_a_protocol_error_over_a_broker() {
    let broker = MemoryBroker::new();
    let served = serve_requests(broker.clone(), contradicting_orders())
        .await
        .unwrap();
    let client = OrdersClient::with_transport(BrokerTransport::new(broker))
        .with_timeout(Duration::from_secs(5));
    assert_contradictions_are_protocol_errors(&client).await;
    served.shutdown().await;
}

/// The operation's route index in the orders dispatch table.
fn index_of(dispatcher: &Dispatcher, operation: &str) -> usize {
    dispatcher
        .routes()
        .iter()
        .position(|r| r.operation == operation)
        .expect("the operation exists")
}

/// Asserts `reply` rejects exactly one field, at `location` named `field`,
/// with a reason containing `reason`.
fn assert_rejected(reply: &Reply, location: Location, field: &str, reason: &str) {
    assert_eq!(reply.status, 400, "{reply:?}");
    let problem: Problem = serde_json::from_slice(&reply.body).expect("a problem document");
    assert_eq!(problem.type_, INVALID_REQUEST);
    assert_eq!(problem.errors.len(), 1, "{problem:?}");
    let error = &problem.errors[0];
    assert_eq!((error.location, error.field.as_str()), (location, field));
    assert!(error.reason.contains(reason), "{problem:?}");
}

#[tokio::test]
async fn non_canonical_integers_and_bad_query_text_are_refused_in_process() {
    let dispatcher = InMemoryOrders::new().into_dispatcher();
    let get_order = index_of(&dispatcher, "get_order");
    let list_orders = index_of(&dispatcher, "list_orders");
    for (text, canonical) in [("+7", "`7`"), ("07", "`7`"), ("00", "`0`")] {
        let call = Call::from_parts(
            vec![("id".into(), text.to_owned())],
            None,
            HeaderMap::new(),
            Default::default(),
        );
        let reply = within("a dispatch", dispatcher.dispatch(get_order, call)).await;
        assert_rejected(&reply, Location::Path, "id", canonical);
    }
    for (query, field, reason) in [
        ("limit=007", "limit", "`7`"),
        ("customer_id=%FF", "customer_id", "UTF-8"),
    ] {
        let call = Call::from_parts(
            Vec::new(),
            Some(query.to_owned()),
            HeaderMap::new(),
            Default::default(),
        );
        let reply = within("a dispatch", dispatcher.dispatch(list_orders, call)).await;
        assert_rejected(&reply, Location::Query, field, reason);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_canonical_integers_and_bad_query_text_are_refused_over_a_broker() {
    use accord::transport::broker::{CORRELATION_ID, PATH_PREFIX, QUERY, STATUS};
    let broker = MemoryBroker::new();
    let served = serve_requests(broker.clone(), InMemoryOrders::new().into_dispatcher())
        .await
        .unwrap();
    let cases = [
        (
            "get_order",
            format!("{PATH_PREFIX}id"),
            "+7",
            Location::Path,
            "id",
            "`7`",
        ),
        (
            "list_orders",
            QUERY.to_owned(),
            "limit=%2B3",
            Location::Query,
            "limit",
            "`3`",
        ),
        (
            "list_orders",
            QUERY.to_owned(),
            "customer_id=%C3",
            Location::Query,
            "customer_id",
            "UTF-8",
        ),
    ];
    for (operation, header, value, location, field, reason) in cases {
        let request = Message::new(request_topic("orders", operation), Vec::new())
            .with_header(header, value)
            .with_header(CORRELATION_ID, "c-1");
        let answer = within(
            "a broker request",
            broker.request(request, Duration::from_secs(5)),
        )
        .await
        .expect("a reply");
        let reply = Reply {
            status: answer.header(STATUS).unwrap().parse().unwrap(),
            content_type: None,
            body: answer.payload.clone(),
            retry_after: None,
            headers: None,
        };
        assert_rejected(&reply, location, field, reason);
    }
    served.shutdown().await;
}

/// A server that is not an accord service: it answers `/health` and
/// `/orders/1` with `status`, `content_type`, `headers` and `body`.
async fn foreign(
    status: u16,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    body: &'static str,
) -> TestServer {
    let answer = move || {
        let headers = headers.clone();
        async move {
            let mut map = HeaderMap::new();
            map.insert("content-type", HeaderValue::from_static(content_type));
            for (name, value) in headers {
                map.insert(name, HeaderValue::try_from(value).unwrap());
            }
            (StatusCode::from_u16(status).unwrap(), map, body)
        }
    };
    let router = Router::new()
        .route("/health", get(answer.clone()))
        .route("/orders/1", get(answer));
    TestServer::start(router).await
}

/// The error of one `health` call, sent once: retries would honour the
/// `Retry-After` these replies carry.
async fn health_error(server: &TestServer) -> CallError<accord::NoError> {
    let transport = HttpTransport::builder(&server.url())
        .retries(None)
        .build()
        .unwrap();
    let client = OrdersClient::with_transport(transport);
    within("a call", client.health())
        .await
        .expect_err("the server failed")
}

#[tokio::test]
async fn a_5xx_is_retryable_whether_or_not_it_is_a_problem_document() {
    let text = foreign(500, "text/plain", Vec::new(), "upstream exploded").await;
    let error = health_error(&text).await;
    assert!(matches!(error, CallError::Protocol(_)), "{error}");
    assert!(error.is_retryable(), "a text/plain 500: {error}");
    assert_eq!(
        error.retry_class(),
        RetryClass::ServerError {
            status: 500,
            retry_after: None
        }
    );

    let document = foreign(
        500,
        "application/problem+json",
        Vec::new(),
        r#"{"type":"about:blank","title":"Internal Server Error","status":500}"#,
    )
    .await;
    let error = health_error(&document).await;
    assert!(matches!(error, CallError::Problem(_)), "{error}");
    assert_eq!(
        error.retry_class(),
        RetryClass::ServerError {
            status: 500,
            retry_after: None
        },
        "the same class as the plain-text 500"
    );
}

#[tokio::test]
async fn retry_after_comes_with_503_and_429() {
    let busy = foreign(
        503,
        "text/html",
        vec![("retry-after", "7".to_owned())],
        "<p>down for maintenance</p>",
    )
    .await;
    let error = health_error(&busy).await;
    assert_eq!(
        error.retry_class(),
        RetryClass::ServerError {
            status: 503,
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert!(error.retry_class().counts_as_failure());

    // An HTTP date already past: retry at once.
    let throttled = foreign(
        429,
        "application/problem+json",
        vec![("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT".to_owned())],
        r#"{"title":"Too Many Requests","status":429}"#,
    )
    .await;
    let error = health_error(&throttled).await;
    let CallError::Problem(problem) = &error else {
        panic!("expected a problem document, got {error}");
    };
    assert_eq!(problem.retry_after(), Some(Duration::ZERO));
    assert!(error.is_retryable());
    assert!(
        !error.retry_class().counts_as_failure(),
        "a 429 is a healthy server"
    );
    assert_eq!(
        error.retry_class(),
        RetryClass::Throttled {
            retry_after: Some(Duration::ZERO)
        }
    );

    // A server cannot make a caller wait without bound.
    let forever = foreign(
        503,
        "text/plain",
        vec![("retry-after", "31536000".to_owned())],
        "come back next year",
    )
    .await;
    assert_eq!(
        health_error(&forever).await.retry_after(),
        Some(accord::error::DEFAULT_MAX_RETRY_AFTER)
    );
    let transport = HttpTransport::builder(&forever.url())
        .retries(None)
        .build()
        .unwrap()
        .max_retry_after(Duration::from_secs(2));
    let error = within("a call", OrdersClient::with_transport(transport).health())
        .await
        .expect_err("the server failed");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));
}

#[tokio::test]
async fn typed_errors_and_4xx_are_final() {
    let server = TestServer::start(InMemoryOrders::new().into_router()).await;
    let client = OrdersClient::new(&server.url()).unwrap();
    let error = within("get_order", client.get_order(&OrderId(404)))
        .await
        .expect_err("no such order");
    assert!(matches!(
        error,
        CallError::Service(OrderError::NotFound { .. })
    ));
    assert_eq!(error.retry_class(), RetryClass::Final);

    let not_found = foreign(404, "text/plain", Vec::new(), "no").await;
    let error = health_error(&not_found).await;
    assert_eq!(error.retry_class(), RetryClass::Final, "{error}");
}
