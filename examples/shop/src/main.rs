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
//! With `--broker nats://...` or `--broker amqp://...` each part can run as
//! its own process (`orders`, `inventory`, `notifications`, `client`), or
//! all of them together (`all`, the default). `--serve-requests broker`
//! (or `both`) has the orders service answer its requests over the broker
//! too, and `--call-over broker` has the client call it there.
//! `serve` runs the orders service and both groups in one process until
//! Ctrl-C.
//!
//! With `--broker kafka://...` the events go over Kafka, which offers no
//! request/reply (docs/kafka.md): requests are served and called over HTTP
//! only, and the payments step says so and is left out. Kafka settings go
//! in the URL's query, such as
//! `kafka://127.0.0.1:19092?session.timeout.ms=6000&heartbeat.interval.ms=500`
//! for fast group joins.
//!
//! The orders service also serves `GET /metrics` over HTTP: accord's
//! metrics (see `accord::observe::metrics`) in the Prometheus text format,
//! recorded by `metrics-exporter-prometheus`.
//!
//! With `--database postgres://...` the orders and the stock are stored in
//! PostgreSQL, each event is written to the outbox in the transaction that
//! saves its order, a relay publishes the outbox (in the `orders`, `serve`
//! and `all` processes, and as a part of its own: `relay`; several at once
//! are safe), and both subscriber groups deduplicate through the inbox
//! table, shared by all their members and kept across restarts.

use std::sync::atomic::Ordering;
use std::time::Duration;

use accord::broker::amqp::AmqpBroker;
use accord::broker::kafka::KafkaBroker;
use accord::broker::nats::NatsBroker;
use accord::broker::{
    Broker, ConsumeEvents, Delivery, Publish, Subscription, DEAD_LETTER_ATTEMPTS,
    DEAD_LETTER_REASON,
};
use accord::trace::TraceContext;
use accord::{BrokerTransport, CallError, MemoryBroker, SubscriberHandle, Transport};
use clap::{Parser, ValueEnum};
use orders_contract::{
    CustomerId, Delivery as Shipping, Line, NewOrder, Order, OrderCancelled, OrderError,
    OrderFilter, OrderId, OrderPlaced, OrderStats, OrdersClient, OrdersPublisher, OrdersServer,
    Payment, StatusChange,
};
use orders_server::InMemoryOrders;
use payments_contract::{NewCharge, Payments, PaymentsClient, PaymentsServer};
use payments_server::{DevCredentials, InMemoryPayments};

mod database;
mod metrics;
mod serving;
mod subscribers;

use database::Database;
use serving::{serve_orders, CallOver, ServeOver, Served, NO_REQUESTS};
use subscribers::{start_inventory, start_notifications};

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
    /// The broker: `memory` (in process), `nats://HOST:PORT` or
    /// `amqp://USER:PASS@HOST:PORT/VHOST`.
    #[arg(long, default_value = "memory")]
    broker: String,
    /// Which part of the shop to run.
    #[arg(value_enum, default_value_t = Role::All)]
    role: Role,
    /// Where the orders service listens (`orders`), 127.0.0.1:0 for `all`.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// The orders service the `client` calls over HTTP.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    orders_url: String,
    /// Where the orders service (`orders`, `all`) answers requests: over
    /// HTTP, over the broker (request/reply on `orders.rpc.<operation>`),
    /// or both.
    #[arg(long, value_enum, default_value_t = ServeOver::Http)]
    serve_requests: ServeOver,
    /// How the `client` (and `all`) calls the orders service: over HTTP
    /// (`--orders-url`) or over the broker (`--broker`).
    #[arg(long, value_enum, default_value_t = CallOver::Http)]
    call_over: CallOver,
    /// Store orders in PostgreSQL (`postgres://USER@HOST:PORT/DB`), with
    /// their events going through the outbox and a relay, and the
    /// subscribers deduplicating through the inbox. Without it, everything
    /// is in memory.
    #[arg(long)]
    database: Option<String>,
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
    /// The orders service and both subscriber groups in this process.
    /// Runs until Ctrl-C.
    Serve,
    /// Publishes the outbox of `--database` on the broker. Runs until
    /// Ctrl-C.
    Relay,
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
    if args.role == Role::Client && args.call_over == CallOver::Http {
        return place_orders(&OrdersClient::new(&args.orders_url)?)
            .await
            .map(drop);
    }
    let scheme = args.broker.split("://").next().unwrap_or_default();
    match scheme {
        "memory" => with_requests(MemoryBroker::new(), &args).await,
        "nats" => with_requests(NatsBroker::connect(&args.broker).await?, &args).await,
        "amqp" | "amqps" => with_requests(AmqpBroker::connect(&args.broker).await?, &args).await,
        // Kafka carries events only; `MemoryBroker` names the type of the
        // requests' broker, of which there is none.
        "kafka" => {
            let kafka = KafkaBroker::connect(&args.broker).await?;
            run(kafka, None::<MemoryBroker>, &args).await
        }
        other => Err(format!(
            "unknown broker {other:?} in {:?}; use memory, nats://HOST:PORT, amqp://USER:PASS@HOST:PORT/VHOST or kafka://HOST:PORT",
            args.broker
        )
        .into()),
    }
}

/// Runs on a broker that carries requests as well as events.
async fn with_requests<B: Broker>(
    broker: B,
    args: &Args,
) -> Result<(), Box<dyn std::error::Error>> {
    run(broker.clone(), Some(broker), args).await
}

/// Runs the part `args` names with events on `broker` and requests over
/// `requests`, where there is a broker for them.
async fn run<B: Publish + ConsumeEvents, R: Broker>(
    broker: B,
    requests: Option<R>,
    args: &Args,
) -> Result<(), Box<dyn std::error::Error>> {
    say("shop", &format!("broker: {}", args.broker));
    let database = match &args.database {
        Some(url) => {
            let database = Database::connect(url).await?;
            say("shop", "orders, outbox and inbox in PostgreSQL");
            Some(database)
        }
        None => None,
    };
    let database = database.as_ref();
    let dedupe = database.map(Database::dedupe);
    match args.role {
        Role::All => run_all(broker, requests, database, args).await,
        Role::Orders => {
            let relay = database.map(|db| db.relay(broker.clone()));
            let served = start_orders(
                broker,
                database,
                requests,
                args.serve_requests,
                &args.listen,
            )
            .await?;
            ctrl_c().await;
            served.shutdown().await?;
            if let Some(relay) = relay {
                relay.shutdown().await;
            }
            Ok(())
        }
        Role::Relay => {
            let database =
                database.ok_or(
                "the `relay` part publishes the outbox of a database: add --database postgres://USER@HOST:PORT/DB",
            )?;
            let relay = database.relay(broker);
            ctrl_c().await;
            relay.shutdown().await;
            Ok(())
        }
        Role::Inventory => {
            let handle = start_inventory(broker, dedupe).await?;
            say("inventory", "waiting for events; Ctrl-C to stop");
            ctrl_c().await;
            handle.shutdown().await;
            Ok(())
        }
        Role::Notifications => {
            let handle = start_notifications(broker, dedupe).await?;
            say("notifications", "waiting for events; Ctrl-C to stop");
            ctrl_c().await;
            handle.shutdown().await;
            Ok(())
        }
        Role::Client => {
            let requests = requests.ok_or(NO_REQUESTS)?;
            place_orders(&OrdersClient::with_transport(BrokerTransport::new(
                requests,
            )))
            .await
            .map(drop)
        }
        Role::Serve => {
            let inventory = start_inventory(broker.clone(), dedupe.clone()).await?;
            let notifications = start_notifications(broker.clone(), dedupe).await?;
            let relay = database.map(|db| db.relay(broker.clone()));
            let served = start_orders(
                broker,
                database,
                requests,
                args.serve_requests,
                &args.listen,
            )
            .await?;
            ctrl_c().await;
            served.shutdown().await?;
            if let Some(relay) = relay {
                relay.shutdown().await;
            }
            inventory.shutdown().await;
            notifications.shutdown().await;
            Ok(())
        }
    }
}

async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Starts the orders service: on `database` with its events going through
/// the outbox, or in memory publishing straight on `broker`.
async fn start_orders<B: Publish, R: Broker>(
    broker: B,
    database: Option<&Database>,
    requests: Option<R>,
    over: ServeOver,
    listen: &str,
) -> Result<Served, Box<dyn std::error::Error>> {
    match database {
        Some(database) => serve_orders(database.orders(), requests, over, listen).await,
        None => {
            let service = Shop {
                orders: InMemoryOrders::new(),
                events: OrdersPublisher::new(broker),
            };
            serve_orders(service, requests, over, listen).await
        }
    }
}

/// Places four orders (one out of stock, one for a customer whose email
/// bounces) and cancels the first one placed; returns how many events that
/// published (each order placed, and the cancellation).
async fn place_orders<T: Transport>(
    client: &OrdersClient<T>,
) -> Result<u64, Box<dyn std::error::Error>> {
    let mut placed = Vec::new();
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
            Ok(order) => {
                say(
                    "client",
                    &format!("201: order {} for {} cents", order.id.0, order.total_cents),
                );
                placed.push(order.id);
            }
            Err(CallError::Service(OrderError::OutOfStock { sku, available })) => say(
                "client",
                &format!("409: out of stock: only {available} x {sku} left"),
            ),
            Err(other) => return Err(other.into()),
        }
    }
    let first = *placed.first().ok_or("no order was placed")?;
    say("client", &format!("DELETE /orders/{}", first.0));
    client
        .cancel_order(&first, &Some(format!("cancel-{}", first.0)))
        .await?;
    let stats = client.stats().await?;
    say(
        "client",
        &format!("orders by status: {:?}", stats.by_status),
    );
    Ok(placed.len() as u64 + 1)
}

/// The payments service behind its authentication, served over the broker:
/// a charge without a token is refused, one with a token is made, and the
/// service records who made it.
async fn pay_for_an_order<B: Broker>(broker: B) -> Result<(), Box<dyn std::error::Error>> {
    use accord::auth::{AuthLayer, Authenticator};
    use accord::Credentials;

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

async fn run_all<B: Publish + ConsumeEvents, R: Broker>(
    broker: B,
    requests: Option<R>,
    database: Option<&Database>,
    args: &Args,
) -> Result<(), Box<dyn std::error::Error>> {
    let dedupe = database.map(Database::dedupe);
    let inventory = start_inventory(broker.clone(), dedupe.clone()).await?;
    let notifications = start_notifications(broker.clone(), dedupe).await?;
    let relay = database.map(|db| db.relay(broker.clone()));
    // Calls over the broker need the service there, whatever was asked.
    let serve = match args.call_over {
        CallOver::Broker if args.serve_requests == ServeOver::Http => ServeOver::Both,
        _ => args.serve_requests,
    };
    let served = start_orders(
        broker.clone(),
        database,
        requests.clone(),
        serve,
        "127.0.0.1:0",
    )
    .await?;
    let events = match (args.call_over, served.http_address(), &requests) {
        (CallOver::Http, Some(address), _) => {
            place_orders(&OrdersClient::new(&format!("http://{address}"))?).await?
        }
        (_, _, Some(requests)) => {
            place_orders(&OrdersClient::with_transport(BrokerTransport::new(
                requests.clone(),
            )))
            .await?
        }
        (_, _, None) => return Err(NO_REQUESTS.into()),
    };
    match requests {
        Some(requests) => pay_for_an_order(requests).await?,
        None => say(
            "payments",
            "not run: the payments service is served over the broker, and this one offers no request/reply; use --broker memory, nats://... or amqp://... to see it",
        ),
    }

    // Each order placed and the cancellation: an event for each group.
    let settled = |h: &SubscriberHandle| {
        let s = h.stats();
        s.handled.load(Ordering::Relaxed) + s.dead_lettered.load(Ordering::Relaxed)
    };
    tokio::time::timeout(Duration::from_secs(20), async {
        while settled(&inventory) < events || settled(&notifications) < events {
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
    served.shutdown().await?;
    if let (Some(relay), Some(database)) = (relay, database) {
        let published = relay.stats().published();
        relay.shutdown().await;
        say(
            "relay",
            &format!(
                "published {published} events from the outbox; {} waiting",
                database.pending().await?
            ),
        );
    }
    say("shop", "done");
    Ok(())
}
