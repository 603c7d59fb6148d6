//! The in-memory broker through the generated glue against a bare tokio
//! channel carrying the same events with the same envelope work: the
//! CloudEvents, trace and key headers built for each event, its type
//! looked at on arrival, its payload encoded and decoded.
//!
//! Two spreads of keys: over the 1,024 customers, as real traffic would,
//! and every event on one customer, which the broker must still deliver
//! one at a time in publish order.

use std::time::Duration;

use accord::{MemoryBroker, Subscriber};
use anyhow::{bail, Result};
use bytes::Bytes;
use orders_contract::OrderPlaced;
use tokio::time::Instant;

use super::{event_headers, Handler, Sink, IN_FLIGHT};
use crate::contract::{BenchOrdersPublisher, BenchOrdersSubscriber, TOPIC};
use crate::work::{order_placed, CUSTOMERS};
use crate::Plan;

/// The bare channel's capacity: the memory broker's default.
const CAPACITY: usize = accord::broker::memory::DEFAULT_CAPACITY;

/// How the events' keys (their customers) are spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// Over the 1,024 customers in turn.
    Spread,
    /// Every event on the same customer.
    Hot,
}

impl Keys {
    /// The events published, in turn.
    fn events(self) -> Vec<OrderPlaced> {
        (0..CUSTOMERS)
            .map(|n| match self {
                Keys::Spread => order_placed(n, 0),
                // Order ids that are multiples of the customer count all
                // fall on the first customer.
                Keys::Hot => order_placed(n * CUSTOMERS, 0),
            })
            .collect()
    }
}

/// Interleaved runs of both sides: events per second of accord and of the
/// bare channel.
pub async fn run(plan: &Plan, keys: Keys) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut accord = Vec::new();
    let mut bare = Vec::new();
    for run in 0..plan.runs {
        for first in [run % 2 == 0, run % 2 != 0] {
            if first {
                let rate = accord_run(plan.memory_events, keys).await?;
                eprintln!("  run {run} memory {keys:?} keys accord: {rate:.0} events/s");
                accord.push(rate);
            } else {
                let rate = bare_run(plan.memory_events, keys).await?;
                eprintln!("  run {run} memory {keys:?} keys bare: {rate:.0} events/s");
                bare.push(rate);
            }
        }
    }
    Ok((accord, bare))
}

fn timeout(events: u64) -> Duration {
    Duration::from_secs(30 + events / 10_000)
}

async fn accord_run(count: u64, keys: Keys) -> Result<f64> {
    let broker = MemoryBroker::new();
    let sink = Sink::new();
    let handle = Subscriber::new(broker.clone(), "bench")
        .concurrency(IN_FLIGHT)
        .start(Handler(sink.clone()).into_event_handlers())
        .await?;
    let publisher = BenchOrdersPublisher::new(broker.clone());
    let events = keys.events();
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

/// An event as the bare channel carries it: its headers and its payload.
type Envelope = (Vec<(&'static str, String)>, Bytes);

async fn bare_run(count: u64, keys: Keys) -> Result<f64> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Envelope>(CAPACITY);
    let sink = Sink::new();
    let consumer_sink = sink.clone();
    let consumer = tokio::spawn(async move {
        while let Some((headers, payload)) = rx.recv().await {
            let kind = headers.iter().find(|(name, _)| *name == "ce-type");
            if kind.map(|(_, value)| value.as_str()) != Some(TOPIC) {
                bail!("an event without the type {TOPIC}");
            }
            let event: OrderPlaced = serde_json::from_slice(&payload)?;
            consumer_sink.handle(&event);
        }
        anyhow::Ok(())
    });
    let events = keys.events();
    let started = Instant::now();
    for n in 0..count {
        let event = &events[(n % CUSTOMERS) as usize];
        let id = uuid::Uuid::new_v4().to_string();
        let headers = event_headers(&id, &event.customer_id.0);
        let payload = Bytes::from(serde_json::to_vec(event)?);
        tx.send((headers, payload)).await?;
    }
    sink.wait_for(count, timeout(count)).await?;
    let rate = count as f64 / started.elapsed().as_secs_f64();
    drop(tx);
    consumer.await??;
    Ok(rate)
}
