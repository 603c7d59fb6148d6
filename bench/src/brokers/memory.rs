//! The in-memory broker through the generated glue against a bare tokio
//! channel doing the same encoding, decoding and handler work.

use std::time::Duration;

use accord::{MemoryBroker, Subscriber};
use anyhow::Result;
use bytes::Bytes;
use orders_contract::OrderPlaced;
use tokio::time::Instant;

use super::{events, Handler, Sink, IN_FLIGHT};
use crate::contract::{BenchOrdersPublisher, BenchOrdersSubscriber};
use crate::work::CUSTOMERS;
use crate::Plan;

/// The bare channel's capacity: the memory broker's default.
const CAPACITY: usize = accord::broker::memory::DEFAULT_CAPACITY;

pub async fn run(plan: &Plan) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut accord = Vec::new();
    let mut bare = Vec::new();
    for run in 0..plan.runs {
        for first in [run % 2 == 0, run % 2 != 0] {
            if first {
                let rate = accord_run(plan.memory_events).await?;
                eprintln!("  run {run} memory accord: {rate:.0} events/s");
                accord.push(rate);
            } else {
                let rate = bare_run(plan.memory_events).await?;
                eprintln!("  run {run} memory bare: {rate:.0} events/s");
                bare.push(rate);
            }
        }
    }
    Ok((accord, bare))
}

fn timeout(events: u64) -> Duration {
    Duration::from_secs(30 + events / 10_000)
}

async fn accord_run(count: u64) -> Result<f64> {
    let broker = MemoryBroker::new();
    let sink = Sink::new();
    let handle = Subscriber::new(broker.clone(), "bench")
        .concurrency(IN_FLIGHT)
        .start(Handler(sink.clone()).into_event_handlers())
        .await?;
    let publisher = BenchOrdersPublisher::new(broker.clone());
    let events = events();
    let started = Instant::now();
    for n in 0..count {
        publisher
            .order_placed(&events[(n % CUSTOMERS) as usize])
            .await?;
    }
    sink.wait_for(count, timeout(count)).await?;
    let rate = count as f64 / started.elapsed().as_secs_f64();
    handle.shutdown().await;
    broker.close();
    Ok(rate)
}

async fn bare_run(count: u64) -> Result<f64> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(CAPACITY);
    let sink = Sink::new();
    let consumer_sink = sink.clone();
    let consumer = tokio::spawn(async move {
        while let Some(payload) = rx.recv().await {
            let event: OrderPlaced = serde_json::from_slice(&payload)?;
            consumer_sink.handle(&event);
        }
        anyhow::Ok(())
    });
    let events = events();
    let started = Instant::now();
    for n in 0..count {
        let event = &events[(n % CUSTOMERS) as usize];
        tx.send(Bytes::from(serde_json::to_vec(event)?)).await?;
    }
    sink.wait_for(count, timeout(count)).await?;
    let rate = count as f64 / started.elapsed().as_secs_f64();
    drop(tx);
    consumer.await??;
    Ok(rate)
}
