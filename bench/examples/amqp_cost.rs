//! The client-side cost of RabbitMQ publishing, accord against bare lapin,
//! for counting instructions per publish under callgrind (wall time on a
//! shared machine says little, and RabbitMQ on the same cores is what
//! bounds both sides' rate):
//!
//! ```text
//! cargo build --release -p accord-bench --example amqp_cost
//! A=$CARGO_TARGET_DIR/release/examples/amqp_cost
//! valgrind --tool=callgrind $A accord 2000     # and 12000: the
//! valgrind --tool=callgrind $A bare 2000       # difference / 10000
//!                                              # is per publish
//! ```
//!
//! Both sides send what the `amqp` section of `accord-bench` sends (the
//! same payload, CloudEvents headers, key and trace context, persistent,
//! each publish awaiting its confirm, 1,024 in flight over 4 confirm
//! channels) to a durable queue of their own, deleted at the end. The
//! broker is `ACCORD_AMQP_URL` (`amqp://guest:guest@127.0.0.1:5672/%2f`
//! by default).

#[path = "../src/work.rs"]
#[allow(dead_code)]
mod work;

use std::sync::atomic::{AtomicUsize, Ordering};

use accord::broker::amqp::{AmqpBroker, AmqpOptions};
use anyhow::{bail, ensure, Context, Result};
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions,
    QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use orders_contract::OrderPlaced;

/// The event, on a topic of its own.
#[accord::service(name = "bench-orders", version = "1.0.0")]
pub trait CostOrders {
    /// Published once an order is accepted.
    #[event(topic = "accord-cost.orders.placed", key = "customer_id")]
    async fn order_placed(&self, event: OrderPlaced);
}

const TOPIC: &str = "accord-cost.orders.placed";
const WINDOW: usize = 1024;
/// Confirm channels publishes are spread over, on both sides (accord's
/// default).
const CHANNELS: usize = 4;

fn url() -> String {
    std::env::var("ACCORD_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// Keeps [`WINDOW`] publishes in flight until `count` are confirmed.
async fn windowed<F, Fut>(count: u64, mut publish: F) -> Result<()>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut next = 0;
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < WINDOW && next < count {
            in_flight.push(publish(next));
            next += 1;
        }
        match in_flight.next().await {
            Some(result) => result?,
            None => return Ok(()),
        }
    }
}

async fn accord(count: u64) -> Result<()> {
    let prefix = format!("accord-cost-{}", std::process::id());
    let broker = AmqpBroker::connect_with(&url(), AmqpOptions::default().prefix(prefix)).await?;
    broker.declare_group("cost", &[TOPIC]).await?;
    let publisher = CostOrdersPublisher::new(broker.clone());
    let published = windowed(count, |n| {
        let publisher = publisher.clone();
        async move {
            publisher.order_placed(&work::order_placed(n, 0)).await?;
            Ok(())
        }
    })
    .await;
    let _ = broker.delete_topology().await;
    broker.close().await;
    published
}

/// The hand-written side: confirm channels on one connection, an exchange
/// and a queue bound to it.
struct Bare {
    connection: Connection,
    channels: Vec<Channel>,
    next: AtomicUsize,
    exchange: String,
    queue: String,
}

impl Bare {
    async fn connect() -> Result<Self> {
        let connection = Connection::connect(&url(), ConnectionProperties::default()).await?;
        let exchange = format!("accord-cost-bare-{}.events", std::process::id());
        let queue = format!("accord-cost-bare-{}.group", std::process::id());
        let setup = connection.create_channel().await?;
        let durable = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        setup
            .exchange_declare(
                exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        setup
            .queue_declare(queue.as_str().into(), durable, FieldTable::default())
            .await?;
        setup
            .queue_bind(
                queue.as_str().into(),
                exchange.as_str().into(),
                TOPIC.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let mut channels = Vec::with_capacity(CHANNELS);
        for _ in 0..CHANNELS {
            let channel = connection.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            channels.push(channel);
        }
        Ok(Bare {
            connection,
            channels,
            next: AtomicUsize::new(0),
            exchange,
            queue,
        })
    }

    /// One persistent publish with the headers accord sends (CloudEvents
    /// in the AMQP binding's `cloudEvents:` names), awaiting the confirm.
    async fn publish(&self, event: &OrderPlaced) -> Result<()> {
        let payload = serde_json::to_vec(event)?;
        let id = uuid::Uuid::new_v4().to_string();
        let time = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        let traceparent = format!(
            "00-{:032x}-{:016x}-01",
            fastrand::u128(1..),
            fastrand::u64(1..)
        );
        let pairs = [
            ("cloudEvents:specversion", "1.0"),
            ("cloudEvents:id", id.as_str()),
            ("cloudEvents:source", "/bench-orders"),
            ("cloudEvents:type", TOPIC),
            ("cloudEvents:time", time.as_str()),
            ("traceparent", traceparent.as_str()),
            ("accord-key", event.customer_id.0.as_str()),
        ];
        let mut headers = FieldTable::default();
        for (name, value) in pairs {
            headers.insert(
                name.into(),
                AMQPValue::LongString(LongString::from(value.as_bytes())),
            );
        }
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(id.into())
            .with_headers(headers);
        let channel =
            &self.channels[self.next.fetch_add(1, Ordering::Relaxed) % self.channels.len()];
        let confirmation = channel
            .basic_publish(
                self.exchange.as_str().into(),
                TOPIC.into(),
                BasicPublishOptions::default(),
                &payload,
                properties,
            )
            .await?
            .await?;
        ensure!(confirmation.is_ack(), "RabbitMQ did not confirm a publish");
        Ok(())
    }

    async fn delete(&self) -> Result<()> {
        let channel = self.connection.create_channel().await?;
        channel
            .queue_delete(self.queue.as_str().into(), QueueDeleteOptions::default())
            .await?;
        channel
            .exchange_delete(
                self.exchange.as_str().into(),
                ExchangeDeleteOptions::default(),
            )
            .await?;
        self.connection.close(200, "OK".into()).await?;
        Ok(())
    }
}

async fn bare(count: u64) -> Result<()> {
    let bare = Bare::connect().await?;
    let published = windowed(count, |n| {
        let bare = &bare;
        async move { bare.publish(&work::order_placed(n, 0)).await }
    })
    .await;
    bare.delete().await?;
    published
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = args
        .get(1)
        .context("use: amqp_cost accord|bare N")?
        .parse::<u64>()
        .context("a publish count")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args[0].as_str() {
        "accord" => runtime.block_on(accord(count)),
        "bare" => runtime.block_on(bare(count)),
        other => bail!("use: amqp_cost accord|bare N (not `{other}`)"),
    }
}
