//! A small shop: the orders service over HTTP, publishing its events on a
//! broker, with an inventory and a notification subscriber group reacting.
//!
//! `cargo run -p shop` runs it all in one process on the in-memory broker:
//! it places a few orders through the typed client, prints the flow
//! (request, event, each subscriber's reaction, one failing notification
//! retried then dead-lettered), pays for an order through the payments
//! service, which requires a bearer token and is served over the broker
//! (a charge without a token is refused with 401), and exits.
//!
//! With `--broker nats://...`, `--broker amqp://...` or
//! `--broker kafka://...` each part can run as its own process (`orders`,
//! `inventory`, `notifications`, `client`), or all of them together
//! (`all`, the default). Kafka carries the events only: the backend offers
//! no request/reply (docs/kafka.md), so the payments step says so and is
//! left out. Kafka settings go in the URL's query, such as
//! `kafka://127.0.0.1:19092?session.timeout.ms=6000&heartbeat.interval.ms=500`
//! for fast group joins.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Duration;

use accord::broker::amqp::AmqpBroker;
use accord::broker::kafka::KafkaBroker;
use accord::broker::nats::NatsBroker;
use accord::broker::{
    Broker, ConsumeEvents, Delivery, Publish, Subscription, DEAD_LETTER_ATTEMPTS,
    DEAD_LETTER_REASON,
};
use accord::events::{Backoff, Subscriber};
use accord::trace::TraceContext;
use accord::{CallError, MemoryBroker, SubscriberHandle};
use clap::{Parser, ValueEnum};
use orders_contract::{
    CustomerId, Delivery as Shipping, Line, NewOrder, Order, OrderCancelled, OrderError,
    OrderFilter, OrderId, OrderPlaced, OrderStats, OrdersClient, OrdersPublisher, OrdersServer,
    OrdersSubscriber, Payment, StatusChange,
};
use orders_server::InMemoryOrders;
use payments_contract::{NewCharge, Payments, PaymentsClient, PaymentsServer};
use payments_server::{DevCredentials, InMemoryPayments};

/// The orders service: the in-memory implementation, publishing an event
/// for each order placed or cancelled.
struct Shop<B> {
    orders: InMemoryOrders,
    events: OrdersPublisher<B>,
}

impl<B: Publish> OrdersServer for Shop<B> {
    async fn place_order(&self, order: NewOrder) -> Result<Order, OrderError> {
        let placed = self.orders.place_order(order).await?;
        let event = OrderPlaced {
            order_id: placed.id,
            customer_id: placed.details.customer_id.clone(),
            lines: placed.details.lines.clone(),
            total_cents: placed.total_cents,
        };
        match self.events.order_placed(&event).await {
            Ok(id) => say(
                "orders",
                &format!(
                    "order {} placed; published orders.placed ({id})",
                    placed.id.0
                ),
            ),
            Err(e) => say(
                "orders",
                &format!(
                    "order {} placed but its event was not published: {e}",
                    placed.id.0
                ),
            ),
        }
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
        self.orders.cancel_order(id, key).await?;
        let event = OrderCancelled {
            order_id: id,
            reason: Some("customer request".into()),
        };
        if let Err(e) = self.events.order_cancelled(&event).await {
            say(
                "orders",
                &format!(
                    "order {} cancelled but its event was not published: {e}",
                    id.0
                ),
            );
        } else {
            say(
                "orders",
                &format!("order {} cancelled; published orders.cancelled", id.0),
            );
        }
        Ok(())
    }

    async fn stats(&self) -> OrderStats {
        self.orders.stats().await
    }

    async fn health(&self) {}
}

/// Reserves stock for placed orders and returns it for cancelled ones.
#[derive(Default)]
struct Inventory {
    reserved: Mutex<HashMap<OrderId, Vec<Line>>>,
}

impl OrdersSubscriber for Inventory {
    async fn order_placed(&self, event: OrderPlaced) {
        let units: u32 = event.lines.iter().map(|l| l.quantity).sum();
        self.reserved
            .lock()
            .expect("inventory state")
            .insert(event.order_id, event.lines);
        say(
            "inventory",
            &format!(
                "reserved {units} units for order {} {}",
                event.order_id.0,
                trace()
            ),
        );
    }

    async fn order_cancelled(&self, event: OrderCancelled) -> Result<(), OrderError> {
        let lines = self
            .reserved
            .lock()
            .expect("inventory state")
            .remove(&event.order_id);
        let units: u32 = lines.iter().flatten().map(|l| l.quantity).sum();
        say(
            "inventory",
            &format!(
                "returned {units} units of order {} to stock {}",
                event.order_id.0,
                trace()
            ),
        );
        Ok(())
    }
}

/// Emails customers; the mail relay refuses one customer's address.
struct Notifications;

impl OrdersSubscriber for Notifications {
    async fn order_placed(&self, event: OrderPlaced) {
        if event.customer_id.0 == "mallory" {
            say(
                "notifications",
                &format!(
                    "mail relay refused the address of {} {}",
                    event.customer_id.0,
                    trace()
                ),
            );
            panic!("mail relay refused recipient {}", event.customer_id.0);
        }
        say(
            "notifications",
            &format!(
                "emailed {} about order {} ({} cents) {}",
                event.customer_id.0,
                event.order_id.0,
                event.total_cents,
                trace()
            ),
        );
    }

    async fn order_cancelled(&self, event: OrderCancelled) -> Result<(), OrderError> {
        say(
            "notifications",
            &format!(
                "emailed the cancellation of order {} {}",
                event.order_id.0,
                trace()
            ),
        );
        Ok(())
    }
}

fn say(who: &str, what: &str) {
    println!("{who:>13} | {what}");
}

fn trace() -> String {
    TraceContext::current()
        .map(|t| format!("[trace {}]", &t.trace_id_hex()[..8]))
        .unwrap_or_default()
}

fn order(customer: &str, sku: &str, quantity: u32) -> NewOrder {
    NewOrder {
        customer_id: CustomerId(customer.into()),
        lines: vec![Line {
            sku: sku.into(),
            quantity,
        }],
        delivery: Shipping::Pickup {
            store: "central".into(),
        },
        payment: Payment::Credit,
        discounts: Vec::new(),
        gift_note: None,
        labels: Default::default(),
    }
}

/// A shop built on accord: orders over HTTP, events on a broker.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The broker: `memory` (in process), `nats://HOST:PORT`,
    /// `amqp://USER:PASS@HOST:PORT/VHOST` or `kafka://HOST:PORT`.
    #[arg(long, default_value = "memory")]
    broker: String,
    /// Which part of the shop to run.
    #[arg(value_enum, default_value_t = Role::All)]
    role: Role,
    /// Where the orders service listens (`orders`), 127.0.0.1:0 for `all`.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// The orders service the `client` calls.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    orders_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Role {
    /// Everything in this process; places orders, prints the flow, exits.
    All,
    /// The orders service: HTTP, publishing events. Runs until Ctrl-C.
    Orders,
    /// The inventory subscriber group. Runs until Ctrl-C.
    Inventory,
    /// The notification subscriber group. Runs until Ctrl-C.
    Notifications,
    /// Places a few orders through the typed client and exits.
    Client,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // accord reports retries and dead letters as warnings and errors.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "accord=warn".into()),
        )
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_target(false)
        .compact()
        .init();
    // The notification handler panics on purpose; accord catches it, so a
    // one-line note is enough here.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        say("panic", &format!("caught by accord: {what}"));
    }));

    let args = Args::parse();
    if args.role == Role::Client {
        return place_orders(&args.orders_url).await;
    }
    let scheme = args.broker.split("://").next().unwrap_or_default();
    match scheme {
        "memory" => {
            let broker = MemoryBroker::new();
            run(broker.clone(), &args, Some(payments(broker))).await
        }
        "nats" => {
            let broker = NatsBroker::connect(&args.broker).await?;
            run(broker.clone(), &args, Some(payments(broker))).await
        }
        "amqp" | "amqps" => {
            let broker = AmqpBroker::connect(&args.broker).await?;
            run(broker.clone(), &args, Some(payments(broker))).await
        }
        "kafka" => run(KafkaBroker::connect(&args.broker).await?, &args, None).await,
        other => Err(format!(
            "unknown broker {other:?} in {:?}; use memory, nats://HOST:PORT, amqp://USER:PASS@HOST:PORT/VHOST or kafka://HOST:PORT",
            args.broker
        )
        .into()),
    }
}

/// The payments step of `all`, where the broker carries requests.
type PaymentsStep =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Box<dyn std::error::Error>>>>>;

fn payments<B: Broker>(broker: B) -> PaymentsStep {
    Box::pin(pay_for_an_order(broker))
}

async fn run<B: Publish + ConsumeEvents>(
    broker: B,
    args: &Args,
    payments: Option<PaymentsStep>,
) -> Result<(), Box<dyn std::error::Error>> {
    say("shop", &format!("broker: {}", args.broker));
    match args.role {
        Role::All => run_all(broker, payments).await,
        Role::Orders => {
            let listener = tokio::net::TcpListener::bind(&args.listen).await?;
            serve_orders(broker, listener, ctrl_c()).await
        }
        Role::Inventory => {
            let handle = start_inventory(broker).await?;
            say("inventory", "waiting for events; Ctrl-C to stop");
            ctrl_c().await;
            handle.shutdown().await;
            Ok(())
        }
        Role::Notifications => {
            let handle = start_notifications(broker).await?;
            say("notifications", "waiting for events; Ctrl-C to stop");
            ctrl_c().await;
            handle.shutdown().await;
            Ok(())
        }
        Role::Client => unreachable!("the client needs no broker"),
    }
}

async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

async fn start_inventory<B: ConsumeEvents>(
    broker: B,
) -> Result<SubscriberHandle, accord::broker::BrokerError> {
    Subscriber::new(broker, "inventory")
        .start(Inventory::default().into_event_handlers())
        .await
}

async fn start_notifications<B: ConsumeEvents>(
    broker: B,
) -> Result<SubscriberHandle, accord::broker::BrokerError> {
    let fast_retries = Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(400),
        multiplier: 2.0,
    };
    Subscriber::new(broker, "notifications")
        .max_attempts(3)
        .backoff(fast_retries)
        .start(Notifications.into_event_handlers())
        .await
}

async fn serve_orders<B: Publish>(
    broker: B,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn std::error::Error>> {
    let shop = Shop {
        orders: InMemoryOrders::new(),
        events: OrdersPublisher::new(broker),
    };
    say(
        "orders",
        &format!("serving http://{}", listener.local_addr()?),
    );
    accord::http::serve(listener, shop.into_router(), shutdown).await?;
    Ok(())
}

/// Places four orders (one out of stock, one for a customer whose email
/// bounces) and cancels the first.
async fn place_orders(orders_url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let client = OrdersClient::new(orders_url)?;
    for (customer, sku, quantity) in [
        ("alice", "apple", 3),
        ("bob", "melon", 9),
        ("mallory", "pear", 2),
        ("carol", "melon", 2),
    ] {
        say(
            "client",
            &format!("POST /orders: {customer} wants {quantity} x {sku}"),
        );
        match client.place_order(&order(customer, sku, quantity)).await {
            Ok(placed) => say(
                "client",
                &format!(
                    "201: order {} for {} cents",
                    placed.id.0, placed.total_cents
                ),
            ),
            Err(CallError::Service(OrderError::OutOfStock { sku, available })) => say(
                "client",
                &format!("409: out of stock: only {available} x {sku} left"),
            ),
            Err(other) => return Err(other.into()),
        }
    }
    say("client", "DELETE /orders/1");
    client
        .cancel_order(&OrderId(1), &Some("cancel-1".into()))
        .await?;
    let stats = client.stats().await?;
    say(
        "client",
        &format!("orders by status: {:?}", stats.by_status),
    );
    Ok(())
}

/// The payments service behind its authentication, served over the broker:
/// a charge without a token is refused, one with a token is made, and the
/// service records who made it.
async fn pay_for_an_order<B: Broker>(broker: B) -> Result<(), Box<dyn std::error::Error>> {
    use accord::auth::{AuthLayer, Authenticator};
    use accord::{BrokerTransport, Credentials};

    let dev = DevCredentials::generate()?;
    let authenticator = Authenticator::new()
        .bearer(dev.verifier.clone())
        .api_keys(dev.api_keys.clone());
    let auth = AuthLayer::new(Payments::descriptor(), authenticator)?;
    let served = accord::serve_requests(
        broker.clone(),
        InMemoryPayments::new().into_dispatcher().layer(auth),
    )
    .await?;
    let charge = NewCharge {
        customer: "c-1".into(),
        amount_cents: 150,
    };
    let anonymous = PaymentsClient::with_transport(BrokerTransport::new(broker.clone()));
    match anonymous.charge(&charge).await {
        Err(CallError::Problem(problem)) => say(
            "payments",
            &format!(
                "a charge without a token: {} {}",
                problem.status,
                problem.detail.unwrap_or_default()
            ),
        ),
        other => return Err(format!("a charge without a token was not refused: {other:?}").into()),
    }
    let client = PaymentsClient::with_transport(BrokerTransport::new(broker))
        .with_credentials(Credentials::new().bearer(dev.token.clone()));
    let made = client.charge(&charge).await?;
    say(
        "payments",
        &format!(
            "charge {} of {} cents for {}, made by `{}` (the token's subject)",
            made.id, made.amount_cents, made.customer, made.charged_by
        ),
    );
    served.shutdown().await;
    Ok(())
}

async fn run_all<B: Publish + ConsumeEvents>(
    broker: B,
    payments: Option<PaymentsStep>,
) -> Result<(), Box<dyn std::error::Error>> {
    let inventory = start_inventory(broker.clone()).await?;
    let notifications = start_notifications(broker.clone()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn({
        let broker = broker.clone();
        async move {
            serve_orders(broker, listener, async {
                let _ = stopped.await;
            })
            .await
            .map_err(|e| e.to_string())
        }
    });

    place_orders(&format!("http://{address}")).await?;
    match payments {
        Some(step) => step.await?,
        None => say(
            "payments",
            "not run: this broker offers no request/reply (serve the payments service over HTTP)",
        ),
    }

    // Three orders placed and one cancelled: four events for each group.
    let settled = |h: &SubscriberHandle| {
        let s = h.stats();
        s.handled.load(Ordering::Relaxed) + s.dead_lettered.load(Ordering::Relaxed)
    };
    tokio::time::timeout(Duration::from_secs(20), async {
        while settled(&inventory) < 4 || settled(&notifications) < 4 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .map_err(|_| "the subscribers did not settle every event within 20 s")?;

    let mut dead = broker.dead_letters("notifications").await?;
    while let Ok(Some(letter)) = tokio::time::timeout(Duration::from_millis(500), dead.next()).await
    {
        let message = letter.message();
        say(
            "dead letters",
            &format!(
                "{} after {} attempts: {}",
                message.topic,
                message.header(DEAD_LETTER_ATTEMPTS).unwrap_or("?"),
                message.header(DEAD_LETTER_REASON).unwrap_or("?"),
            ),
        );
        letter.ack().await?;
    }

    for (name, handle) in [("inventory", &inventory), ("notifications", &notifications)] {
        let s = handle.stats();
        say(
            "shop",
            &format!(
                "{name}: {} handled, {} retried, {} dead-lettered",
                s.handled.load(Ordering::Relaxed),
                s.retried.load(Ordering::Relaxed),
                s.dead_lettered.load(Ordering::Relaxed)
            ),
        );
    }
    inventory.shutdown().await;
    notifications.shutdown().await;
    let _ = stop.send(());
    server.await??;
    say("shop", "done");
    Ok(())
}
