//! RabbitMQ: accord's `AmqpBroker` against bare lapin.

use std::sync::Arc;

use accord::broker::amqp::{AmqpBroker, AmqpOptions};
use accord::Subscriber;
use anyhow::Result;
use tokio::time::Instant;

use super::{
    cancel, events, interleave, live, publish_windowed, run_id, ConsumeFrom, Cycle, Handler, Live,
    Measured, Probe, Sink, Throughput, IN_FLIGHT,
};
use crate::bare_lapin::BareLapin;
use crate::contract::{BenchOrdersPublisher, BenchOrdersSubscriber, TOPIC};
use crate::work::{order_placed, CUSTOMERS};
use crate::Plan;

pub async fn run(plan: &Plan) -> Result<(Vec<Cycle>, Vec<Cycle>)> {
    interleave(plan, "amqp", || accord_cycle(plan), || bare_cycle(plan)).await
}

async fn accord_cycle(plan: &Plan) -> Result<(Throughput, Live)> {
    let id = run_id();
    let options = AmqpOptions::default().prefix(format!("accord-bench-{id}"));
    let broker = AmqpBroker::connect_with(&plan.amqp_url, options).await?;
    let remove = {
        let broker = broker.clone();
        async move {
            let _ = broker.delete_topology().await;
            broker.close().await;
        }
    };
    live(accord_measure(plan, &broker), remove).await
}

async fn accord_measure(plan: &Plan, broker: &AmqpBroker) -> Result<Measured> {
    // RabbitMQ keeps only what a declared group's queue collects.
    broker.declare_group("bench", &[TOPIC]).await?;
    let publisher = BenchOrdersPublisher::new(broker.clone());
    let events = events();
    let (publish_rate, published) = publish_windowed(plan, |n| {
        let event = &events[(n % CUSTOMERS) as usize];
        async { publisher.order_placed(event).await.map(drop) }
    })
    .await?;

    let sink = Sink::new();
    let started = Instant::now();
    let handle = Subscriber::new(broker.clone(), "bench")
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
    let bare = Arc::new(BareLapin::connect(&plan.amqp_url, &id, TOPIC).await?);
    let remove = {
        let bare = bare.clone();
        async move { bare.delete().await }
    };
    live(bare_measure(plan, &bare), remove).await
}

async fn bare_measure(plan: &Plan, bare: &Arc<BareLapin>) -> Result<Measured> {
    let events = events();
    let (publish_rate, published) =
        publish_windowed(plan, |n| bare.publish(&events[(n % CUSTOMERS) as usize])).await?;

    let sink = Sink::new();
    let started = Instant::now();
    let consumer_sink = sink.clone();
    let (channel, consuming) = bare
        .consume(IN_FLIGHT as u16, move |event| consumer_sink.handle(event))
        .await?;
    let stop = async move {
        cancel(consuming).await;
        let _ = channel.close(200, "OK".into()).await;
    };
    let probe_sink = sink.clone();
    let bare = bare.clone();
    let probe: Probe = Box::new(move |n| {
        let bare = bare.clone();
        let sink = probe_sink.clone();
        tokio::spawn(async move { bare.publish(&order_placed(n, sink.stamp())).await })
    });
    let from = ConsumeFrom::Start(started);
    Measured::drained(sink, from, (publish_rate, published), probe, stop).await
}
