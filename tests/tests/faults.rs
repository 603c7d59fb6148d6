//! Faults on either side of a call: a panicking handler, a slow one, a
//! closed port, a server that does not speak the contract, and a graceful
//! shutdown with a request in flight.

use std::io::ErrorKind;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use accord::prelude::*;
use accord::{InProcess, Transport};
use accord_tests::raw;
use accord_tests::{bind_loopback, within, TestServer};
use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::StatusCode;
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// A service with a handler for each fault.
#[accord::service(name = "faults", version = "0.1.0")]
pub trait Faults {
    /// Panics.
    #[request(method = "GET", path = "/explode")]
    async fn explode(&self) -> String;

    /// Answers once released.
    #[request(method = "GET", path = "/slow")]
    async fn slow(&self) -> String;

    /// Answers at once.
    #[request(method = "GET", path = "/ping")]
    async fn ping(&self) -> String;

    /// Answers at once; not idempotent.
    #[request(method = "POST", path = "/poke")]
    async fn poke(&self) -> String;
}

/// The faulty service; `entered` is notified when `slow` starts and `slow`
/// answers once `release` is notified.
#[derive(Debug, Default, Clone)]
struct FaultyService {
    entered: Arc<Notify>,
    release: Arc<Notify>,
}

impl FaultsServer for FaultyService {
    async fn explode(&self) -> String {
        panic!("the secret sauce is out");
    }

    async fn slow(&self) -> String {
        self.entered.notify_one();
        self.release.notified().await;
        "finally".to_owned()
    }

    async fn ping(&self) -> String {
        "pong".to_owned()
    }

    async fn poke(&self) -> String {
        "poked".to_owned()
    }
}

async fn faults_over_http() -> (TestServer, FaultsClient, FaultyService) {
    let service = FaultyService::default();
    let server = TestServer::start(service.clone().into_router()).await;
    let client = FaultsClient::new(&server.url()).unwrap();
    (server, client, service)
}

fn faults_in_process() -> (FaultsClient<InProcess>, FaultyService) {
    let service = FaultyService::default();
    let client = FaultsClient::with_transport(InProcess::new(service.clone().into_dispatcher()));
    (client, service)
}

async fn assert_panic_is_a_500_problem<T: Transport>(client: &FaultsClient<T>) {
    let error = within("a call", client.explode())
        .await
        .expect_err("the handler panics");
    let CallError::Problem(problem) = &error else {
        panic!("expected a problem document, got {error}");
    };
    assert_eq!(problem.status, 500);
    assert_eq!(problem.title, "Internal Server Error");
    assert!(
        !format!("{problem:?}").contains("secret sauce"),
        "the panic message stays on the server: {problem:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(
        within("the next call", client.ping())
            .await
            .expect("served"),
        "pong"
    );
}

#[tokio::test]
async fn a_panicking_handler_answers_500_and_the_server_goes_on() {
    let (server, client, _) = faults_over_http().await;
    assert_panic_is_a_500_problem(&client).await;
    assert_panic_is_a_500_problem(&client).await;

    let response = raw::send(server.addr(), raw::get("/explode")).await;
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.problem().status, 500);
    let response = raw::send(server.addr(), raw::get("/ping")).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json(), "pong");
}

#[tokio::test]
async fn a_panicking_handler_answers_500_in_process() {
    let (client, _) = faults_in_process();
    assert_panic_is_a_500_problem(&client).await;
}

async fn assert_times_out<T: Transport>(client: FaultsClient<T>) {
    let client = client.with_timeout(Duration::from_millis(100));
    assert_eq!(client.timeout(), Duration::from_millis(100));
    let error = within("a call with a 100 ms timeout", client.slow())
        .await
        .expect_err("the handler never answers");
    match &error {
        CallError::Timeout(after) => assert_eq!(*after, Duration::from_millis(100)),
        other => panic!("expected a timeout, got {other}"),
    }
    assert!(error.is_retryable());
    assert_eq!(
        within("the next call", client.ping())
            .await
            .expect("served"),
        "pong",
        "the client is usable after a timeout"
    );
}

#[tokio::test]
async fn a_slow_handler_times_out() {
    let (_server, client, _) = faults_over_http().await;
    assert_times_out(client).await;
}

#[tokio::test]
async fn a_slow_handler_times_out_in_process() {
    let (client, _) = faults_in_process();
    assert_times_out(client).await;
}

#[tokio::test]
async fn a_reply_body_that_never_ends_times_out() {
    let router = Router::new().route(
        "/ping",
        get(|| async {
            use futures_util::StreamExt;
            let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(
                bytes::Bytes::from_static(b"\"po"),
            )])
            .chain(futures_util::stream::pending());
            (
                [(http::header::CONTENT_TYPE, "application/json")],
                Body::from_stream(stream),
            )
        }),
    );
    let server = TestServer::start(router).await;
    let client = FaultsClient::new(&server.url())
        .unwrap()
        .with_timeout(Duration::from_millis(100));
    let error = within("a call", client.ping())
        .await
        .expect_err("no full reply");
    assert!(matches!(error, CallError::Timeout(_)), "{error}");
}

#[tokio::test]
async fn a_closed_port_is_a_connection_error() {
    let listener = bind_loopback().await;
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = FaultsClient::new(&format!("http://{addr}")).unwrap();
    let error = within("a call", client.ping())
        .await
        .expect_err("nothing listens");
    assert!(matches!(error, CallError::Connection(_)), "{error}");
    assert!(error.is_retryable());
    assert!(std::error::Error::source(&error).is_some());
}

/// A server that hangs up on the first connection after reading its
/// request, then answers every later one with `body`; it counts requests.
async fn flaky_server(body: &'static str) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = bind_loopback().await;
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = requests.clone();
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer).await;
            seen.fetch_add(1, Ordering::SeqCst);
            if std::mem::take(&mut first) {
                drop(stream);
                continue;
            }
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes()).await;
        }
    });
    (addr, requests)
}

#[tokio::test]
async fn an_idempotent_call_is_sent_again_after_a_connection_failure() {
    let (addr, requests) = flaky_server("\"pong\"").await;
    let client = FaultsClient::new(&format!("http://{addr}")).unwrap();
    assert_eq!(within("a GET", client.ping()).await.unwrap(), "pong");
    assert_eq!(requests.load(Ordering::SeqCst), 2, "sent twice");
}

#[tokio::test]
async fn a_call_that_is_not_idempotent_is_never_sent_again() {
    let (addr, requests) = flaky_server("\"poked\"").await;
    let client = FaultsClient::new(&format!("http://{addr}")).unwrap();
    let error = within("a POST", client.poke())
        .await
        .expect_err("the first connection fails");
    assert!(matches!(error, CallError::Connection(_)), "{error}");
    assert_eq!(requests.load(Ordering::SeqCst), 1, "sent once");
}

#[tokio::test]
async fn a_connection_closed_before_the_reply_is_a_connection_error() {
    let listener = bind_loopback().await;
    let addr = listener.local_addr().unwrap();
    let closer = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            drop(stream);
        }
    });
    let client = FaultsClient::new(&format!("http://{addr}")).unwrap();
    let error = within("a call", client.ping())
        .await
        .expect_err("the peer hangs up");
    assert!(matches!(error, CallError::Connection(_)), "{error}");
    closer.abort();
}

/// A server that is not an accord service: it answers `/ping` with `status`,
/// `content_type` and `body`.
async fn foreign_server(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
) -> TestServer {
    let router = Router::new().route(
        "/ping",
        get(move || {
            let body = body.clone();
            async move { (status, [(http::header::CONTENT_TYPE, content_type)], body) }
        }),
    );
    TestServer::start(router).await
}

async fn ping_foreign(server: &TestServer) -> CallError<accord::NoError> {
    let client = FaultsClient::new(&server.url()).unwrap();
    within("a call", client.ping())
        .await
        .expect_err("the answer does not follow the contract")
}

#[tokio::test]
async fn an_unexpected_status_with_text_is_a_protocol_error() {
    let server = foreign_server(
        StatusCode::SERVICE_UNAVAILABLE,
        "text/plain",
        b"upstream exploded".to_vec(),
    )
    .await;
    match ping_foreign(&server).await {
        CallError::Protocol(e) => {
            assert_eq!(e.status, Some(503));
            assert_eq!(e.body_excerpt, "upstream exploded");
            assert!(e.to_string().contains("upstream exploded"), "{e}");
        }
        other => panic!("expected a protocol error, got {other}"),
    }

    let server = foreign_server(StatusCode::FOUND, "text/html", b"<a>moved</a>".to_vec()).await;
    match ping_foreign(&server).await {
        CallError::Protocol(e) => {
            assert_eq!(e.status, Some(302));
            assert_eq!(e.body_excerpt, "<a>moved</a>");
        }
        other => panic!("expected a protocol error, got {other}"),
    }
}

#[tokio::test]
async fn an_undecodable_success_body_is_a_protocol_error() {
    for (content_type, body) in [
        ("text/plain", "pong, but not JSON"),
        ("application/json", r#"{"not": "a string"}"#),
        ("application/json", ""),
    ] {
        let server = foreign_server(StatusCode::OK, content_type, body.as_bytes().to_vec()).await;
        match ping_foreign(&server).await {
            CallError::Protocol(e) => {
                assert_eq!(e.status, Some(200));
                assert!(e.reason.contains("undecodable reply body"), "{e}");
                assert_eq!(e.body_excerpt, body);
            }
            other => panic!("{body:?}: expected a protocol error, got {other}"),
        }
    }
}

#[tokio::test]
async fn a_json_error_that_is_no_problem_document_is_a_protocol_error() {
    let server = foreign_server(
        StatusCode::NOT_FOUND,
        "application/json",
        br#"{"message": "no such thing"}"#.to_vec(),
    )
    .await;
    match ping_foreign(&server).await {
        CallError::Protocol(e) => {
            assert_eq!(e.status, Some(404));
            assert!(e.reason.contains("problem document"), "{e}");
            assert!(e.body_excerpt.contains("no such thing"));
        }
        other => panic!("expected a protocol error, got {other}"),
    }
}

#[tokio::test]
async fn a_long_body_is_cut_to_an_excerpt() {
    let body = "é".repeat(5_000);
    let server = foreign_server(StatusCode::BAD_GATEWAY, "text/plain", body.into_bytes()).await;
    match ping_foreign(&server).await {
        CallError::Protocol(e) => {
            assert!(e.body_excerpt.len() <= 512 + 3, "{}", e.body_excerpt.len());
            assert!(e.body_excerpt.starts_with("ééé"));
        }
        other => panic!("expected a protocol error, got {other}"),
    }
}

#[tokio::test]
async fn a_reply_over_the_client_limit_is_a_protocol_error() {
    let body = format!("\"{}\"", "x".repeat(4096));
    let server = foreign_server(
        StatusCode::OK,
        "application/json",
        body.clone().into_bytes(),
    )
    .await;
    let transport = accord::HttpTransport::new(&server.url())
        .unwrap()
        .reply_limit(1024);
    let client = FaultsClient::with_transport(transport);
    match within("a call", client.ping()).await {
        Err(CallError::Protocol(e)) => {
            assert_eq!(e.status, Some(200));
            assert!(e.reason.contains("larger than 1024 bytes"), "{e}");
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    let roomy = FaultsClient::new(&server.url()).unwrap();
    assert_eq!(within("a call", roomy.ping()).await.unwrap().len(), 4096);
}

#[tokio::test]
async fn a_foreign_problem_document_is_a_problem() {
    let server = foreign_server(
        StatusCode::BAD_GATEWAY,
        "application/problem+json",
        br#"{"type": "about:blank", "title": "Bad Gateway", "status": 502, "detail": "upstream"}"#
            .to_vec(),
    )
    .await;
    match ping_foreign(&server).await {
        CallError::Problem(p) => {
            assert_eq!(p.status, 502);
            assert_eq!(p.detail.as_deref(), Some("upstream"));
        }
        other => panic!("expected a problem, got {other}"),
    }
}

/// Waits until `addr` refuses connections: the server has stopped accepting.
async fn wait_until_refused(addr: std::net::SocketAddr) {
    within("new connections to be refused", async {
        loop {
            match TcpStream::connect(addr).await {
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => break,
                // Queued by the kernel just before the listener closed.
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
                Err(e) => panic!("unexpected connect error: {e}"),
                Ok(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_the_request_in_flight() {
    let (mut server, client, service) = faults_over_http().await;
    let addr = server.addr();
    let in_flight = tokio::spawn(async move { client.slow().await });
    within("the slow handler to start", service.entered.notified()).await;

    server.begin_shutdown();
    wait_until_refused(addr).await;
    assert!(
        !in_flight.is_finished(),
        "the slow request is still running"
    );

    service.release.notify_one();
    let answer = within("the request in flight", in_flight)
        .await
        .expect("no panic");
    assert_eq!(answer.expect("the request in flight completes"), "finally");
    server.shutdown().await.expect("the server stops cleanly");

    let late = FaultsClient::new(&format!("http://{addr}")).unwrap();
    let error = within("a call after shutdown", late.ping())
        .await
        .expect_err("the server is gone");
    assert!(matches!(error, CallError::Connection(_)), "{error}");
}

#[tokio::test]
async fn graceful_shutdown_reports_the_status_of_the_request_in_flight() {
    let service = FaultyService::default();
    let mut server = TestServer::start(service.clone().into_router()).await;
    let addr = server.addr();
    let in_flight = tokio::spawn(async move { raw::send(addr, raw::get("/slow")).await });
    within("the slow handler to start", service.entered.notified()).await;
    server.begin_shutdown();
    wait_until_refused(addr).await;
    service.release.notify_one();
    let response = within("the request in flight", in_flight).await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json(), "finally");
    server.shutdown().await.expect("the server stops cleanly");
}
