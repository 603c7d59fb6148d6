//! The client-side cost of consuming from NATS JetStream, accord's
//! generated subscriber against the bare async-nats loop of the `nats`
//! section, for counting instructions per delivery under callgrind (wall
//! time on a shared machine says little, and nats-server runs on the same
//! cores):
//!
//! ```text
//! cargo build --release -p accord-bench --example nats_consume_cost
//! C=$CARGO_TARGET_DIR/release/examples/nats_consume_cost
//! $C fill P1 2000 && valgrind --tool=callgrind $C accord P1 2000
//! $C fill P2 12000 && valgrind --tool=callgrind $C accord P2 12000
//! $C fill P3 2000 && valgrind --tool=callgrind $C bare P3 2000
//! $C fill P4 12000 && valgrind --tool=callgrind $C bare P4 12000
//! $C clean P1 && $C clean P2 && $C clean P3 && $C clean P4
//! ```
//!
//! The difference between the two counts of a side, divided by 10,000, is
//! the cost of one delivery: handled, acked, start-up left out.
//!
//! `fill P N` publishes `N` of the section's events with accord's
//! generated publisher into the stream accord declares under the stream
//! prefix `P`. `accord P N` handles them with the generated subscriber (the
//! stream's first group, so it reads from the start; 256 in flight, as the
//! section); `bare P N` reads the same stream with the section's bare loop
//! (a durable pull consumer, batches of 256, the JSON decoded and the
//! event type checked, as accord checks it, then acked). `clean P` deletes
//! the streams. The server is `ACCORD_NATS_URL` (`nats://127.0.0.1:4222` by
//! default).

#[path = "../src/bare_nats.rs"]
#[allow(dead_code)]
mod bare_nats;
#[path = "support/cost_contract.rs"]
mod cost_contract;
#[path = "support/count.rs"]
mod count;
#[path = "support/windowed.rs"]
mod windowed;
#[path = "../src/work.rs"]
#[allow(dead_code)]
mod work;

use accord::broker::nats::{NatsBroker, NatsOptions};
use accord::Subscriber;
use anyhow::{bail, Context, Result};
use cost_contract::{CostOrdersPublisher, CostOrdersSubscriber, TOPIC};
use count::{Count, HANDLE_WAIT};
use futures_util::StreamExt;
use orders_contract::OrderPlaced;
use windowed::windowed;

/// Deliveries in flight, as in the `nats` section.
const IN_FLIGHT: usize = 256;

fn url() -> String {
    std::env::var("ACCORD_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

async fn broker(prefix: &str) -> Result<NatsBroker> {
    let options = NatsOptions::new()
        .stream_prefix(prefix)
        .dead_letter_subject(format!("accord-cost.dead-letter.{prefix}"));
    Ok(NatsBroker::connect_with(&url(), options).await?)
}

async fn fill(prefix: &str, count: u64) -> Result<()> {
    let publisher = CostOrdersPublisher::new(broker(prefix).await?);
    windowed(count, |n| {
        let publisher = publisher.clone();
        async move {
            publisher.order_placed(&work::order_placed(n, 0)).await?;
            Ok(())
        }
    })
    .await
}

/// The stream `fill PREFIX N` wrote, once it is known to hold at least
/// `count` events: a side asked for more than were filled would otherwise
/// wait out [`HANDLE_WAIT`] before saying so.
async fn filled_stream(
    js: &async_nats::jetstream::Context,
    name: &str,
    prefix: &str,
    count: u64,
) -> Result<async_nats::jetstream::stream::Stream> {
    let hint = || format!("run `nats_consume_cost fill {prefix} {count}` first");
    let stream = js
        .get_stream(name)
        .await
        .with_context(|| format!("no stream `{name}` to read: {}", hint()))?;
    let held = stream.cached_info().state.messages;
    if held < count {
        bail!(
            "stream `{name}` holds {held} events, fewer than the {count} asked for: {}",
            hint()
        );
    }
    Ok(stream)
}

async fn accord(prefix: &str, count: u64) -> Result<()> {
    let broker = broker(prefix).await?;
    let name = broker.topic_stream_name(TOPIC);
    filled_stream(broker.jetstream(), &name, prefix, count).await?;
    let handled = Count::default();
    let handle = Subscriber::new(broker, "cost")
        .concurrency(IN_FLIGHT)
        .start(handled.clone().into_event_handlers())
        .await?;
    handled.wait_for(count).await?;
    handle.shutdown().await;
    Ok(())
}

async fn bare(prefix: &str, count: u64) -> Result<()> {
    let stream_name = broker(prefix).await?.topic_stream_name(TOPIC);
    let js = async_nats::jetstream::new(async_nats::connect(url()).await?);
    let stream = filled_stream(&js, &stream_name, prefix, count).await?;
    let mut messages = bare_nats::messages(&stream, "bare", "", IN_FLIGHT).await?;
    let handled = Count::default();
    let reading = async {
        while handled.handled() < count {
            let Some(message) = messages.next().await else {
                bail!("the consumer's messages ended");
            };
            let message = message.map_err(|e| anyhow::anyhow!(e))?;
            let typed = message
                .headers
                .as_ref()
                .and_then(|headers| headers.get("ce-type"))
                .is_some_and(|value| value.as_str() == TOPIC);
            if !typed {
                bail!("a message without `ce-type: {TOPIC}`");
            }
            let event: OrderPlaced = serde_json::from_slice(&message.payload)?;
            handled.handle(&event);
            message.ack().await.map_err(|e| anyhow::anyhow!(e))?;
        }
        Ok(())
    };
    tokio::time::timeout(HANDLE_WAIT, reading)
        .await
        .with_context(|| format!("{count} not handled within {HANDLE_WAIT:?}"))?
}

async fn clean(prefix: &str) -> Result<()> {
    let broker = broker(prefix).await?;
    for stream in [
        broker.topic_stream_name(TOPIC),
        broker.dead_letter_stream_name().to_owned(),
    ] {
        let _ = broker.jetstream().delete_stream(&stream).await;
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |n: usize| args.get(n).map(String::as_str).unwrap_or_default();
    let usage = "use: nats_consume_cost fill|accord|bare PREFIX N, or clean PREFIX";
    let count = || arg(2).parse::<u64>().context(usage);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match arg(0) {
            "fill" => fill(arg(1), count()?).await,
            "accord" => accord(arg(1), count()?).await,
            "bare" => bare(arg(1), count()?).await,
            "clean" => clean(arg(1)).await,
            _ => bail!("{usage}"),
        }
    })
}
