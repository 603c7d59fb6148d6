//! The end-to-end latency of both sides of a broker, measured paired: each
//! side's consumer stays running after its throughput phases, and the two
//! take turns sending probes at the fixed rate.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use accord::SubscriberHandle;
use anyhow::{Context, Result};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{drain, ConsumeFrom, Sink, Throughput};
use crate::contract::BenchOrdersPublisher;
use crate::turns;
use crate::Plan;

/// A probe: sends latency probe `n` from a task of its own.
pub type Probe = Box<dyn FnMut(u64) -> JoinHandle<Result<()>>>;

/// One side after its throughput phases: its consumer still running on
/// the sink, ready for latency probes, and what stops it and removes what
/// the side declared.
pub struct Live {
    sink: Arc<Sink>,
    /// Messages of the throughput phases, handled before any probe.
    published: u64,
    /// Probes sent, numbering the next one.
    sent: u64,
    probe: Probe,
    /// Stops the consumer.
    stop: Pin<Box<dyn Future<Output = ()>>>,
    /// Removes what the side declared, once every side has stopped.
    remove: Pin<Box<dyn Future<Output = ()>>>,
}

/// One side's throughput phases done, its consumer still running.
pub struct Measured {
    pub throughput: Throughput,
    pub sink: Arc<Sink>,
    pub probe: Probe,
    /// Stops the consumer.
    pub stop: Pin<Box<dyn Future<Output = ()>>>,
}

impl Measured {
    /// A side whose consumer started on `sink` after publishing
    /// `published` messages at `publish_rate`: drained (timed `from`),
    /// then probed with `probe`; `stop` stops the consumer, at once if the
    /// drain fails.
    pub async fn drained(
        sink: Arc<Sink>,
        from: ConsumeFrom,
        (publish_rate, published): (f64, u64),
        probe: Probe,
        stop: impl Future<Output = ()> + 'static,
    ) -> Result<Measured> {
        match drain(&sink, from, published).await {
            Ok(consume_rate) => Ok(Measured {
                throughput: Throughput {
                    publish_rate,
                    consume_rate,
                    published,
                },
                sink,
                probe,
                stop: Box::pin(stop),
            }),
            Err(error) => {
                stop.await;
                Err(error)
            }
        }
    }

    /// accord's side: [`drained`](Self::drained), its probes sent through
    /// `publisher`, stopped by shutting its subscriber (`handle`) down.
    pub async fn accord<B>(
        publisher: &BenchOrdersPublisher<B>,
        sink: Arc<Sink>,
        handle: SubscriberHandle,
        from: ConsumeFrom,
        published: (f64, u64),
    ) -> Result<Measured>
    where
        B: accord::broker::Publish + Clone + Send + Sync + 'static,
    {
        let probe = accord_probes(publisher, &sink);
        Measured::drained(sink, from, published, probe, handle.shutdown()).await
    }

    /// The side, live for latency probes; `remove` removes what it
    /// declared.
    fn stopping(self, remove: impl Future<Output = ()> + 'static) -> (Throughput, Live) {
        let Measured {
            throughput,
            sink,
            probe,
            stop,
        } = self;
        let live = Live {
            sink,
            published: throughput.published,
            sent: 0,
            probe,
            stop,
            remove: Box::pin(remove),
        };
        (throughput, live)
    }
}

/// The side `measure` leaves running, with `remove` to run once it is
/// stopped; `remove` runs at once if `measure` fails.
pub async fn live(
    measure: impl Future<Output = Result<Measured>>,
    remove: impl Future<Output = ()> + 'static,
) -> Result<(Throughput, Live)> {
    match measure.await {
        Ok(measured) => Ok(measured.stopping(remove)),
        Err(error) => {
            remove.await;
            Err(error)
        }
    }
}

/// Runs `first`'s cycle, then `second`'s; stops `first`'s side if
/// `second`'s fails.
pub async fn in_turn<F, FF, S, SF>(
    first: F,
    second: S,
) -> Result<((Throughput, Live), (Throughput, Live))>
where
    F: FnOnce() -> FF,
    FF: Future<Output = Result<(Throughput, Live)>>,
    S: FnOnce() -> SF,
    SF: Future<Output = Result<(Throughput, Live)>>,
{
    let first = first().await?;
    match second().await {
        Ok(second) => Ok((first, second)),
        Err(error) => {
            first.1.stop().await.await;
            Err(error)
        }
    }
}

impl Live {
    /// Probes at `rate` for `period`, then waits for the confirms.
    async fn probe_for(&mut self, rate: usize, period: Duration) -> Result<()> {
        let total = (rate as f64 * period.as_secs_f64()) as u64;
        let start = Instant::now();
        let mut sent = 0u64;
        let mut tasks = Vec::with_capacity(total as usize);
        while sent < total {
            let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
            while sent < due {
                tasks.push((self.probe)(self.sent + sent));
                sent += 1;
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        self.sent += sent;
        for task in tasks {
            task.await.context("a publish task panicked")??;
        }
        Ok(())
    }

    /// Stops the side's consumer and drops its probe; returns the future
    /// that removes what the side declared. Nothing is removed until every side of the run
    /// has stopped: librdkafka crashed (a null topic name in its metadata
    /// cache) when a Kafka topic was deleted on tansu while another side's
    /// clients were still running.
    pub(super) async fn stop(self) -> Pin<Box<dyn Future<Output = ()>>> {
        let Live {
            probe,
            stop,
            remove,
            ..
        } = self;
        drop(probe);
        stop.await;
        remove
    }

    /// Waits until every probe sent was handled.
    async fn settled(&self) -> Result<()> {
        self.sink
            .wait_for(self.published + self.sent, PROBE_TIMEOUT)
            .await
    }
}

/// The most the last probes may take to be handled.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Probes on each side before the measured slices, which warm the path up
/// and are not counted.
const WARM_UP: Duration = Duration::from_millis(100);

/// How many slices each side's latency period is cut into.
const SLICES: u32 = 8;

/// The end-to-end latency at the fixed rate of two live sides, `(p50,
/// p99)` in milliseconds each: after [`WARM_UP`] of probes on each side,
/// the period is cut into
/// [`SLICES`] slices per side, sent in turn ([`turns::order`]: ABBA, `a`
/// first), so that both sides meet the same states of the broker and the
/// machine.
pub(super) async fn paired_latency(
    plan: &Plan,
    a: &mut Live,
    b: &mut Live,
) -> Result<((f64, f64), (f64, f64))> {
    for live in [&mut *a, &mut *b] {
        live.probe_for(plan.e2e_rate, WARM_UP).await?;
        live.settled().await?;
        live.sink.clear_latencies();
    }
    let slice = plan.e2e / SLICES;
    {
        let sides = [&mut *a, &mut *b];
        for side in turns::order(sides.len(), 0, SLICES) {
            sides[side].probe_for(plan.e2e_rate, slice).await?;
        }
    }
    a.settled().await?;
    b.settled().await?;
    Ok((a.sink.latency(), b.sink.latency()))
}

/// The latency probes of accord's side: event `n` through
/// the generated publisher, stamped by `sink` so that its handling gives a
/// latency.
pub fn accord_probes<B>(publisher: &BenchOrdersPublisher<B>, sink: &Arc<Sink>) -> Probe
where
    B: accord::broker::Publish + Clone + Send + Sync + 'static,
{
    let publisher = publisher.clone();
    let sink = sink.clone();
    Box::new(move |n| {
        let publisher = publisher.clone();
        let sink = sink.clone();
        tokio::spawn(async move {
            publisher
                .order_placed(&crate::work::order_placed(n, sink.stamp()))
                .await?;
            Ok(())
        })
    })
}
