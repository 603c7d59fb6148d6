//! One interceptor, written once as a tower layer, wraps the calls of a
//! server over HTTP, in process and over a broker's request/reply alike; a
//! subscriber's layer wraps its event handlers. Each sees the call's
//! context before the handler, can refuse it, and sees the reply after.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use accord::broker::{Delivery, Subscribe, Subscription, DEAD_LETTER_REASON};
use accord::events::Backoff;
use accord::wire::{Call, Reply};
use accord::{
    serve_requests, BrokerTransport, CallError, EventCall, HttpServer, InProcess, MemoryBroker,
    Problem, Subscriber, Transport,
};
use accord_tests::hops::{HopServer, HopsClient, HopsPublisher, HopsServer, Seen, Tenant};
use accord_tests::{within, TestServer};
use futures_util::future::BoxFuture;
use tower::{BoxError, Layer, Service};

/// What the interceptor saw: the operation and the status it answered.
type Log = Arc<Mutex<Vec<(String, u16)>>>;

/// Refuses calls without an `x-tenant` header with a 403 problem; puts the
/// tenant of the others in the context, and logs every reply's status.
#[derive(Clone, Default)]
struct RequireTenant {
    log: Log,
}

impl<S> Layer<S> for RequireTenant {
    type Service = RequireTenantService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireTenantService {
            inner,
            log: self.log.clone(),
        }
    }
}

#[derive(Clone)]
struct RequireTenantService<S> {
    inner: S,
    log: Log,
}

impl<S> Service<Call> for RequireTenantService<S>
where
    S: Service<Call, Response = Reply, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Reply;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Reply, Infallible>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut call: Call) -> Self::Future {
        let operation = call.context().operation().unwrap_or("?").to_owned();
        let log = self.log.clone();
        let tenant = call
            .headers()
            .get("x-tenant")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let Some(tenant) = tenant else {
            log.lock().unwrap().push((operation, 403));
            let problem = Problem::new(403, "Forbidden").with_detail("a tenant is required");
            return Box::pin(std::future::ready(Ok(Reply::problem(&problem))));
        };
        call.context_mut().extensions_mut().insert(Tenant(tenant));
        let reply = self.inner.call(call);
        Box::pin(async move {
            let reply = reply.await?;
            log.lock().unwrap().push((operation, reply.status));
            Ok(reply)
        })
    }
}

/// The same checks over any transport: a call without a tenant is refused
/// before the handler, one with a tenant reaches it with the tenant in its
/// context, and the interceptor saw both replies.
async fn check_interceptor<T: Transport>(
    transport: &str,
    client: &HopsClient<T>,
    server: &HopServer,
    log: &Log,
) {
    let handled = server.handled.load(Ordering::SeqCst);
    match within(transport, client.seen(&None)).await {
        Err(CallError::Problem(problem)) => {
            assert_eq!(problem.status, 403, "{transport}");
            assert_eq!(
                problem.detail.as_deref(),
                Some("a tenant is required"),
                "{transport}"
            );
        }
        other => panic!("{transport}: expected the interceptor's 403, got {other:?}"),
    }
    assert_eq!(
        server.handled.load(Ordering::SeqCst),
        handled,
        "{transport}: a refused call must not reach the handler"
    );

    let seen: Seen = within(transport, client.seen(&Some("acme".to_owned())))
        .await
        .unwrap_or_else(|e| panic!("{transport}: {e}"));
    assert_eq!(seen.tenant.as_deref(), Some("acme"), "{transport}");
    assert_eq!(seen.operation.as_deref(), Some("seen"), "{transport}");
    assert!(
        seen.current_matches,
        "{transport}: Context::current() differs from the argument"
    );
    assert_eq!(server.handled.load(Ordering::SeqCst), handled + 1);

    let logged: Vec<_> = std::mem::take(&mut *log.lock().unwrap());
    assert_eq!(
        logged,
        vec![("seen".to_owned(), 403), ("seen".to_owned(), 200)],
        "{transport}: the interceptor saw both calls and the handler's reply"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_interceptor_wraps_http_in_process_and_broker_calls() {
    let interceptor = RequireTenant::default();
    let log = interceptor.log.clone();
    let server = HopServer::default();
    let dispatcher = server.clone().into_dispatcher().layer(interceptor);

    let http = TestServer::start(HttpServer::new(dispatcher.clone()).into_router()).await;
    let over_http = HopsClient::new(&http.url()).unwrap();
    check_interceptor("HTTP", &over_http, &server, &log).await;

    let in_process = HopsClient::with_transport(InProcess::new(dispatcher.clone()));
    check_interceptor("in process", &in_process, &server, &log).await;

    let broker = MemoryBroker::new();
    let requests = serve_requests(broker.clone(), dispatcher).await.unwrap();
    let over_broker = HopsClient::with_transport(BrokerTransport::new(broker))
        .with_timeout(Duration::from_secs(5));
    check_interceptor("the memory broker", &over_broker, &server, &log).await;
    requests.shutdown().await;
}

/// A layer added later runs first, and both see the call.
#[tokio::test]
async fn layers_nest_the_last_added_outermost() {
    #[derive(Clone)]
    struct Mark(&'static str, Arc<Mutex<Vec<&'static str>>>);
    impl<S> Layer<S> for Mark {
        type Service = MarkService<S>;
        fn layer(&self, inner: S) -> MarkService<S> {
            MarkService(self.0, self.1.clone(), inner)
        }
    }
    #[derive(Clone)]
    struct MarkService<S>(&'static str, Arc<Mutex<Vec<&'static str>>>, S);
    impl<S: Service<Call, Response = Reply, Error = Infallible>> Service<Call> for MarkService<S> {
        type Response = Reply;
        type Error = Infallible;
        type Future = S::Future;
        fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
            self.2.poll_ready(cx)
        }
        fn call(&mut self, call: Call) -> S::Future {
            self.1.lock().unwrap().push(self.0);
            self.2.call(call)
        }
    }
    let order = Arc::new(Mutex::new(Vec::new()));
    let dispatcher = HopServer::default()
        .into_dispatcher()
        .layer(Mark("inner", order.clone()))
        .layer(Mark("outer", order.clone()));
    let client = HopsClient::with_transport(InProcess::new(dispatcher));
    within("a call", client.seen(&None)).await.unwrap();
    assert_eq!(*order.lock().unwrap(), ["outer", "inner"]);
}

/// Refuses events whose note says "refuse"; tags the others' context.
#[derive(Clone)]
struct EventGate;

#[derive(Debug, Clone, PartialEq)]
struct Gated;

impl<S> Layer<S> for EventGate {
    type Service = EventGateService<S>;
    fn layer(&self, inner: S) -> EventGateService<S> {
        EventGateService(inner)
    }
}

#[derive(Clone)]
struct EventGateService<S>(S);

impl<S> Service<EventCall> for EventGateService<S>
where
    S: Service<EventCall, Response = (), Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = ();
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<(), BoxError>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut call: EventCall) -> Self::Future {
        if call.payload().as_ref() == br#""refuse""# {
            let attempt = call.context().event().map_or(0, |e| e.attempt);
            return Box::pin(std::future::ready(Err(format!(
                "the gate refused attempt {attempt}"
            )
            .into())));
        }
        call.context_mut().extensions_mut().insert(Gated);
        Box::pin(self.0.call(call))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_interceptor_sees_the_context_and_its_refusal_is_retried_then_dead_lettered() {
    let broker = MemoryBroker::new();
    let server = HopServer::default();
    let subscriber = Subscriber::new(broker.clone(), "gated")
        .max_attempts(3)
        .backoff(Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(5),
            multiplier: 2.0,
        })
        .layer(EventGate)
        .start(accord_tests::hops::HopsSubscriber::into_event_handlers(
            server.clone(),
        ))
        .await
        .unwrap();
    let publisher = HopsPublisher::new(broker.clone()).with_source("/tests");
    let id = publisher.pinged(&"hello".to_owned()).await.unwrap();
    publisher.pinged(&"refuse".to_owned()).await.unwrap();

    let mut dead = broker.dead_letters("gated").await.unwrap();
    let letter = within("the refused event's dead letter", dead.next())
        .await
        .expect("a dead letter");
    let reason = letter
        .message()
        .header(DEAD_LETTER_REASON)
        .unwrap()
        .to_owned();
    assert!(
        reason.contains("refused by an interceptor: the gate refused attempt 3")
            && reason.contains("attempt 3 of 3"),
        "{reason}"
    );
    assert_eq!(subscriber.stats().retried.load(Ordering::SeqCst), 2);

    let pinged = server.pinged.lock().unwrap().clone();
    assert_eq!(
        pinged.len(),
        1,
        "only the event the gate passed was handled"
    );
    let context = &pinged[0].context;
    assert_eq!(pinged[0].note, "hello");
    assert_eq!(context.extensions().get::<Gated>(), Some(&Gated));
    let event = context
        .event()
        .expect("an event's context has its attributes");
    assert_eq!(event.id, id);
    assert_eq!(event.source, "/tests");
    assert_eq!(event.event_type, "hops.pinged");
    assert_eq!(event.topic, "hops.pinged");
    assert_eq!(event.group, "gated");
    assert_eq!(event.attempt, 1);
    assert!(event.time.is_some());
    assert_eq!(context.operation(), Some("pinged"));
    assert!(context.trace().is_some());
    assert_eq!(context.headers().get("ce-id").unwrap(), id.as_str());
    subscriber.shutdown().await;
}
