//! The client-side cost of Kafka publishing and consuming, accord against a
//! bare rdkafka loop, for counting instructions per record under callgrind
//! (wall time on a shared machine says little):
//!
//! ```text
//! cargo build --release -p accord-bench --example kafka_cost
//! K=$CARGO_TARGET_DIR/release/examples/kafka_cost
//! valgrind --tool=callgrind $K accord publish 2000     # and 12000: the
//! valgrind --tool=callgrind $K bare publish 2000       # difference / 10000
//! $K accord prepare g1 && $K fill 2000                 # is per record
//! valgrind --tool=callgrind $K accord consume 2000 g1
//! $K fill 2000 && valgrind --tool=callgrind $K bare consume 2000 g2
//! ```
//!
//! Both sides send the records the `kafka` section of `accord-bench` sends
//! (the same headers, key and payload, acks=all and idempotent, 1,024 in
//! flight) to one topic, `accord-cost.orders.placed`, and the bare consumer
//! checks each record's type, as accord's subscriber does; `prepare` joins
//! accord's group before `fill` publishes (a new accord group starts at the
//! end of each partition), the bare group starts at the oldest record.
//! `clean` deletes the topic. The broker is `ACCORD_KAFKA_URL`
//! (`kafka://127.0.0.1:19092` by default).

#[path = "support/cost_contract.rs"]
mod cost_contract;
#[path = "support/count.rs"]
mod count;
#[path = "support/windowed.rs"]
mod windowed;
#[path = "../src/work.rs"]
#[allow(dead_code)]
mod work;

use std::time::Duration;

use accord::broker::kafka::{KafkaBroker, KafkaOptions};
use accord::broker::{Subscribe, SubscribeOptions};
use accord::Subscriber;
use anyhow::{bail, Context, Result};
use cost_contract::{CostOrdersPublisher, CostOrdersSubscriber, TOPIC};
use count::Count;
use orders_contract::OrderPlaced;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers as _, Message as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use windowed::windowed;

const IN_FLIGHT: usize = 256;

fn url() -> String {
    std::env::var("ACCORD_KAFKA_URL").unwrap_or_else(|_| "kafka://127.0.0.1:19092".to_owned())
}

fn servers() -> String {
    let url = url();
    let address = url
        .split_once('?')
        .map_or(url.as_str(), |(address, _)| address);
    address.trim_start_matches("kafka://").to_owned()
}

async fn broker() -> Result<KafkaBroker> {
    Ok(KafkaBroker::connect_with(&url(), KafkaOptions::new().prefix("accord-cost")).await?)
}

fn bare_producer() -> Result<FutureProducer> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", servers())
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "1")
        .create()?)
}

/// The bench's hand-written publish: CloudEvents as `ce_` headers, the
/// customer as the key, awaiting the broker's ack.
async fn bare_publish(producer: &FutureProducer, event: &OrderPlaced) -> Result<()> {
    let payload = serde_json::to_vec(event)?;
    let key = event.customer_id.0.as_str();
    let work::EventAttributes {
        id,
        time,
        traceparent,
    } = work::EventAttributes::new();
    let pairs = [
        ("ce_specversion", "1.0"),
        ("ce_id", id.as_str()),
        ("ce_source", "/bench-orders"),
        ("ce_type", TOPIC),
        ("ce_time", time.as_str()),
        ("content-type", "application/json"),
        ("traceparent", traceparent.as_str()),
    ];
    let mut headers = OwnedHeaders::new_with_capacity(pairs.len());
    for (key, value) in pairs {
        headers = headers.insert(Header {
            key,
            value: Some(value),
        });
    }
    let record = FutureRecord::to(TOPIC)
        .payload(&payload)
        .key(key)
        .headers(headers);
    producer
        .send(record, Duration::from_secs(30))
        .await
        .map_err(|(e, _)| anyhow::anyhow!(e))?;
    Ok(())
}

async fn run(args: &[String]) -> Result<()> {
    let arg = |n: usize| args.get(n).map(String::as_str).unwrap_or_default();
    let count = || arg(2).parse::<u64>().context("a record count");
    match (arg(0), arg(1)) {
        ("accord", "publish") => {
            let publisher = CostOrdersPublisher::new(broker().await?);
            windowed(count()?, |n| {
                let publisher = publisher.clone();
                async move {
                    publisher.order_placed(&work::order_placed(n, 0)).await?;
                    Ok(())
                }
            })
            .await
        }
        ("bare", "publish") | ("fill", _) => {
            let count = if arg(0) == "fill" {
                arg(1).parse::<u64>().context("a record count")?
            } else {
                count()?
            };
            let producer = bare_producer()?;
            windowed(count, |n| {
                let producer = producer.clone();
                async move { bare_publish(&producer, &work::order_placed(n, 0)).await }
            })
            .await
        }
        ("accord", "prepare") => {
            let broker = broker().await?;
            drop(
                broker
                    .subscribe(SubscribeOptions::new(arg(2), [TOPIC]))
                    .await?,
            );
            while broker.open_consumers() > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(())
        }
        ("accord", "consume") => {
            let count = count()?;
            let broker = broker().await?;
            let handled = Count::default();
            let handle = Subscriber::new(broker.clone(), arg(3))
                .concurrency(IN_FLIGHT)
                .start(handled.clone().into_event_handlers())
                .await?;
            handled.wait_for(count).await?;
            handle.shutdown().await;
            Ok(())
        }
        ("bare", "consume") => {
            let count = count()?;
            let consumer: StreamConsumer = ClientConfig::new()
                .set("bootstrap.servers", servers())
                .set("group.id", arg(3))
                .set("auto.offset.reset", "earliest")
                .set("session.timeout.ms", "6000")
                .set("heartbeat.interval.ms", "500")
                .set("enable.auto.commit", "true")
                .set("enable.auto.offset.store", "false")
                .set("allow.auto.create.topics", "false")
                .create()?;
            consumer.subscribe(&[TOPIC])?;
            let handled = Count::default();
            for _ in 0..count {
                let record = consumer.recv().await?;
                let kind = record
                    .headers()
                    .and_then(|headers| headers.iter().find(|h| h.key == "ce_type"))
                    .and_then(|header| header.value);
                if kind != Some(TOPIC.as_bytes()) {
                    bail!("a record of another type: {kind:?}");
                }
                let event: OrderPlaced =
                    serde_json::from_slice(record.payload().unwrap_or_default())?;
                handled.handle(&event);
                consumer.store_offset_from_message(&record)?;
            }
            Ok(())
        }
        ("clean", _) => {
            let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
                .set("bootstrap.servers", servers())
                .create()?;
            let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
            admin.delete_topics(&[TOPIC], &options).await?;
            Ok(())
        }
        _ => bail!(
            "use: kafka_cost accord|bare publish N | accord prepare GROUP | fill N | \
             accord|bare consume N GROUP | clean"
        ),
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(&args))
}
