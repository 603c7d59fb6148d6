//! Deadlines that travel: the client sends its time left (`accord-timeout`)
//! over HTTP, in process and in broker request headers; the server puts
//! the deadline in the handler's context, refuses a call that arrives with
//! no time left, stops a handler still running at the deadline, and a
//! client inside a handler never waits past the deadline of the call it
//! serves.

use std::sync::atomic::Ordering;
use std::time::Duration;

use accord::broker::nats::NatsBroker;
use accord::deadline::{DEADLINE_EXCEEDED, TIMEOUT_HEADER};
use accord::wire::{Call, Reply};
use accord::{
    serve_requests, BrokerTransport, CallError, HttpServer, InProcess, MemoryBroker, Problem,
    Transport,
};
use accord_tests::hops::{HopServer, HopsClient, HopsServer};
use accord_tests::raw;
use accord_tests::{within, TestServer};
use http::{HeaderValue, Method};

/// The client's timeout in these tests.
const TIMEOUT: Duration = Duration::from_secs(2);

/// A `seen` call over `client` reports a deadline within the client's
/// timeout: the time left travelled with the call.
async fn check_time_left<T: Transport>(transport: &str, client: &HopsClient<T>) {
    let seen = within(transport, client.seen(&None))
        .await
        .unwrap_or_else(|e| panic!("{transport}: {e}"));
    let left = seen
        .remaining_ms
        .unwrap_or_else(|| panic!("{transport}: the handler's context has no deadline"));
    assert!(
        left <= TIMEOUT.as_millis() as u64 && left > 1000,
        "{transport}: {left} ms left of a {TIMEOUT:?} timeout"
    );
    assert!(seen.current_matches, "{transport}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_left_reaches_the_handler_over_every_transport() {
    let dispatcher = HopServer::default().into_dispatcher();

    let http = TestServer::start(HttpServer::new(dispatcher.clone()).into_router()).await;
    let client = HopsClient::new(&http.url()).unwrap().with_timeout(TIMEOUT);
    check_time_left("HTTP", &client).await;

    let client =
        HopsClient::with_transport(InProcess::new(dispatcher.clone())).with_timeout(TIMEOUT);
    check_time_left("in process", &client).await;

    let broker = MemoryBroker::new();
    let requests = serve_requests(broker.clone(), dispatcher).await.unwrap();
    let client = HopsClient::with_transport(BrokerTransport::new(broker)).with_timeout(TIMEOUT);
    check_time_left("the memory broker", &client).await;
    requests.shutdown().await;

    // A caller that sends no deadline leaves the handler without one.
    let response = raw::send(http.addr(), raw::get("/seen")).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["remaining_ms"], serde_json::Value::Null);
}

/// NATS at `ACCORD_NATS_URL` (default `nats://127.0.0.1:4222`), or `None`
/// after saying why, except on CI (`CI` set), where it fails.
async fn nats() -> Option<NatsBroker> {
    let url =
        std::env::var("ACCORD_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    match within("connecting to NATS", NatsBroker::connect(&url)).await {
        Ok(broker) => Some(broker),
        Err(error) if std::env::var_os("CI").is_some() => {
            panic!("CI needs NATS at {url} (ACCORD_NATS_URL): {error}")
        }
        Err(error) => {
            println!("skipped: no NATS at {url} (set ACCORD_NATS_URL): {error}");
            None
        }
    }
}

/// Another run serving `hops` on the same server may answer some of these
/// requests (the subject is the contract's); it answers them the same way,
/// so the checks hold either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_left_travels_over_nats_request_reply() {
    let Some(broker) = nats().await else {
        return;
    };
    let server = HopServer::default();
    let dispatcher = server.clone().into_dispatcher();
    let requests = serve_requests(broker.clone(), dispatcher.clone())
        .await
        .unwrap();
    let client =
        HopsClient::with_transport(BrokerTransport::new(broker.clone())).with_timeout(TIMEOUT);
    check_time_left("NATS", &client).await;

    let handled = server.handled.load(Ordering::SeqCst);
    let reply = within(
        "a NATS request past its deadline",
        BrokerTransport::new(broker).send(&dispatcher.routes()[0], expired_call(), TIMEOUT),
    )
    .await
    .unwrap();
    assert_deadline_exceeded("NATS", &reply);
    assert_eq!(server.handled.load(Ordering::SeqCst), handled);
    requests.shutdown().await;
}

fn expired_call() -> Call {
    let mut call = Call::new();
    call.headers_mut()
        .insert(TIMEOUT_HEADER, HeaderValue::from_static("0"));
    call
}

fn assert_deadline_exceeded(transport: &str, reply: &Reply) {
    assert_eq!(reply.status, 504, "{transport}");
    let problem: Problem = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(problem.type_, DEADLINE_EXCEEDED, "{transport}");
    assert_eq!(problem.title, "Deadline Exceeded", "{transport}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_arriving_with_no_time_left_does_not_run_its_handler() {
    let server = HopServer::default();
    let dispatcher = server.clone().into_dispatcher();
    let seen = &dispatcher.routes()[0];
    assert_eq!(seen.operation, "seen");

    let http = TestServer::start(HttpServer::new(dispatcher.clone()).into_router()).await;
    let mut request = raw::get("/seen");
    request
        .headers_mut()
        .insert(TIMEOUT_HEADER, HeaderValue::from_static("0"));
    let response = raw::send(http.addr(), request).await;
    assert_eq!(response.status, 504);
    assert_eq!(response.content_type(), "application/problem+json");
    assert_eq!(response.problem().type_, DEADLINE_EXCEEDED);

    let reply = within(
        "in process",
        dispatcher.dispatch(seen.index, expired_call()),
    )
    .await;
    assert_deadline_exceeded("in process", &reply);

    let broker = MemoryBroker::new();
    let requests = serve_requests(broker.clone(), dispatcher).await.unwrap();
    let reply = within(
        "the memory broker",
        BrokerTransport::new(broker).send(seen, expired_call(), TIMEOUT),
    )
    .await
    .unwrap();
    assert_deadline_exceeded("the memory broker", &reply);
    requests.shutdown().await;

    assert_eq!(
        server.handled.load(Ordering::SeqCst),
        0,
        "no handler ran for a call past its deadline"
    );
}

#[tokio::test]
async fn a_malformed_timeout_is_a_400_naming_the_header() {
    let http = TestServer::start(HopServer::default().into_router()).await;
    for bad in ["soon", "-1", "1.5", "123456789", "1e3", "0x10"] {
        let mut request = raw::get("/seen");
        request
            .headers_mut()
            .insert(TIMEOUT_HEADER, HeaderValue::from_str(bad).unwrap());
        let response = raw::send(http.addr(), request).await;
        assert_eq!(response.status, 400, "{bad:?}: {}", response.text());
        let problem = response.problem();
        assert_eq!(problem.errors.len(), 1, "{bad:?}");
        assert_eq!(problem.errors[0].field, TIMEOUT_HEADER, "{bad:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_still_running_at_the_deadline_is_stopped_and_answered_504() {
    let server = HopServer::default();
    let http = TestServer::start(server.clone().into_router()).await;
    let mut request = raw::json(Method::POST, "/wait", "1500");
    request
        .headers_mut()
        .insert(TIMEOUT_HEADER, HeaderValue::from_static("100"));
    let response = raw::send(http.addr(), request).await;
    assert_eq!(response.status, 504, "{}", response.text());
    assert_eq!(response.problem().type_, DEADLINE_EXCEEDED);
    assert_eq!(server.handled.load(Ordering::SeqCst), 1);

    // Past the time the wait would have taken, it still has not finished:
    // the handler was dropped, not left running.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_eq!(server.finished_waits.load(Ordering::SeqCst), 0);

    // The typed client gives up at its own timeout, and so does the server.
    let client = HopsClient::new(&http.url())
        .unwrap()
        .with_timeout(Duration::from_millis(100));
    match within("a call that outlives its timeout", client.wait(&1500)).await {
        Err(CallError::Timeout(timeout)) => assert_eq!(timeout, Duration::from_millis(100)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_eq!(server.finished_waits.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_of_three_services_never_works_past_the_first_callers_deadline() {
    // C, reached by B over HTTP with a generous timeout of its own.
    let c = TestServer::start(HopServer::default().into_router()).await;
    let to_c = HopsClient::new(&c.url())
        .unwrap()
        .with_timeout(Duration::from_secs(30));
    // B, reached by A over the memory broker, again with 30 s of its own.
    let broker = MemoryBroker::new();
    let b = serve_requests(broker.clone(), HopServer::with_next(to_c).into_dispatcher())
        .await
        .unwrap();
    let to_b = HopsClient::with_transport(BrokerTransport::new(broker.clone()))
        .with_timeout(Duration::from_secs(30));
    // A, called over HTTP by a caller with 2 s.
    let a = TestServer::start(HopServer::with_next(to_b).into_router()).await;
    let caller = HopsClient::new(&a.url()).unwrap().with_timeout(TIMEOUT);

    let hops = within("the chain", caller.relay(&3)).await.unwrap();
    assert_eq!(hops.len(), 3, "{hops:?}");
    let left: Vec<u64> = hops
        .iter()
        .map(|h| h.expect("every hop has a deadline"))
        .collect();
    assert!(
        left[0] <= TIMEOUT.as_millis() as u64,
        "A has at most the caller's time: {left:?}"
    );
    assert!(
        left[1] <= left[0] && left[2] <= left[1],
        "each hop has no more time than the one before: {left:?}"
    );
    assert!(left[2] > 0, "{left:?}");
    b.shutdown().await;
}

#[tokio::test]
async fn a_call_made_with_no_time_left_fails_without_being_sent() {
    let server = HopServer::default();
    let client = HopsClient::with_transport(InProcess::new(server.clone().into_dispatcher()));
    let mut context = accord::Context::new();
    context.shorten_deadline(tokio::time::Instant::now());
    let outcome = context.scope(client.seen(&None)).await;
    assert!(
        matches!(outcome, Err(CallError::Timeout(d)) if d.is_zero()),
        "{outcome:?}"
    );
    assert_eq!(server.handled.load(Ordering::SeqCst), 0);
}
