//! The client-side cost of NATS JetStream publishing, accord against bare
//! async-nats, for counting instructions per publish under callgrind (wall
//! time on a shared machine says little, and nats-server runs on the same
//! cores):
//!
//! ```text
//! cargo build --release -p accord-bench --example nats_cost
//! N=$CARGO_TARGET_DIR/release/examples/nats_cost
//! valgrind --tool=callgrind $N accord 2000     # and 12000: the
//! valgrind --tool=callgrind $N bare 2000       # difference / 10000
//!                                              # is per publish
//! ```
//!
//! Both sides send what the `nats` section of `accord-bench` sends (the
//! same payload, CloudEvents headers, key and trace context, the event id
//! as `Nats-Msg-Id`, each publish awaiting its JetStream ack, 1,024 in
//! flight) to a file-backed stream of their own, deleted at the end. The
//! server is `ACCORD_NATS_URL` (`nats://127.0.0.1:4222` by default).

#[path = "../src/bare_nats.rs"]
#[allow(dead_code)]
mod bare_nats;
#[path = "support/cost_contract.rs"]
mod cost_contract;
#[path = "support/sides.rs"]
mod sides;
#[path = "support/windowed.rs"]
mod windowed;
#[path = "../src/work.rs"]
#[allow(dead_code)]
mod work;

use accord::broker::nats::{NatsBroker, NatsOptions};
use anyhow::Result;
use cost_contract::{CostOrdersPublisher, TOPIC};
use windowed::windowed;

fn url() -> String {
    std::env::var("ACCORD_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

async fn accord(count: u64) -> Result<()> {
    let id = std::process::id();
    let options = NatsOptions::new()
        .stream_prefix(format!("ACCORDCOST{id}"))
        .dead_letter_subject(format!("accord-cost.dead-letter.{id}"));
    let broker = NatsBroker::connect_with(&url(), options).await?;
    let publisher = CostOrdersPublisher::new(broker.clone());
    let published = windowed(count, |n| {
        let publisher = publisher.clone();
        async move {
            publisher.order_placed(&work::order_placed(n, 0)).await?;
            Ok(())
        }
    })
    .await;
    for stream in [
        broker.topic_stream_name(TOPIC),
        broker.dead_letter_stream_name().to_owned(),
    ] {
        let _ = broker.jetstream().delete_stream(&stream).await;
    }
    published
}

async fn bare(count: u64) -> Result<()> {
    let id = std::process::id();
    let client = async_nats::connect(url()).await?;
    let js = async_nats::jetstream::new(client);
    let stream = format!("COSTBARE{id}");
    let subject = format!("accord-cost-bare.{id}.orders.placed");
    bare_nats::create_stream(&js, stream.clone(), &subject).await?;
    let published = windowed(count, |n| {
        let (js, subject) = (&js, subject.as_str());
        async move { bare_nats::publish(js, subject, TOPIC, &work::order_placed(n, 0)).await }
    })
    .await;
    js.delete_stream(&stream).await?;
    published
}

fn main() -> Result<()> {
    sides::run("nats_cost", accord, bare)
}
