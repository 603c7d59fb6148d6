//! The client's defences over real loopback HTTP, against an orders server
//! that can be told to fail, to throttle or to be slow: the circuit breaker
//! opens, fails calls without sending them and closes again; retries stay
//! within their budget, honour `Retry-After` and never pass the call's
//! deadline; the bulkhead makes one call too many wait, then fail.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use accord::error::RetryClass;
use accord::resilience::{BreakerSettings, BulkheadSettings, CircuitState, RetrySettings};
use accord::{CallError, HttpTransport, HttpTransportBuilder};
use accord_tests::scenarios::pickup_order;
use accord_tests::{within, TestServer};
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use orders_contract::{OrderError, OrderId, OrdersClient, OrdersServer};
use orders_server::InMemoryOrders;

/// What the server does with the next request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Serves it.
    Healthy,
    /// Answers with this status, and this `Retry-After` in seconds if any.
    Fail(u16, Option<u64>),
    /// Serves it after this long.
    Slow(Duration),
    /// Answers 503 after this long.
    SlowFail(Duration),
}

/// An orders server whose behaviour a test changes as it goes, and what
/// reached it.
#[derive(Clone)]
struct Target {
    plan: Arc<Mutex<Vec<Mode>>>,
    hits: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    arrivals: Arc<Mutex<Vec<Instant>>>,
    /// The headers of each request, in arrival order.
    headers: Arc<Mutex<Vec<http::HeaderMap>>>,
}

impl Target {
    /// A server that behaves as `modes` says, one request each, then as the
    /// last one for good.
    async fn start(modes: &[Mode]) -> (Target, TestServer) {
        let target = Target {
            plan: Arc::new(Mutex::new(modes.iter().rev().copied().collect())),
            hits: Arc::default(),
            in_flight: Arc::default(),
            arrivals: Arc::default(),
            headers: Arc::default(),
        };
        let state = target.clone();
        let router = InMemoryOrders::new()
            .into_router()
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                let state = state.clone();
                async move { state.answer(request, next).await }
            }));
        (target, TestServer::start(router).await)
    }

    fn set(&self, mode: Mode) {
        *self.plan.lock().unwrap() = vec![mode];
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    async fn answer(&self, request: Request, next: Next) -> Response {
        self.hits.fetch_add(1, Ordering::SeqCst);
        self.arrivals.lock().unwrap().push(Instant::now());
        self.headers.lock().unwrap().push(request.headers().clone());
        let mode = {
            let mut plan = self.plan.lock().unwrap();
            if plan.len() > 1 {
                plan.pop().unwrap()
            } else {
                plan[0]
            }
        };
        match mode {
            Mode::Healthy => next.run(request).await,
            Mode::Fail(status, retry_after) => {
                let status = StatusCode::from_u16(status).unwrap();
                match retry_after {
                    Some(seconds) => {
                        (status, [("retry-after", seconds.to_string())], "failing").into_response()
                    }
                    None => (status, "failing").into_response(),
                }
            }
            Mode::SlowFail(delay) => {
                tokio::time::sleep(delay).await;
                (StatusCode::SERVICE_UNAVAILABLE, "failing").into_response()
            }
            Mode::Slow(delay) => {
                self.in_flight.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                next.run(request).await
            }
        }
    }
}

/// A transport with the defences turned off, for a test to turn on the
/// one it is about.
fn bare(server: &TestServer) -> HttpTransportBuilder {
    HttpTransport::builder(&server.url())
        .circuit_breaker(None)
        .retries(None)
        .bulkhead(None)
}

fn orders_client(transport: HttpTransportBuilder) -> OrdersClient {
    OrdersClient::with_transport(transport.build().unwrap())
}

fn small_breaker() -> BreakerSettings {
    BreakerSettings::default()
        .min_calls(4)
        .failure_rate(0.5)
        .cool_down(Duration::from_millis(300))
        .probes(2)
}

#[tokio::test]
async fn the_breaker_opens_fails_at_once_and_closes_after_probes() {
    let (target, server) = Target::start(&[Mode::Fail(503, None)]).await;
    let client = orders_client(bare(&server).circuit_breaker(small_breaker()));
    assert_eq!(
        client.transport().circuit_state(),
        Some(CircuitState::Closed)
    );
    for _ in 0..4 {
        let error = within("health", client.health()).await.unwrap_err();
        assert!(error.retry_class().counts_as_failure(), "{error}");
    }
    let Some(CircuitState::Open { retry_in }) = client.transport().circuit_state() else {
        panic!("4 failures of 4 calls open the circuit");
    };
    assert!(retry_in <= Duration::from_millis(300), "{retry_in:?}");

    // Open: the call fails at once, is not sent, and says when to come back.
    let error = within("health", client.health()).await.unwrap_err();
    let CallError::CircuitOpen(open) = &error else {
        panic!("expected an open circuit, got {error}");
    };
    assert_eq!(&*open.target, server.url().trim_end_matches('/'));
    assert!(open.retry_in > Duration::ZERO && open.retry_in <= Duration::from_millis(300));
    assert!(error.to_string().contains("is open"), "{error}");
    assert!(matches!(
        error.retry_class(),
        RetryClass::NotSent {
            retry_after: Some(_)
        }
    ));
    assert_eq!(target.hits(), 4, "an open circuit sends nothing");

    // After the cool-down a probe goes through; it fails: open again.
    tokio::time::sleep(Duration::from_millis(320)).await;
    assert_eq!(
        client.transport().circuit_state(),
        Some(CircuitState::HalfOpen)
    );
    let error = within("health", client.health()).await.unwrap_err();
    assert!(error.retry_class().counts_as_failure(), "{error}");
    assert_eq!(target.hits(), 5);
    assert!(matches!(
        client.transport().circuit_state(),
        Some(CircuitState::Open { .. })
    ));

    // The target heals: two probes succeed and the circuit closes.
    target.set(Mode::Healthy);
    tokio::time::sleep(Duration::from_millis(320)).await;
    within("health", client.health()).await.unwrap();
    assert_eq!(
        client.transport().circuit_state(),
        Some(CircuitState::HalfOpen)
    );
    within("health", client.health()).await.unwrap();
    assert_eq!(
        client.transport().circuit_state(),
        Some(CircuitState::Closed)
    );
    assert_eq!(target.hits(), 7);
}

#[tokio::test]
async fn clones_of_a_transport_share_its_breaker() {
    let (_target, server) = Target::start(&[Mode::Fail(500, None)]).await;
    let transport = bare(&server)
        .circuit_breaker(small_breaker())
        .build()
        .unwrap();
    let first = OrdersClient::with_transport(transport.clone());
    let second = OrdersClient::with_transport(transport);
    for _ in 0..2 {
        within("health", first.health()).await.unwrap_err();
        within("health", second.health()).await.unwrap_err();
    }
    let error = within("health", second.health()).await.unwrap_err();
    assert!(matches!(error, CallError::CircuitOpen(_)), "{error}");
}

#[tokio::test]
async fn typed_errors_4xx_and_429_never_open_the_circuit() {
    let (target, server) = Target::start(&[Mode::Healthy]).await;
    let client = orders_client(bare(&server).circuit_breaker(small_breaker()));
    for _ in 0..10 {
        let error = within("get_order", client.get_order(&OrderId(404)))
            .await
            .unwrap_err();
        assert!(
            matches!(error, CallError::Service(OrderError::NotFound { .. })),
            "{error}"
        );
    }
    target.set(Mode::Fail(404, None));
    for _ in 0..10 {
        within("health", client.health()).await.unwrap_err();
    }
    target.set(Mode::Fail(429, None));
    for _ in 0..10 {
        within("health", client.health()).await.unwrap_err();
    }
    assert_eq!(
        client.transport().circuit_state(),
        Some(CircuitState::Closed)
    );
    assert_eq!(target.hits(), 30);
}

#[tokio::test]
async fn a_connection_refused_target_opens_the_circuit() {
    let server = TestServer::start(InMemoryOrders::new().into_router()).await;
    let url = server.url();
    drop(server);
    let client = orders_client(
        HttpTransport::builder(&url)
            .retries(None)
            .bulkhead(None)
            .circuit_breaker(small_breaker()),
    );
    // Without a retry policy an idempotent call is still sent twice after
    // a connection failure, and both attempts count: two calls, four
    // failures.
    for _ in 0..2 {
        let error = within("health", client.health()).await.unwrap_err();
        assert!(matches!(error, CallError::Connection(_)), "{error}");
    }
    let error = within("health", client.health()).await.unwrap_err();
    assert!(matches!(error, CallError::CircuitOpen(_)), "{error}");
}

#[tokio::test]
async fn retries_stay_within_the_budget_under_a_failing_server() {
    let (target, server) = Target::start(&[Mode::Fail(503, None)]).await;
    // One retry per ten calls, no reserve.
    let retries = RetrySettings::default()
        .max_attempts(5)
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .budget(0.1, 0, Duration::from_secs(10));
    let client = orders_client(bare(&server).retries(retries));
    for _ in 0..50 {
        let error = within("health", client.health()).await.unwrap_err();
        assert!(
            matches!(
                error.retry_class(),
                RetryClass::ServerError { status: 503, .. }
            ),
            "{error}"
        );
    }
    let hits = target.hits();
    assert!(
        (51..=55).contains(&hits),
        "50 calls may add at most 5 retries, and did add some: {hits} requests"
    );

    // Without a budget to speak of, each call is sent max_attempts times.
    let (target, server) = Target::start(&[Mode::Fail(503, None)]).await;
    let retries = RetrySettings::default()
        .max_attempts(3)
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .budget(1.0, 1000, Duration::from_secs(10));
    let client = orders_client(bare(&server).retries(retries));
    for _ in 0..5 {
        within("health", client.health()).await.unwrap_err();
    }
    assert_eq!(target.hits(), 15);
}

#[tokio::test]
async fn only_idempotent_calls_are_retried() {
    let (target, server) = Target::start(&[Mode::Fail(503, None)]).await;
    let retries = RetrySettings::default()
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .budget(1.0, 1000, Duration::from_secs(10));
    let client = orders_client(bare(&server).retries(retries));
    let error = within(
        "place_order",
        client.place_order(&pickup_order("kim", "apple", 1)),
    )
    .await
    .unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert_eq!(target.hits(), 1, "a POST is sent once");
    within("health", client.health()).await.unwrap_err();
    assert_eq!(target.hits(), 4, "a GET is sent three times");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (target, server) = Target::start(&[Mode::Fail(503, Some(1)), Mode::Healthy]).await;
    let retries =
        RetrySettings::default().backoff(Duration::from_millis(1), Duration::from_millis(2));
    let client = orders_client(bare(&server).retries(retries));
    within("health", client.health()).await.unwrap();
    let arrivals = target.arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 2);
    let gap = arrivals[1] - arrivals[0];
    assert!(
        gap >= Duration::from_secs(1),
        "the retry came {gap:?} after a Retry-After of 1 s"
    );

    // 429 too.
    let (target, server) = Target::start(&[Mode::Fail(429, Some(1)), Mode::Healthy]).await;
    let client = self::orders_client(bare(&server).retries(retries));
    within("health", client.health()).await.unwrap();
    let arrivals = target.arrivals.lock().unwrap().clone();
    assert!(arrivals[1] - arrivals[0] >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_retry_sends_the_same_headers_with_its_own_time_left() {
    // The retry waits the second the 503 asks for.
    let (target, server) = Target::start(&[Mode::Fail(503, Some(1)), Mode::Healthy]).await;
    let retries =
        RetrySettings::default().backoff(Duration::from_millis(1), Duration::from_millis(2));
    let client = orders_client(bare(&server).retries(retries));
    // Order 7 is not there: the outcome of the retry is no matter here.
    let _outcome = within(
        "cancel_order",
        client.cancel_order(&OrderId(7), &Some("key-7".to_owned())),
    )
    .await;
    let sent = target.headers.lock().unwrap().clone();
    assert_eq!(sent.len(), 2, "the DELETE is sent again after the 503");
    for name in ["idempotency-key", "traceparent"] {
        assert!(
            sent[0].get(name).is_some(),
            "the first attempt sends {name}"
        );
        assert_eq!(
            sent[0].get_all(name).iter().collect::<Vec<_>>(),
            sent[1].get_all(name).iter().collect::<Vec<_>>(),
            "the retry sends the same {name}"
        );
    }
    assert_eq!(sent[0]["idempotency-key"], "key-7");
    let left = |headers: &http::HeaderMap| -> u64 {
        let values: Vec<_> = headers.get_all("accord-timeout").iter().collect();
        assert_eq!(values.len(), 1, "one accord-timeout per attempt");
        values[0].to_str().unwrap().parse().unwrap()
    };
    let (first, second) = (left(&sent[0]), left(&sent[1]));
    assert!(
        first <= 30_000 && second + 900 <= first,
        "each attempt sends the time it has left: {first} ms, then {second} ms a second later"
    );
}

#[tokio::test]
async fn retries_never_pass_the_deadline() {
    // A Retry-After longer than the time left: the error comes back at once.
    let (target, server) = Target::start(&[Mode::Fail(503, Some(5))]).await;
    let client = orders_client(bare(&server).retries(RetrySettings::default()))
        .with_timeout(Duration::from_secs(2));
    let started = Instant::now();
    let error = within("health", client.health()).await.unwrap_err();
    assert!(
        matches!(
            error.retry_class(),
            RetryClass::ServerError { status: 503, .. }
        ),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "it did not wait"
    );
    assert_eq!(target.hits(), 1);

    // Slow failures: the attempts end by the call's timeout, with its
    // timeout or with the last failure when no retry fits in the time left.
    let (target, server) = Target::start(&[Mode::SlowFail(Duration::from_millis(300))]).await;
    let retries = RetrySettings::default()
        .max_attempts(100)
        .backoff(Duration::from_millis(200), Duration::from_millis(200))
        .budget(1.0, 1000, Duration::from_secs(10));
    let client =
        orders_client(bare(&server).retries(retries)).with_timeout(Duration::from_millis(900));
    let started = Instant::now();
    let error = within("health", client.health()).await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(
            error.retry_class(),
            RetryClass::Timeout | RetryClass::ServerError { status: 503, .. }
        ),
        "{error}"
    );
    assert!(took < Duration::from_millis(1000), "{took:?}");
    let hits = target.hits();
    assert!((2..=3).contains(&hits), "{hits} attempts in 900 ms");
}

#[tokio::test]
async fn the_bulkhead_makes_one_call_too_many_wait_then_fail() {
    let (target, server) = Target::start(&[Mode::Slow(Duration::from_millis(500))]).await;
    let bulkhead = BulkheadSettings::default()
        .max_concurrent(2)
        .max_wait(Duration::from_millis(50));
    let client = orders_client(bare(&server).bulkhead(bulkhead));
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.health().await })
        })
        .collect();
    within("two slow calls in flight", async {
        while target.in_flight.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(client.transport().in_flight(), Some(2));
    let started = Instant::now();
    let error = within("health", client.health()).await.unwrap_err();
    let waited = started.elapsed();
    let CallError::BulkheadFull(full) = &error else {
        panic!("expected a full bulkhead, got {error}");
    };
    assert_eq!(full.max_concurrent, 2);
    assert!(error.to_string().contains("2 calls to"), "{error}");
    assert!(
        waited >= Duration::from_millis(50) && waited < Duration::from_millis(400),
        "{waited:?}"
    );
    assert_eq!(target.hits(), 2, "the third call was not sent");
    for call in slow {
        within("a slow call", call).await.unwrap().unwrap();
    }
    assert_eq!(client.transport().in_flight(), Some(0));
    within("health", client.health()).await.unwrap();
}

#[tokio::test]
async fn defaults_keep_every_defence_on() {
    let (_target, server) = Target::start(&[Mode::Healthy]).await;
    let client = OrdersClient::new(&server.url()).unwrap();
    assert_eq!(
        client.transport().circuit_state(),
        Some(CircuitState::Closed)
    );
    assert_eq!(client.transport().in_flight(), Some(0));
    within("health", client.health()).await.unwrap();
    let off = client_off(&server);
    assert_eq!(off.transport().circuit_state(), None);
    assert_eq!(off.transport().in_flight(), None);
}

fn client_off(server: &TestServer) -> OrdersClient {
    orders_client(
        HttpTransport::builder(&server.url()).defences(accord::resilience::DefenceSettings::off()),
    )
}

/// Records the breaker's events: their message and `target_url`.
#[derive(Clone, Default)]
struct CircuitEvents(Arc<Mutex<Vec<(String, String)>>>);

#[derive(Default)]
struct Fields {
    message: String,
    target_url: String,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "target_url" => self.target_url = format!("{value:?}"),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CircuitEvents {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "accord::circuit" {
            let mut fields = Fields::default();
            event.record(&mut fields);
            self.0
                .lock()
                .unwrap()
                .push((fields.message, fields.target_url));
        }
    }
}

#[tokio::test]
async fn each_change_of_the_circuit_is_a_tracing_event_naming_the_target() {
    use tracing_subscriber::layer::SubscriberExt;
    let events = CircuitEvents::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(events.clone()));
    let (target, server) = Target::start(&[Mode::Fail(502, None)]).await;
    let client = orders_client(bare(&server).circuit_breaker(small_breaker().probes(1)));
    for _ in 0..4 {
        within("health", client.health()).await.unwrap_err();
    }
    target.set(Mode::Healthy);
    tokio::time::sleep(Duration::from_millis(320)).await;
    within("health", client.health()).await.unwrap();
    let url = server.url().trim_end_matches('/').to_owned();
    let recorded = events.0.lock().unwrap().clone();
    let messages: Vec<&str> = recorded.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "circuit opened",
            "circuit half-open: sending probes",
            "circuit closed"
        ]
    );
    assert!(recorded.iter().all(|(_, t)| *t == url), "{recorded:?}");
}

#[tokio::test]
async fn a_retry_the_breaker_refuses_ends_with_the_failure_before_it() {
    let (target, server) = Target::start(&[Mode::Fail(503, None)]).await;
    let retries = RetrySettings::default()
        .max_attempts(5)
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .budget(1.0, 1000, Duration::from_secs(10));
    let client = orders_client(
        bare(&server)
            .retries(retries)
            .circuit_breaker(small_breaker().min_calls(2)),
    );
    // Two attempts fail and open the circuit; the third is refused, and
    // the caller learns of the 503, not of its own breaker.
    let error = within("health", client.health()).await.unwrap_err();
    assert!(
        matches!(
            error.retry_class(),
            RetryClass::ServerError { status: 503, .. }
        ),
        "{error}"
    );
    assert_eq!(target.hits(), 2);
    let error = within("health", client.health()).await.unwrap_err();
    assert!(matches!(error, CallError::CircuitOpen(_)), "{error}");
    assert_eq!(target.hits(), 2);
}
