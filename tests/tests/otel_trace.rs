//! With the `otel` feature and `tracing-opentelemetry` installed, one order
//! forms one OpenTelemetry trace: the caller's span, the orders service's
//! request span (over real HTTP), the span publishing its event, and each
//! subscriber group's event span (over NATS at `ACCORD_NATS_URL`, default
//! `nats://127.0.0.1:4222`), each the child of the one before, with the
//! trace context read and written by the global `TraceContextPropagator`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::broker::nats::NatsBroker;
use accord::events::Subscriber;
use accord::trace::TraceContext;
use accord_tests::scenarios::pickup_order;
use accord_tests::{within, TestServer};
use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use orders_contract::{
    NewOrder, Order, OrderCancelled, OrderError, OrderFilter, OrderId, OrderPlaced, OrderStats,
    OrdersClient, OrdersPublisher, OrdersServer, OrdersSubscriber, StatusChange,
};
use orders_server::InMemoryOrders;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

/// The orders service publishing `orders.placed` for each order.
struct Shop {
    orders: InMemoryOrders,
    events: OrdersPublisher<NatsBroker>,
}

impl OrdersServer for Shop {
    async fn place_order(&self, order: NewOrder) -> Result<Order, OrderError> {
        let placed = self.orders.place_order(order).await?;
        let event = OrderPlaced {
            order_id: placed.id,
            customer_id: placed.details.customer_id.clone(),
            lines: placed.details.lines.clone(),
            total_cents: placed.total_cents,
        };
        self.events
            .order_placed(&event)
            .await
            .expect("the event is published on NATS");
        Ok(placed)
    }

    async fn get_order(&self, id: OrderId) -> Result<Order, OrderError> {
        self.orders.get_order(id).await
    }

    async fn list_orders(&self, filter: OrderFilter) -> Result<Vec<Order>, OrderError> {
        self.orders.list_orders(filter).await
    }

    async fn set_status(&self, id: OrderId, change: StatusChange) -> Result<Order, OrderError> {
        self.orders.set_status(id, change).await
    }

    async fn cancel_order(&self, id: OrderId, key: Option<String>) -> Result<(), OrderError> {
        self.orders.cancel_order(id, key).await
    }

    async fn stats(&self) -> OrderStats {
        self.orders.stats().await
    }

    async fn health(&self) {}
}

/// A subscriber group's handler: records, by customer, the trace context
/// accord reported while it ran.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<BTreeMap<String, TraceContext>>>);

impl Seen {
    fn of(&self, customer: &str) -> Option<TraceContext> {
        self.0.lock().unwrap().get(customer).copied()
    }
}

impl OrdersSubscriber for Seen {
    async fn order_placed(&self, event: OrderPlaced) {
        let trace = TraceContext::current().expect("a handler runs in a trace");
        self.0.lock().unwrap().insert(event.customer_id.0, trace);
    }

    async fn order_cancelled(&self, _event: OrderCancelled) -> Result<(), OrderError> {
        Ok(())
    }
}

/// NATS at `ACCORD_NATS_URL`, or `None` after saying why, except on CI
/// (`CI` set), where it fails.
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

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

/// The one span named `name` in `spans` whose attribute `key` is `value`.
fn one<'a>(spans: &'a [SpanData], name: &str, key: &str, value: &str) -> &'a SpanData {
    let found: Vec<_> = spans
        .iter()
        .filter(|s| s.name == name && attribute(s, key).as_deref() == Some(value))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one `{name}` span with {key} = {value}, found {}: {found:#?}",
        found.len()
    );
    found[0]
}

/// Waits until `spans` returns a trace's spans with all of `names` in it.
async fn wait_for_spans(
    exporter: &InMemorySpanExporter,
    trace: TraceId,
    names: &[&str],
) -> Vec<SpanData> {
    let waited = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let spans: Vec<SpanData> = exporter
                .get_finished_spans()
                .expect("the exporter is running")
                .into_iter()
                .filter(|s| s.span_context.trace_id() == trace)
                .collect();
            let count = |name: &str| spans.iter().filter(|s| s.name == name).count();
            // Two event spans: one per group.
            if names.iter().all(|n| count(n) >= 1) && count("accord.event") >= 2 {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    match waited {
        Ok(spans) => spans,
        Err(_) => panic!(
            "the trace's spans {names:?} and two accord.event spans were not all exported within 15 s; exported: {:#?}",
            exporter.get_finished_spans().unwrap_or_default()
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_is_one_trace_across_http_and_nats() {
    let Some(broker) = nats().await else {
        return;
    };
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("accord-tests"));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        .expect("the only subscriber in this test process");

    // Groups of their own: they start at their declaration, so they see
    // this run's events (and maybe other runs', told apart by customer).
    let run = format!("{:016x}", fastrand::u64(..));
    let inventory = Seen::default();
    let notifications = Seen::default();
    let inventory_group = format!("otel-inventory-{run}");
    let notifications_group = format!("otel-notifications-{run}");
    let handles = [
        Subscriber::new(broker.clone(), inventory_group.clone())
            .start(inventory.clone().into_event_handlers())
            .await
            .expect("the inventory group subscribes"),
        Subscriber::new(broker.clone(), notifications_group.clone())
            .start(notifications.clone().into_event_handlers())
            .await
            .expect("the notifications group subscribes"),
    ];
    let shop = Shop {
        orders: InMemoryOrders::new(),
        events: OrdersPublisher::new(broker.clone()),
    };
    let server = TestServer::start(shop.into_router()).await;
    let client = OrdersClient::new(&server.url()).unwrap();

    let customer = format!("otel-{run}");
    let checkout = tracing::info_span!("checkout", customer = %customer);
    within(
        "placing the order over HTTP",
        client
            .place_order(&pickup_order(&customer, "apple", 1))
            .instrument(checkout.clone()),
    )
    .await
    .expect("the order is placed");
    let root = {
        use opentelemetry::trace::TraceContextExt;
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        checkout.context().span().span_context().clone()
    };
    drop(checkout);
    let trace = root.trace_id();

    let handled = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            if let (Some(a), Some(b)) = (inventory.of(&customer), notifications.of(&customer)) {
                return (a, b);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let Ok((in_inventory, in_notifications)) = handled else {
        panic!("both groups did not handle the order's event within 15 s");
    };

    let spans = wait_for_spans(
        &exporter,
        trace,
        &["checkout", "accord.request", "accord.publish"],
    )
    .await;
    let span_id = |s: &SpanData| s.span_context.span_id();

    // The caller's span is the root; the request continues it over HTTP.
    let checkout = one(&spans, "checkout", "customer", &customer);
    assert_eq!(checkout.parent_span_id, SpanId::INVALID);
    let request = one(&spans, "accord.request", "operation", "place_order");
    assert_eq!(request.parent_span_id, span_id(checkout));
    assert!(
        request.parent_span_is_remote,
        "the request's parent came in its traceparent header"
    );
    assert_eq!(attribute(request, "status").as_deref(), Some("201"));
    assert_eq!(
        attribute(request, "trace_id"),
        Some(trace.to_string()),
        "accord reports the OpenTelemetry trace id"
    );

    // The event is published from within the request.
    let publish = one(&spans, "accord.publish", "topic", "orders.placed");
    assert_eq!(publish.parent_span_id, span_id(request));
    assert!(!publish.parent_span_is_remote);

    // Each group's handling continues the publish span over NATS, and the
    // handler sees the ids of its own span.
    for (group, seen) in [
        (&inventory_group, in_inventory),
        (&notifications_group, in_notifications),
    ] {
        let event = one(&spans, "accord.event", "group", group);
        assert_eq!(event.parent_span_id, span_id(publish), "{group}");
        assert!(event.parent_span_is_remote, "{group}");
        assert_eq!(
            seen.trace_id_hex(),
            trace.to_string(),
            "{group}'s handler runs in the order's trace"
        );
        assert_eq!(
            seen.span_id_hex(),
            span_id(event).to_string(),
            "{group}'s handler sees its event span's id"
        );
    }

    for handle in handles {
        handle.shutdown().await;
    }
    server.shutdown().await.unwrap();
    provider.shutdown().unwrap();
}
