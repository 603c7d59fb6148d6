//! A run's figures phase by phase: both operations' latencies and failures,
//! the quote's latency while a circuit is open, A's peak vitals, the
//! circuits' states, and how long the chain took to recover.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::load::{Failure, Op, Sample};
use crate::scenario::{Phase, Reading, Run};
use crate::services::Defences;
use crate::vitals::{Circuit, Vitals};

/// One operation's calls in a phase.
#[derive(Debug, Clone, Default)]
pub struct OpFigures {
    pub calls: usize,
    pub ok: usize,
    /// Of every call, successful or not.
    pub p50: Duration,
    pub p99: Duration,
    /// Failures by kind.
    pub failures: BTreeMap<Failure, usize>,
}

impl OpFigures {
    fn of<'a>(samples: impl Iterator<Item = &'a Sample>) -> OpFigures {
        let mut figures = OpFigures::default();
        let mut latencies = Vec::new();
        for sample in samples {
            figures.calls += 1;
            latencies.push(sample.latency);
            match sample.outcome {
                Ok(()) => figures.ok += 1,
                Err(failure) => *figures.failures.entry(failure).or_default() += 1,
            }
        }
        figures.p50 = quantile(&mut latencies, 0.50);
        figures.p99 = quantile(&mut latencies, 0.99);
        figures
    }

    /// The failures as `kind ×count`, or `none`.
    pub fn failures_text(&self) -> String {
        if self.failures.is_empty() {
            return "none".into();
        }
        self.failures
            .iter()
            .map(|(failure, n)| format!("{} ×{n}", failure.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The nearest-rank `q` quantile, zero for no samples.
pub fn quantile(values: &mut [Duration], q: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort_unstable();
    let rank = (q * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// One phase of a run.
#[derive(Debug, Clone)]
pub struct PhaseFigures {
    pub phase: Phase,
    pub catalog: OpFigures,
    pub quote: OpFigures,
    /// The quotes started while a circuit of the chain was open (not
    /// half-open, when a call may be one of its probes).
    pub quote_while_open: Option<OpFigures>,
    /// The most A held at any reading of the phase, field by field.
    pub peak: Vitals,
    /// The states A's circuit to B went through, in order.
    pub shopfront_circuit: Vec<Circuit>,
    /// The states B's circuit to C went through, in order.
    pub tax_circuit: Vec<Circuit>,
}

/// A run's figures.
#[derive(Debug, Clone)]
pub struct Summary {
    pub defences: Defences,
    pub phases: Vec<PhaseFigures>,
    /// From C healing to the first quote after which every quote succeeded;
    /// `None` if quotes still failed at the end.
    pub recovery: Option<Duration>,
}

impl Summary {
    /// The figures of `run`.
    pub fn of(run: &Run) -> Summary {
        let bounds: Vec<(Phase, Duration, Duration)> = run
            .phase_starts
            .iter()
            .enumerate()
            .map(|(i, (phase, from))| {
                let to = run.phase_starts.get(i + 1).map_or(run.end, |next| next.1);
                let from = if *phase == Phase::Healthy {
                    *from + run.plan.warm_up
                } else {
                    *from
                };
                (*phase, from, to)
            })
            .collect();
        let phases = bounds
            .iter()
            .map(|&(phase, from, to)| phase_figures(run, phase, from, to))
            .collect();
        let healed = run
            .phase_starts
            .iter()
            .find(|(phase, _)| *phase == Phase::Healed)
            .map_or(run.end, |(_, at)| *at);
        Summary {
            defences: run.defences,
            phases,
            recovery: recovery(&run.samples, healed),
        }
    }

    /// The phase's figures.
    pub fn phase(&self, phase: Phase) -> &PhaseFigures {
        self.phases
            .iter()
            .find(|p| p.phase == phase)
            .expect("every phase is summed up")
    }

    /// A table for the terminal.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "defences {}:", self.defences.name());
        let _ = writeln!(
            out,
            "  {:<10} {:>17} {:>17} {:>9} {:>17} {:>22}  quote failures",
            "phase",
            "catalog p50/p99",
            "quote p50/p99",
            "quote ok",
            "p99 circuit open",
            "A peak fds/tasks/RSS"
        );
        for p in &self.phases {
            let open = p
                .quote_while_open
                .as_ref()
                .map_or("-".to_owned(), |f| format!("{} ({})", ms(f.p99), f.calls));
            let _ = writeln!(
                out,
                "  {:<10} {:>17} {:>17} {:>9} {:>17} {:>22}  {}",
                p.phase.name(),
                format!("{}/{}", ms(p.catalog.p50), ms(p.catalog.p99)),
                format!("{}/{}", ms(p.quote.p50), ms(p.quote.p99)),
                format!("{}/{}", p.quote.ok, p.quote.calls),
                open,
                format!("{}/{}/{:.1} MB", p.peak.fds, p.peak.tasks, p.peak.rss_mb()),
                p.quote.failures_text(),
            );
            if !p.catalog.failures.is_empty() {
                let _ = writeln!(
                    out,
                    "  {:<10} catalog failures: {}",
                    "",
                    p.catalog.failures_text()
                );
            }
            let _ = writeln!(
                out,
                "  {:<10} circuits: B to C {}; A to B {}",
                "",
                states(&p.tax_circuit),
                states(&p.shopfront_circuit)
            );
        }
        let _ = writeln!(
            out,
            "  recovery: {}",
            self.recovery.map_or_else(
                || "quotes still failed at the end".to_owned(),
                |d| format!(
                    "every quote succeeded from {:.1} s after C healed",
                    d.as_secs_f64()
                )
            )
        );
        out
    }
}

/// `closed → open → half-open`.
pub fn states(states: &[Circuit]) -> String {
    states
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(" → ")
}

/// A latency, short.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn phase_figures(run: &Run, phase: Phase, from: Duration, to: Duration) -> PhaseFigures {
    let in_phase: Vec<&Sample> = run
        .samples
        .iter()
        .filter(|s| s.at >= from && s.at < to)
        .collect();
    let of = |op: Op| OpFigures::of(in_phase.iter().copied().filter(|s| s.op == op));
    let open: Vec<&Sample> = in_phase
        .iter()
        .copied()
        .filter(|s| s.op == Op::Quote && run.open_when(s))
        .collect();
    let readings: Vec<&Reading> = run
        .readings
        .iter()
        .filter(|r| r.at >= from && r.at < to)
        .collect();
    let mut peak = Vitals::default();
    let mut shopfront_circuit = Vec::new();
    let mut tax_circuit = Vec::new();
    for r in &readings {
        peak.fds = peak.fds.max(r.shopfront.fds);
        peak.sockets = peak.sockets.max(r.shopfront.sockets);
        peak.tasks = peak.tasks.max(r.shopfront.tasks);
        peak.rss_bytes = peak.rss_bytes.max(r.shopfront.rss_bytes);
        if shopfront_circuit.last() != Some(&r.shopfront.circuit) {
            shopfront_circuit.push(r.shopfront.circuit);
        }
        if tax_circuit.last() != Some(&r.tax_circuit) {
            tax_circuit.push(r.tax_circuit);
        }
    }
    PhaseFigures {
        phase,
        catalog: of(Op::Catalog),
        quote: of(Op::Quote),
        quote_while_open: (!open.is_empty()).then(|| OpFigures::of(open.into_iter())),
        peak,
        shopfront_circuit,
        tax_circuit,
    }
}

/// From `healed` to the start of the first quote after the last failed one
/// (zero if none failed after `healed`); `None` if the last quote failed.
fn recovery(samples: &[Sample], healed: Duration) -> Option<Duration> {
    let mut quotes: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.op == Op::Quote && s.at >= healed)
        .collect();
    quotes.sort_by_key(|s| s.at);
    match quotes.iter().rposition(|s| s.outcome.is_err()) {
        None => Some(Duration::ZERO),
        Some(last_failed) => quotes.get(last_failed + 1).map(|s| s.at - healed),
    }
}

/// The line the scenario prints each second: the last second's calls and
/// A's latest vitals.
pub fn progress_line(
    at: Duration,
    phase: Phase,
    window: &[Sample],
    last: Option<Reading>,
) -> String {
    let figures = |op: Op| OpFigures::of(window.iter().filter(|s| s.op == op));
    let catalog = figures(Op::Catalog);
    let quote = figures(Op::Quote);
    let mut line = format!(
        "{:>5.1} s  {:<10} catalog {:>3} ok p99 {:>8} | quote {:>3} ok {:>3} failed p99 {:>8}",
        at.as_secs_f64(),
        phase.name(),
        catalog.ok,
        ms(catalog.p99),
        quote.ok,
        quote.calls - quote.ok,
        ms(quote.p99),
    );
    if let Some(r) = last {
        let _ = write!(
            line,
            " | circuits B→C {:<9} A→B {:<9} | A fds {:>4} tasks {:>4} RSS {:>5.1} MB",
            r.tax_circuit.name(),
            r.shopfront.circuit.name(),
            r.shopfront.fds,
            r.shopfront.tasks,
            r.shopfront.rss_mb()
        );
    }
    if let Some((failure, _)) = quote.failures.iter().max_by_key(|(_, n)| **n) {
        let _ = write!(line, " | {}", failure.name());
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(at_ms: u64, ok: bool) -> Sample {
        Sample {
            op: Op::Quote,
            at: Duration::from_millis(at_ms),
            latency: Duration::from_millis(1),
            outcome: if ok { Ok(()) } else { Err(Failure::Other) },
        }
    }

    #[test]
    fn recovery_is_the_first_success_after_the_last_failure() {
        let healed = Duration::from_millis(1000);
        let samples = [
            quote(900, false),
            quote(1100, false),
            quote(1500, true),
            quote(2000, false),
            quote(2500, true),
            quote(3000, true),
        ];
        assert_eq!(
            recovery(&samples, healed),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(recovery(&samples[..4], healed), None);
        assert_eq!(recovery(&samples[..1], healed), Some(Duration::ZERO));
    }

    #[test]
    fn nearest_rank_quantiles() {
        let mut values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&mut values, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&mut values, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&mut [], 0.5), Duration::ZERO);
    }
}
