//! Every served call runs in an `accord.request` span naming the service,
//! the operation and the reply status, over HTTP and in process.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use accord::prelude::*;
use accord::{InProcess, Transport};
use accord_tests::raw;
use accord_tests::scenarios::pickup_order;
use accord_tests::{orders_in_process, orders_over_http, within, OrdersEnv, TestServer};
use http::Method;
use orders_contract::OrderId;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// A span as the layer saw it: its name and every field recorded on it.
#[derive(Debug, Clone, PartialEq)]
struct SeenSpan {
    name: &'static str,
    fields: BTreeMap<String, String>,
}

/// An event and the span it happened in.
#[derive(Debug, Clone, PartialEq)]
struct SeenEvent {
    message: String,
    level: tracing::Level,
    fields: BTreeMap<String, String>,
    span: Option<&'static str>,
    span_fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
struct Recorder {
    spans: Arc<Mutex<Vec<SeenSpan>>>,
    events: Arc<Mutex<Vec<SeenEvent>>>,
}

/// Where a span's record lives in [`Recorder::spans`].
struct Slot(usize);

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S> Layer<S> for Recorder
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let mut spans = self.spans.lock().unwrap();
        spans.push(SeenSpan {
            name: attrs.metadata().name(),
            fields: fields.0,
        });
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Slot(spans.len() - 1));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let extensions = span.extensions();
        let Some(Slot(slot)) = extensions.get::<Slot>() else {
            return;
        };
        let mut fields = Fields::default();
        values.record(&mut fields);
        self.spans.lock().unwrap()[*slot].fields.extend(fields.0);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let span = ctx.event_span(event);
        let span_fields = span
            .as_ref()
            .and_then(|s| {
                let extensions = s.extensions();
                let slot = extensions.get::<Slot>()?.0;
                Some(self.spans.lock().unwrap()[slot].fields.clone())
            })
            .unwrap_or_default();
        let message = fields.0.remove("message").unwrap_or_default();
        self.events.lock().unwrap().push(SeenEvent {
            message,
            level: *event.metadata().level(),
            fields: fields.0,
            span: span.map(|s| s.name()),
            span_fields,
        });
    }
}

impl Recorder {
    /// Installs a recorder for the current thread until the guard drops.
    /// Tests run on a current-thread runtime, so server and client tasks
    /// report here too.
    fn install() -> (Recorder, tracing::subscriber::DefaultGuard) {
        let recorder = Recorder::default();
        let subscriber = tracing_subscriber::registry().with(recorder.clone());
        let guard = tracing::subscriber::set_default(subscriber);
        (recorder, guard)
    }

    /// The `accord.request` spans as (service, operation, status).
    fn requests(&self) -> Vec<(String, String, String)> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.name == "accord.request")
            .map(|s| {
                let field = |name: &str| {
                    s.fields
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| panic!("span without `{name}`: {s:?}"))
                };
                (field("service"), field("operation"), field("status"))
            })
            .collect()
    }
}

fn request(service: &str, operation: &str, status: u16) -> (String, String, String) {
    (service.to_owned(), operation.to_owned(), status.to_string())
}

async fn orders_calls<T: Transport>(env: &OrdersEnv<T>) {
    let client = &env.client;
    within(
        "place",
        client.place_order(&pickup_order("lee", "apple", 1)),
    )
    .await
    .expect("placed");
    within("get", client.get_order(&OrderId(1)))
        .await
        .expect("found");
    within("get missing", client.get_order(&OrderId(9)))
        .await
        .expect_err("not found");
    within("health", client.health()).await.expect("healthy");
}

fn expected_orders_spans() -> Vec<(String, String, String)> {
    vec![
        request("orders", "place_order", 201),
        request("orders", "get_order", 200),
        request("orders", "get_order", 404),
        request("orders", "health", 204),
    ]
}

#[tokio::test]
async fn http_calls_run_in_request_spans() {
    let (recorder, _guard) = Recorder::install();
    let env = orders_over_http().await;
    orders_calls(&env).await;
    assert_eq!(recorder.requests(), expected_orders_spans());

    let addr = env.server().expect("a server").addr();
    let response = raw::send(addr, raw::json(Method::POST, "/orders", "{}")).await;
    assert_eq!(response.status.as_u16(), 422);
    assert_eq!(
        recorder.requests().last(),
        Some(&request("orders", "place_order", 422)),
        "rejected input is traced too"
    );
}

/// The one debug event each request ends with: method, route, status,
/// latency and trace id, inside the request's span.
#[tokio::test]
async fn each_request_ends_with_one_debug_event() {
    let (recorder, _guard) = Recorder::install();
    let env = orders_over_http().await;
    orders_calls(&env).await;
    let answered: Vec<SeenEvent> = recorder
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.message == "request answered")
        .cloned()
        .collect();
    let seen: Vec<(String, String, String)> = answered
        .iter()
        .map(|e| {
            (
                e.fields["method"].clone(),
                e.fields["route"].clone(),
                e.fields["status"].clone(),
            )
        })
        .collect();
    let expected = [
        ("POST", "/orders", "201"),
        ("GET", "/orders/{id}", "200"),
        ("GET", "/orders/{id}", "404"),
        ("GET", "/health", "204"),
    ]
    .map(|(m, r, s)| (m.to_owned(), r.to_owned(), s.to_owned()));
    assert_eq!(seen, expected, "{answered:?}");
    for event in &answered {
        assert_eq!(event.level, tracing::Level::DEBUG);
        assert_eq!(event.span, Some("accord.request"), "{event:?}");
        assert!(
            event.fields["latency_us"].parse::<u64>().is_ok(),
            "{event:?}"
        );
        assert_eq!(
            Some(&event.fields["trace_id"]),
            event.span_fields.get("trace_id"),
            "the event names the span's trace: {event:?}"
        );
        assert_eq!(event.fields["trace_id"].len(), 32, "{event:?}");
    }
}

#[tokio::test]
async fn in_process_calls_run_in_request_spans() {
    let (recorder, _guard) = Recorder::install();
    orders_calls(&orders_in_process()).await;
    assert_eq!(recorder.requests(), expected_orders_spans());
}

/// A service whose handlers log.
#[accord::service(name = "traced", version = "0.1.0")]
pub trait Traced {
    /// Doubles `n`, logging as it goes; panics on 13.
    #[request(method = "POST", path = "/double")]
    async fn double(&self, n: u32) -> u32;
}

#[derive(Debug)]
struct TracedService;

impl TracedServer for TracedService {
    async fn double(&self, n: u32) -> u32 {
        tracing::info!(n, "doubling");
        assert_ne!(n, 13, "unlucky number");
        n * 2
    }
}

async fn assert_handler_events_are_inside_the_span<T: Transport>(client: TracedClient<T>) {
    let (recorder, _guard) = Recorder::install();
    assert_eq!(
        within("double", client.double(&21)).await.expect("doubled"),
        42
    );
    let failed = within("double", client.double(&13)).await;
    assert!(
        matches!(failed, Err(CallError::Problem(ref p)) if p.status == 500),
        "{failed:?}"
    );

    assert_eq!(
        recorder.requests(),
        vec![
            request("traced", "double", 200),
            request("traced", "double", 500)
        ]
    );
    let events = recorder.events.lock().unwrap().clone();
    let doubling: Vec<&SeenEvent> = events.iter().filter(|e| e.message == "doubling").collect();
    assert_eq!(doubling.len(), 2, "{events:?}");
    for event in doubling {
        assert_eq!(event.span, Some("accord.request"), "{event:?}");
        assert_eq!(
            event.span_fields.get("operation").map(String::as_str),
            Some("double")
        );
    }
    let panicked = events
        .iter()
        .find(|e| e.message == "handler panicked")
        .unwrap_or_else(|| panic!("the panic is logged: {events:?}"));
    assert_eq!(panicked.span, Some("accord.request"));
}

#[tokio::test]
async fn handler_events_are_inside_the_span_over_http() {
    let server = TestServer::start(TracedService.into_router()).await;
    assert_handler_events_are_inside_the_span(TracedClient::new(&server.url()).unwrap()).await;
}

#[tokio::test]
async fn handler_events_are_inside_the_span_in_process() {
    let client = TracedClient::with_transport(InProcess::new(TracedService.into_dispatcher()));
    assert_handler_events_are_inside_the_span(client).await;
}
