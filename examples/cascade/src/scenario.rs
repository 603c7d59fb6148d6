//! The scenario: C, B and A started on loopback ports (A in a process of
//! its own), a steady load on both of A's operations, and C slow, then
//! failing, then healed, one phase after the other.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use accord::http::ServeOptions;
use anyhow::{Context as _, Result};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::contract::PricingServer;
use crate::load::{self, Op, Sample, Samples};
use crate::process::{Launcher, VitalsLines};
use crate::services::{tax_router, Defences, Fault, FaultSwitch, PricingService};
use crate::summary::{progress_line, Summary};
use crate::vitals::{open_for, Circuit, Vitals};
use accord::resilience::CircuitState;

/// A phase of the scenario: what C does during it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// C answers at once.
    Healthy,
    /// Every call to C takes [`Plan::slow`].
    Slow,
    /// C answers 503 at once.
    Failing,
    /// C answers at once again.
    Healed,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 4] = [Phase::Healthy, Phase::Slow, Phase::Failing, Phase::Healed];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Healthy => "C healthy",
            Phase::Slow => "C slow",
            Phase::Failing => "C failing",
            Phase::Healed => "C healed",
        }
    }
}

/// How long each phase lasts and how hard the load is.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Calls a second to each of A's two operations.
    pub rate: u32,
    /// The length of each phase, in [`Phase::ALL`]'s order.
    pub phases: [Duration; 4],
    /// How long each call to C takes while it is slow.
    pub slow: Duration,
    /// The start of the healthy phase left out of its figures.
    pub warm_up: Duration,
}

impl Plan {
    /// The scenario the example and the benchmark run: 30 s a side.
    pub fn standard() -> Plan {
        Plan {
            rate: 40,
            phases: [6, 10, 6, 8].map(Duration::from_secs),
            slow: Duration::from_secs(4),
            warm_up: Duration::from_secs(1),
        }
    }

    /// A short run, for tests: 12 s.
    pub fn short() -> Plan {
        Plan {
            rate: 20,
            phases: [2, 4, 1, 5].map(Duration::from_secs),
            slow: Duration::from_secs(3),
            warm_up: Duration::from_millis(500),
        }
    }

    fn fault(&self, phase: Phase) -> Fault {
        match phase {
            Phase::Healthy | Phase::Healed => Fault::None,
            Phase::Slow => Fault::Slow(self.slow),
            Phase::Failing => Fault::Failing,
        }
    }
}

/// A's vitals, and the state of B's circuit to C, at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    /// From the start of the run.
    pub at: Duration,
    /// A's vitals, with A's circuit to B.
    pub shopfront: Vitals,
    /// B's circuit to C.
    pub tax_circuit: Circuit,
    /// Until when (from the start of the run) B's circuit to C stays open,
    /// if it is open.
    pub tax_open_until: Option<Duration>,
}

impl Reading {
    /// Until when A's circuit to B stays open, if it is open.
    pub fn shopfront_open_until(&self) -> Option<Duration> {
        self.shopfront
            .circuit_retry_in_ms
            .map(|ms| self.at + Duration::from_millis(ms))
    }

    /// Whether a circuit of the chain was open (not half-open: a call then
    /// may be a probe) at `at`, a moment after this reading.
    pub fn open_at(&self, at: Duration) -> bool {
        [self.tax_open_until, self.shopfront_open_until()]
            .into_iter()
            .flatten()
            .any(|until| at < until)
    }
}

/// What one run of the scenario recorded.
#[derive(Debug, Clone)]
pub struct Run {
    pub defences: Defences,
    pub plan: Plan,
    /// Every call of the load.
    pub samples: Vec<load::Sample>,
    /// A's vitals over the run.
    pub readings: Vec<Reading>,
    /// When each phase began, from the start of the run.
    pub phase_starts: Vec<(Phase, Duration)>,
    /// When the load stopped.
    pub end: Duration,
}

/// Starts `router` on a loopback port; the sender stops it.
async fn serve(router: axum::Router) -> Result<(String, oneshot::Sender<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(
        ServeOptions::new()
            .shutdown_grace(Duration::from_secs(1))
            .serve(listener, router, async {
                let _ = stopped.await;
            }),
    );
    Ok((url, stop))
}

/// Runs the scenario once with the defences on or off; `progress` gets a
/// line a second.
pub async fn run(
    plan: &Plan,
    defences: Defences,
    launcher: &Launcher,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<Run> {
    let faults = FaultSwitch::default();
    let (tax_url, stop_tax) = serve(tax_router(faults.clone())).await?;
    let pricing = PricingService::new(&tax_url, defences)?;
    let tax_transport = pricing.tax_transport().clone();
    let (pricing_url, stop_pricing) = serve(pricing.into_router()).await?;
    let (shopfront, lines) = launcher.start(&pricing_url, defences).await?;

    let start = Instant::now();
    let total: Duration = plan.phases.iter().sum();
    let until = start + total;
    let readings = Arc::new(Mutex::new(Vec::new()));
    let reader = tokio::spawn(read_vitals(lines, start, readings.clone(), move || {
        tax_transport.circuit_state()
    }));
    let samples = Samples::default();
    // Each operation has users of its own, with their own connections.
    let mut loads = Vec::new();
    for op in [Op::Catalog, Op::Quote] {
        loads.push(tokio::spawn(load::drive(
            load::user_client(&shopfront.url)?,
            op,
            plan.rate,
            start,
            until,
            samples.clone(),
        )));
    }

    let mut phase_starts = Vec::new();
    let mut phase_end = start;
    for (phase, length) in Phase::ALL.into_iter().zip(plan.phases) {
        // The phase starts when C changes, which may be a little after
        // its planned time on a busy machine: a call started before then
        // belongs to the phase before.
        faults.set(plan.fault(phase));
        phase_starts.push((phase, start.elapsed()));
        phase_end += length;
        let mut second = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_secs(1),
            Duration::from_secs(1),
        );
        while Instant::now() + Duration::from_millis(500) < phase_end {
            let now = second.tick().await.into_std();
            let last = readings.lock().expect("readings poisoned").last().copied();
            let window = samples.between(
                (now - start).saturating_sub(Duration::from_secs(1)),
                now - start,
            );
            progress(&progress_line(now - start, phase, &window, last));
        }
        tokio::time::sleep_until(phase_end.into()).await;
    }
    let end = start.elapsed();
    for load in loads {
        load.await.context("the load panicked")?;
    }
    shopfront.stop(Duration::from_secs(5)).await?;
    let _ = reader.await;
    let _ = stop_pricing.send(());
    let _ = stop_tax.send(());
    let readings = readings.lock().expect("readings poisoned").clone();
    Ok(Run {
        defences,
        plan: plan.clone(),
        samples: samples.all(),
        readings,
        phase_starts,
        end,
    })
}

async fn read_vitals(
    mut lines: VitalsLines,
    start: Instant,
    readings: Arc<Mutex<Vec<Reading>>>,
    tax_circuit: impl Fn() -> Option<CircuitState>,
) -> Result<()> {
    while let Some(line) = lines.next_line().await? {
        let shopfront: Vitals = serde_json::from_str(&line)
            .with_context(|| format!("the shopfront process printed {line:?}"))?;
        let state = tax_circuit();
        let at = start.elapsed();
        readings.lock().expect("readings poisoned").push(Reading {
            at,
            shopfront,
            tax_circuit: Circuit::of(state),
            tax_open_until: open_for(state).map(|d| at + d),
        });
    }
    Ok(())
}

impl Run {
    /// Its figures, phase by phase.
    pub fn summary(&self) -> Summary {
        Summary::of(self)
    }

    /// The phase under way at `at`.
    pub fn phase_at(&self, at: Duration) -> Phase {
        self.phase_starts
            .iter()
            .rev()
            .find(|(_, from)| *from <= at)
            .map_or(Phase::Healthy, |(phase, _)| *phase)
    }

    /// The calls of `op` started in one of `phases`, but for the warm-up.
    pub fn calls<'a>(&'a self, op: Op, phases: &'a [Phase]) -> impl Iterator<Item = &'a Sample> {
        self.samples.iter().filter(move |s| {
            s.op == op && phases.contains(&self.phase_at(s.at)) && s.at >= self.plan.warm_up
        })
    }

    /// The reading in force at `at`: the last one taken before it.
    pub fn reading_at(&self, at: Duration) -> Option<&Reading> {
        let after = self.readings.partition_point(|r| r.at <= at);
        after.checked_sub(1).map(|i| &self.readings[i])
    }

    /// Whether a circuit of the chain was open when `sample` started.
    pub fn open_when(&self, sample: &Sample) -> bool {
        self.reading_at(sample.at)
            .is_some_and(|r| r.open_at(sample.at))
    }
}
