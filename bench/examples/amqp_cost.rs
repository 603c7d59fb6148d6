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
//! channels; the bare side is that section's own, `src/bare_lapin.rs`) to
//! a durable queue of their own, deleted at the end. The broker is
//! `ACCORD_AMQP_URL` (`amqp://guest:guest@127.0.0.1:5672/%2f` by default).

#[path = "../src/bare_lapin.rs"]
#[allow(dead_code)]
mod bare_lapin;
#[path = "support/cost_contract.rs"]
mod cost_contract;
#[path = "support/sides.rs"]
mod sides;
#[path = "support/windowed.rs"]
mod windowed;
#[path = "../src/work.rs"]
#[allow(dead_code)]
mod work;

use accord::broker::amqp::{AmqpBroker, AmqpOptions};
use anyhow::Result;
use bare_lapin::BareLapin;
use cost_contract::{CostOrdersPublisher, TOPIC};
use windowed::windowed;

fn url() -> String {
    std::env::var("ACCORD_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
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

async fn bare(count: u64) -> Result<()> {
    let id = format!("cost-{}", std::process::id());
    let bare = BareLapin::connect(&url(), &id, TOPIC).await?;
    let published = windowed(count, |n| {
        let bare = &bare;
        async move { bare.publish(&work::order_placed(n, 0)).await }
    })
    .await;
    bare.delete().await;
    published
}

fn main() -> Result<()> {
    sides::run("amqp_cost", accord, bare)
}
