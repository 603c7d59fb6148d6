//! Request methods called over a broker instead of HTTP, and the trace
//! context flowing from an HTTP request through an event to its handlers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::events::Subscriber;
use accord::trace::TraceContext;
use accord::{serve_requests, BrokerTransport, CallError, MemoryBroker};
use orders_contract::{
    CustomerId, Delivery, Line, NewOrder, OrderCancelled, OrderError, OrderFilter, OrderId,
    OrderPlaced, OrderStatus, OrdersClient, OrdersPublisher, OrdersServer, OrdersSubscriber,
    Payment,
};
use orders_server::InMemoryOrders;

fn new_order(customer: &str, sku: &str, quantity: u32) -> NewOrder {
    NewOrder {
        customer_id: CustomerId(customer.into()),
        lines: vec![Line {
            sku: sku.into(),
            quantity,
        }],
        delivery: Delivery::Pickup {
            store: "central".into(),
        },
        payment: Payment::Card {
            last4: "4242".into(),
        },
        discounts: Vec::new(),
        gift_note: None,
        labels: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_methods_work_over_the_broker_as_over_http() {
    let broker = MemoryBroker::new();
    let server = serve_requests(broker.clone(), InMemoryOrders::new().into_dispatcher())
        .await
        .unwrap();
    let client = OrdersClient::with_transport(BrokerTransport::new(broker.clone()))
        .with_timeout(Duration::from_secs(5));

    let placed = client
        .place_order(&new_order("ann", "apple", 2))
        .await
        .unwrap();
    assert_eq!(placed.total_cents, 100);
    assert_eq!(client.get_order(&placed.id).await.unwrap(), placed);

    let listed = client
        .list_orders(&OrderFilter {
            customer_id: Some("ann".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed, vec![placed.clone()]);

    client
        .cancel_order(&placed.id, &Some("k-1".into()))
        .await
        .unwrap();
    assert_eq!(
        client.get_order(&placed.id).await.unwrap().status,
        OrderStatus::Cancelled
    );

    match client.get_order(&OrderId(404)).await {
        Err(CallError::Service(OrderError::NotFound { id })) => assert_eq!(id, OrderId(404)),
        other => panic!("expected NotFound, got {other:?}"),
    }
    match client.place_order(&new_order("ann", "melon", 99)).await {
        Err(CallError::Service(OrderError::OutOfStock { sku, available })) => {
            assert_eq!((sku.as_str(), available), ("melon", 3));
        }
        other => panic!("expected OutOfStock, got {other:?}"),
    }
    client.health().await.unwrap();

    server.shutdown().await;
    match client.health().await {
        Err(CallError::Connection(_)) => {}
        other => panic!("with no server left, expected a connection error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_broker_request_without_a_reply_times_out() {
    struct Silent;
    impl OrdersServer for Silent {
        async fn place_order(&self, _: NewOrder) -> Result<orders_contract::Order, OrderError> {
            std::future::pending().await
        }
        async fn get_order(&self, _: OrderId) -> Result<orders_contract::Order, OrderError> {
            std::future::pending().await
        }
        async fn list_orders(
            &self,
            _: OrderFilter,
        ) -> Result<Vec<orders_contract::Order>, OrderError> {
            std::future::pending().await
        }
        async fn set_status(
            &self,
            _: OrderId,
            _: orders_contract::StatusChange,
        ) -> Result<orders_contract::Order, OrderError> {
            std::future::pending().await
        }
        async fn cancel_order(&self, _: OrderId, _: Option<String>) -> Result<(), OrderError> {
            std::future::pending().await
        }
        async fn stats(&self) -> orders_contract::OrderStats {
            std::future::pending().await
        }
        async fn health(&self) {
            std::future::pending().await
        }
    }
    let broker = MemoryBroker::new();
    let _server = serve_requests(broker.clone(), Silent.into_dispatcher())
        .await
        .unwrap();
    let client = OrdersClient::with_transport(BrokerTransport::new(broker))
        .with_timeout(Duration::from_millis(200));
    match tokio::time::timeout(Duration::from_secs(5), client.health()).await {
        Ok(Err(CallError::Timeout(d))) => assert_eq!(d, Duration::from_millis(200)),
        other => panic!("expected the client's timeout, got {other:?}"),
    }
}

/// Publishes an event per order placed, like a real orders service.
struct Publishing {
    orders: InMemoryOrders,
    events: OrdersPublisher<MemoryBroker>,
}

impl OrdersServer for Publishing {
    async fn place_order(&self, order: NewOrder) -> Result<orders_contract::Order, OrderError> {
        let placed = self.orders.place_order(order).await?;
        self.events
            .order_placed(&OrderPlaced {
                order_id: placed.id,
                customer_id: placed.details.customer_id.clone(),
                lines: placed.details.lines.clone(),
                total_cents: placed.total_cents,
            })
            .await
            .expect("the memory broker accepts the event");
        Ok(placed)
    }
    async fn get_order(&self, id: OrderId) -> Result<orders_contract::Order, OrderError> {
        self.orders.get_order(id).await
    }
    async fn list_orders(&self, f: OrderFilter) -> Result<Vec<orders_contract::Order>, OrderError> {
        self.orders.list_orders(f).await
    }
    async fn set_status(
        &self,
        id: OrderId,
        c: orders_contract::StatusChange,
    ) -> Result<orders_contract::Order, OrderError> {
        self.orders.set_status(id, c).await
    }
    async fn cancel_order(&self, id: OrderId, k: Option<String>) -> Result<(), OrderError> {
        self.orders.cancel_order(id, k).await
    }
    async fn stats(&self) -> orders_contract::OrderStats {
        self.orders.stats().await
    }
    async fn health(&self) {}
}

/// Each order placed, with the trace its event was handled in.
type Seen = Vec<(OrderId, Option<TraceContext>)>;

/// Records the trace each event was handled in.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Seen>>,
}

impl OrdersSubscriber for Recorder {
    async fn order_placed(&self, event: OrderPlaced) {
        self.seen
            .lock()
            .unwrap()
            .push((event.order_id, TraceContext::current()));
    }
    async fn order_cancelled(&self, _: OrderCancelled) -> Result<(), OrderError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_of_an_http_request_reaches_the_handlers_of_its_events() {
    let broker = MemoryBroker::new();
    let recorder = Recorder::default();
    let subscriber = Subscriber::new(broker.clone(), "audit")
        .start(recorder.clone().into_event_handlers())
        .await
        .unwrap();
    let app = Publishing {
        orders: InMemoryOrders::new(),
        events: OrdersPublisher::new(broker.clone()),
    }
    .into_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(accord::http::serve(listener, app, std::future::pending()));

    // The caller's own trace, as an upstream service would send it.
    let upstream = TraceContext::new_root();
    let client = OrdersClient::new(&format!("http://{address}")).unwrap();
    let placed = upstream
        .scope(client.place_order(&new_order("bea", "pear", 1)))
        .await
        .unwrap();

    let seen = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(entry) = recorder.seen.lock().unwrap().first().cloned() {
                return entry;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the event reaches the subscriber");
    assert_eq!(seen.0, placed.id);
    let handler_trace = seen.1.expect("the handler runs inside a trace context");
    assert_eq!(
        handler_trace.trace_id, upstream.trace_id,
        "the handler continues the trace of the HTTP request that published the event"
    );
    assert_ne!(handler_trace.span_id, upstream.span_id);
    subscriber.shutdown().await;
}
