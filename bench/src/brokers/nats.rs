//! NATS JetStream: accord's `NatsBroker` against bare async-nats.

use accord::broker::nats::{NatsBroker, NatsOptions};
use accord::Subscriber;
use anyhow::{Context, Result};
use futures_util::StreamExt;
use orders_contract::OrderPlaced;
use tokio::time::Instant;

use super::{
    cancel, events, interleave, live, publish_windowed, run_id, ConsumeFrom, Cycle, Handler, Live,
    Measured, Probe, Sink, Throughput, IN_FLIGHT,
};
use crate::bare_nats;
use crate::contract::{BenchOrdersPublisher, BenchOrdersSubscriber, TOPIC};
use crate::work::{order_placed, CUSTOMERS};
use crate::Plan;

/// Name prefixes of what the runs declare, for removing leftovers.
const ACCORD_PREFIX: &str = "ACCORDBENCH";
const BARE_PREFIX: &str = "BENCHBARE";

pub async fn run(plan: &Plan) -> Result<(Vec<Cycle>, Vec<Cycle>, String)> {
    let url = plan.nats_url.as_str();
    let client = async_nats::connect(url)
        .await
        .with_context(|| format!("cannot connect to NATS at {url}"))?;
    let version = client.server_info().version;
    let js = async_nats::jetstream::new(client);
    remove_leftovers(&js).await;
    let (accord, bare) =
        interleave(plan, "nats", || accord_cycle(plan), || bare_cycle(plan)).await?;
    Ok((accord, bare, version))
}

/// Streams of an earlier run that did not end cleanly.
async fn remove_leftovers(js: &async_nats::jetstream::Context) {
    // Bounded: a listing whose pages keep failing would otherwise never end.
    let listing = js
        .stream_names()
        .take_while(|name| std::future::ready(name.is_ok()))
        .filter_map(|name| async move { name.ok() })
        .take(10_000)
        .collect::<Vec<String>>();
    let names = tokio::time::timeout(std::time::Duration::from_secs(10), listing)
        .await
        .unwrap_or_default();
    for name in names {
        if name.starts_with(ACCORD_PREFIX) || name.starts_with(BARE_PREFIX) {
            let _ = js.delete_stream(&name).await;
        }
    }
}

async fn accord_cycle(plan: &Plan) -> Result<(Throughput, Live)> {
    let id = run_id();
    let options = NatsOptions::new()
        .stream_prefix(format!("{ACCORD_PREFIX}{id}"))
        .dead_letter_subject(format!("accord-bench.dead-letter.{id}"));
    let broker = NatsBroker::connect_with(&plan.nats_url, options).await?;
    let remove = {
        let broker = broker.clone();
        async move {
            for stream in [
                broker.topic_stream_name(TOPIC),
                broker.dead_letter_stream_name().to_owned(),
            ] {
                let _ = broker.jetstream().delete_stream(&stream).await;
            }
        }
    };
    live(accord_measure(plan, &broker, &id), remove).await
}

async fn accord_measure(plan: &Plan, broker: &NatsBroker, id: &str) -> Result<Measured> {
    let publisher = BenchOrdersPublisher::new(broker.clone());
    let events = events();
    let (publish_rate, published) = publish_windowed(plan, |n| {
        let event = &events[(n % CUSTOMERS) as usize];
        async { publisher.order_placed(event).await.map(drop) }
    })
    .await?;

    let sink = Sink::new();
    let started = Instant::now();
    let handle = Subscriber::new(broker.clone(), format!("bench-{id}"))
        .concurrency(IN_FLIGHT)
        .start(Handler(sink.clone()).into_event_handlers())
        .await?;
    Measured::accord(
        &publisher,
        sink,
        handle,
        ConsumeFrom::Start(started),
        (publish_rate, published),
    )
    .await
}

async fn bare_cycle(plan: &Plan) -> Result<(Throughput, Live)> {
    let id = run_id();
    let client = async_nats::connect(&plan.nats_url).await?;
    let js = async_nats::jetstream::new(client);
    let stream = format!("{BARE_PREFIX}{id}");
    let subject = format!("accord-bench-bare.{id}.orders.placed");
    let remove = {
        let js = js.clone();
        let stream = stream.clone();
        async move {
            let _ = js.delete_stream(&stream).await;
        }
    };
    live(bare_measure(plan, &js, &stream, &subject), remove).await
}

async fn bare_measure(
    plan: &Plan,
    js: &async_nats::jetstream::Context,
    stream: &str,
    subject: &str,
) -> Result<Measured> {
    let stream = bare_nats::create_stream(js, stream.to_owned(), subject).await?;
    let events = events();
    let (publish_rate, published) = publish_windowed(plan, |n| {
        bare_nats::publish(js, subject, TOPIC, &events[(n % CUSTOMERS) as usize])
    })
    .await?;

    let sink = Sink::new();
    let started = Instant::now();
    let mut messages = bare_nats::messages(&stream, "bench", subject, IN_FLIGHT).await?;
    let consumer_sink = sink.clone();
    let consuming = tokio::spawn(async move {
        while let Some(message) = messages.next().await {
            let message = message.map_err(|e| anyhow::anyhow!(e))?;
            let event: OrderPlaced = serde_json::from_slice(&message.payload)?;
            consumer_sink.handle(&event);
            message.ack().await.map_err(|e| anyhow::anyhow!(e))?;
        }
        anyhow::Ok(())
    });
    let probe_sink = sink.clone();
    let js = js.clone();
    let subject = subject.to_owned();
    let probe: Probe = Box::new(move |n| {
        let js = js.clone();
        let subject = subject.clone();
        let sink = probe_sink.clone();
        tokio::spawn(async move {
            bare_nats::publish(&js, &subject, TOPIC, &order_placed(n, sink.stamp())).await
        })
    });
    let from = ConsumeFrom::Start(started);
    let stop = cancel(consuming);
    Measured::drained(sink, from, (publish_rate, published), probe, stop).await
}
