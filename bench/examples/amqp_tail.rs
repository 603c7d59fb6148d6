//! Where the end-to-end latency tail of RabbitMQ comes from: accord's
//! publisher and bare lapin's, each feeding accord's subscriber and bare
//! lapin's consumer in turn, so that each side's share of the tail shows.
//!
//! ```text
//! cargo build --release -p accord-bench --example amqp_tail
//! $CARGO_TARGET_DIR/release/examples/amqp_tail [ROUNDS] [BACKLOG]
//! ```
//!
//! Each round has four phases, one for each publisher (accord's, bare
//! lapin's) and consumer (an accord subscriber with 256 in flight, the
//! bare loop of the `amqp` section with a prefetch of 256), in an order
//! that turns by round. A phase publishes at 2,000 msg/s for 4 s, the
//! messages as the `amqp` section's latency probes are, from its
//! publisher's exchange to its consumer's queue only (a `#` binding made
//! for the phase; the queues' own bindings are removed at the start).
//! With `BACKLOG` (default 0) each phase first publishes that many
//! messages 1,024 in flight and waits until its consumer drained them, as
//! the `amqp` section's throughput phases do before its latency phase.
//!
//! It prints, for each phase and for all rounds, the p50, p99 and p99.9
//! latency from the event's making to its handler, and the publisher's
//! time to the confirm. The broker is `ACCORD_AMQP_URL`
//! (`amqp://guest:guest@127.0.0.1:5672/%2f` by default); everything it
//! declares is deleted at the end.

#[path = "../src/bare_lapin.rs"]
#[allow(dead_code)]
mod bare_lapin;
#[path = "support/cost_contract.rs"]
mod cost_contract;
#[path = "support/windowed.rs"]
mod windowed;
#[path = "../src/work.rs"]
#[allow(dead_code)]
mod work;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::broker::amqp::{AmqpBroker, AmqpNames, AmqpOptions};
use accord::Subscriber;
use anyhow::{bail, Context, Result};
use bare_lapin::BareLapin;
use cost_contract::{CostOrdersPublisher, CostOrdersSubscriber, TOPIC};
use lapin::options::QueueBindOptions;
use lapin::types::FieldTable;
use orders_contract::OrderPlaced;
use tokio::time::Instant;

const RATE: u64 = 2_000;
const PHASE: Duration = Duration::from_secs(4);
const IN_FLIGHT: u16 = 256;
/// Probes of each phase left out of the figures: its first 100 ms.
const WARM: usize = (RATE / 10) as usize;
/// The longest wait for a phase's messages to be handled.
const DRAIN: Duration = Duration::from_secs(60);

/// Latencies in nanoseconds since `base`, by the publisher whose phase it is.
struct Sink {
    base: std::time::Instant,
    handled: AtomicU64,
    latencies: Mutex<Vec<u64>>,
}

impl Sink {
    fn new(base: std::time::Instant) -> Arc<Self> {
        Arc::new(Sink {
            base,
            handled: AtomicU64::new(0),
            latencies: Mutex::new(Vec::new()),
        })
    }

    fn handle(&self, event: &OrderPlaced) {
        if event.total_cents != 0 {
            let now = stamp(self.base);
            self.latencies
                .lock()
                .expect("latencies poisoned")
                .push(now.saturating_sub(event.total_cents));
        }
        self.handled.fetch_add(1, Ordering::Relaxed);
    }

    fn take(&self) -> Vec<u64> {
        std::mem::take(&mut *self.latencies.lock().expect("latencies poisoned"))
    }

    async fn wait_for(&self, count: u64, who: &str) -> Result<()> {
        let deadline = Instant::now() + DRAIN;
        while self.handled.load(Ordering::Relaxed) < count {
            if Instant::now() >= deadline {
                bail!(
                    "{who} handled {} of {count} messages within {DRAIN:?}",
                    self.handled.load(Ordering::Relaxed)
                );
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }
}

fn stamp(base: std::time::Instant) -> u64 {
    u64::try_from(base.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[derive(Clone)]
struct Handler(Arc<Sink>);

impl CostOrdersSubscriber for Handler {
    async fn order_placed(&self, event: OrderPlaced) {
        self.0.handle(&event);
    }
}

fn url() -> String {
    std::env::var("ACCORD_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// Which publisher a phase uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Accord,
    Bare,
}

struct Setup {
    broker: AmqpBroker,
    publisher: CostOrdersPublisher<AmqpBroker>,
    bare: Arc<BareLapin>,
    base: std::time::Instant,
}

impl Setup {
    async fn publish(&self, side: Side, n: u64, stamp: u64) -> Result<()> {
        let event = work::order_placed(n, stamp);
        match side {
            Side::Accord => {
                self.publisher.order_placed(&event).await?;
                Ok(())
            }
            Side::Bare => self.bare.publish(&event).await,
        }
    }

    /// Publishes at [`RATE`] for [`PHASE`], each message from a task of
    /// its own; the times to each confirm, and how many were sent.
    async fn paced(self: &Arc<Self>, side: Side) -> Result<(Vec<u64>, u64)> {
        let total = RATE * PHASE.as_secs();
        let start = Instant::now();
        let mut tasks = Vec::with_capacity(total as usize);
        let mut sent = 0;
        while sent < total {
            let due = ((start.elapsed().as_secs_f64() * RATE as f64) as u64).min(total);
            while sent < due {
                let setup = self.clone();
                let n = sent;
                tasks.push(tokio::spawn(async move {
                    let made = stamp(setup.base);
                    setup.publish(side, n, made).await?;
                    anyhow::Ok(stamp(setup.base) - made)
                }));
                sent += 1;
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        let mut confirms = Vec::with_capacity(tasks.len());
        for task in tasks {
            confirms.push(task.await.context("a publish task panicked")??);
        }
        Ok((confirms, sent))
    }
}

fn quantiles(name: &str, mut samples: Vec<u64>) -> String {
    samples.sort_unstable();
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1));
        samples.get(i).copied().unwrap_or(0) as f64 / 1e6
    };
    format!(
        "{name}: p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms ({} samples)",
        at(0.5),
        at(0.99),
        at(0.999),
        samples.last().copied().unwrap_or(0) as f64 / 1e6,
        samples.len()
    )
}

/// Which side a phase's publisher or consumer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Accord,
    Bare,
}

const PHASES: [(Side, Who); 4] = [
    (Side::Accord, Who::Accord),
    (Side::Bare, Who::Bare),
    (Side::Accord, Who::Bare),
    (Side::Bare, Who::Accord),
];

async fn run(rounds: usize, backlog: u64) -> Result<()> {
    let id = format!("tail-{}", std::process::id());
    let base = std::time::Instant::now();
    let prefix = format!("accord-{id}");
    let broker = AmqpBroker::connect_with(&url(), AmqpOptions::default().prefix(&prefix)).await?;
    broker.declare_group("tail", &[TOPIC]).await?;
    let bare = Arc::new(BareLapin::connect(&url(), &id, TOPIC).await?);
    let names = AmqpNames::new(&prefix);
    let exchange = |side: Side| match side {
        Side::Accord => names.events_exchange(),
        Side::Bare => format!("bench-bare-{id}.events"),
    };
    let bare_queue = bare.queue.clone();
    let queue = |who: Who| match who {
        Who::Accord => names.group_queue("tail"),
        Who::Bare => bare_queue.clone(),
    };
    let accord_sink = Sink::new(base);
    let subscription = Subscriber::new(broker.clone(), "tail")
        .concurrency(IN_FLIGHT as usize)
        .start(Handler(accord_sink.clone()).into_event_handlers())
        .await?;
    let bare_sink = Sink::new(base);
    let consumer_sink = bare_sink.clone();
    let (channel, consuming) = bare
        .consume(IN_FLIGHT, move |event| consumer_sink.handle(event))
        .await?;
    let binding = bare.consuming.create_channel().await?;
    // Only the phase's own route stays: the queues' own bindings go (once
    // the subscriber, which binds its group's queue, has started).
    for (queue, exchange, key) in [
        (queue(Who::Accord), exchange(Side::Accord), TOPIC.to_owned()),
        (
            queue(Who::Accord),
            exchange(Side::Accord),
            format!("{TOPIC}._key.*"),
        ),
        (queue(Who::Bare), exchange(Side::Bare), TOPIC.to_owned()),
    ] {
        binding
            .queue_unbind(
                queue.as_str().into(),
                exchange.as_str().into(),
                key.as_str().into(),
                FieldTable::default(),
            )
            .await?;
    }

    let setup = Arc::new(Setup {
        publisher: CostOrdersPublisher::new(broker.clone()),
        broker,
        bare,
        base,
    });
    let mut handled = [0u64; 2];
    let mut figures: Vec<(Side, Who, &str, Vec<u64>)> = Vec::new();
    for round in 0..rounds {
        for turn in 0..PHASES.len() {
            let (side, who) = PHASES[(turn + round) % PHASES.len()];
            let (sink, expected, name) = match who {
                Who::Accord => (&accord_sink, &mut handled[0], "accord's subscriber"),
                Who::Bare => (&bare_sink, &mut handled[1], "the bare consumer"),
            };
            binding
                .queue_bind(
                    queue(who).as_str().into(),
                    exchange(side).as_str().into(),
                    "#".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            if backlog > 0 {
                let setup = &setup;
                windowed::windowed(backlog, |n| async move { setup.publish(side, n, 0).await })
                    .await?;
                *expected += backlog;
                sink.wait_for(*expected, name).await?;
                sink.take();
            }
            let (confirms, sent) = setup.paced(side).await?;
            *expected += sent;
            sink.wait_for(*expected, name).await?;
            binding
                .queue_unbind(
                    queue(who).as_str().into(),
                    exchange(side).as_str().into(),
                    "#".into(),
                    FieldTable::default(),
                )
                .await?;
            let skip = |mut v: Vec<u64>| v.split_off(WARM.min(v.len()));
            let latencies = skip(sink.take());
            let confirms = skip(confirms);
            println!(
                "round {round}, {side:?} publisher -> {who:?} consumer:\n  {}\n  {}",
                quantiles("handled", latencies.clone()),
                quantiles("confirmed", confirms.clone())
            );
            figures.push((side, who, "handled", latencies));
            figures.push((side, who, "confirmed", confirms));
        }
    }
    println!("all rounds:");
    for (side, who) in PHASES {
        for what in ["handled", "confirmed"] {
            let all: Vec<u64> = figures
                .iter()
                .filter(|(s, w, f, _)| (*s, *w, *f) == (side, who, what))
                .flat_map(|(_, _, _, v)| v.iter().copied())
                .collect();
            println!(
                "  {side:?} publisher -> {who:?} consumer, {}",
                quantiles(what, all)
            );
        }
    }

    subscription.shutdown().await;
    consuming.abort();
    let _ = channel.close(200, "OK".into()).await;
    setup.bare.delete().await;
    let _ = setup.broker.delete_topology().await;
    setup.broker.close().await;
    Ok(())
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let rounds = args.next().map_or(Ok(3), |a| a.parse()).context("ROUNDS")?;
    let backlog = args
        .next()
        .map_or(Ok(0), |a| a.parse())
        .context("BACKLOG")?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(rounds, backlog))
}
