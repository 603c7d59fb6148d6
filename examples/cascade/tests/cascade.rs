//! The short scenario, end to end on loopback HTTP with A in its own
//! process: what a user of A notices with the defences on (quotes fail fast
//! with the circuit open while C is in trouble, the catalogue still
//! answers, quotes succeed again soon after C heals) and off (quotes wait
//! on C and A piles up what it holds).
//!
//! The assertions are on outcomes and states; the only times compared are
//! far apart (a call refused at once against C's seconds of delay), so a
//! busy machine does not make them flaky.

use std::time::Duration;

use cascade::load::{CauseKind, Failure, Op, Sample};
use cascade::process::Launcher;
use cascade::scenario::{self, Phase, Plan, Run};
use cascade::services::{Defences, COOL_DOWN};
use cascade::vitals::Circuit;

/// The whole short run may take this long before the test says it hung.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

async fn run(defences: Defences) -> Run {
    let launcher = Launcher {
        program: env!("CARGO_BIN_EXE_cascade").into(),
        args: vec!["shopfront".into()],
    };
    let plan = Plan::short();
    tokio::time::timeout(
        RUN_TIMEOUT,
        scenario::run(&plan, defences, &launcher, &|line| eprintln!("{line}")),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the short scenario with the defences {} hung for {RUN_TIMEOUT:?}",
            defences.name()
        )
    })
    .expect("the scenario runs")
}

fn in_phases<'a>(run: &'a Run, op: Op, phases: &'a [Phase]) -> Vec<&'a Sample> {
    run.calls(op, phases).collect()
}

/// The quotes of `phase` but for its last half second: one started just
/// before C changes may reach C after it.
fn settled(run: &Run, phase: Phase) -> Vec<&Sample> {
    let end = run
        .phase_starts
        .iter()
        .skip_while(|(p, _)| *p != phase)
        .nth(1)
        .map_or(run.end, |(_, at)| *at);
    run.samples
        .iter()
        .filter(|s| s.op == Op::Quote && run.phase_at(s.at) == phase)
        .filter(|s| s.at + Duration::from_millis(500) < end)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_defences_quotes_fail_fast_and_recover_while_the_catalog_answers() {
    let run = run(Defences::On).await;
    let summary = run.summary();
    eprintln!("{}", summary.table());
    let slow = run.plan.slow;

    // The catalogue never noticed C's trouble.
    let catalog = in_phases(&run, Op::Catalog, &[Phase::Slow, Phase::Failing]);
    assert!(catalog.len() >= 40, "{} catalog calls", catalog.len());
    let failed: Vec<_> = catalog.iter().filter(|s| s.outcome.is_err()).collect();
    assert!(
        failed.is_empty(),
        "catalog calls failed while C was in trouble: {failed:?}"
    );

    // Once C is slow, B's circuit to C opens and quotes fail at once, saying so.
    let slow_phase = summary.phase(Phase::Slow);
    assert!(
        slow_phase.tax_circuit.contains(&Circuit::Open),
        "B's circuit to C went {:?} while C was slow",
        slow_phase.tax_circuit
    );
    let refused: Vec<&Sample> = in_phases(&run, Op::Quote, &[Phase::Slow, Phase::Failing])
        .into_iter()
        .filter(|s| s.outcome == Err(Failure::Downstream(CauseKind::CircuitOpen)))
        .collect();
    assert!(
        refused.len() >= 10,
        "{} quotes refused by the open circuit: {}",
        refused.len(),
        summary.table()
    );
    for s in &refused {
        assert!(
            s.latency < slow / 2,
            "a quote refused by the open circuit took {:?}, C takes {slow:?}",
            s.latency
        );
    }
    // No quote waited for C: each failed within its deadline or at once.
    for s in settled(&run, Phase::Slow) {
        assert!(
            s.outcome.is_err(),
            "a quote succeeded while C was slow: {s:?}"
        );
    }
    for s in in_phases(&run, Op::Quote, &[Phase::Slow, Phase::Failing]) {
        assert!(s.latency < slow, "a quote waited {:?} for C", s.latency);
    }

    // After C heals, the circuit lets probes through and quotes succeed again.
    let recovery = summary
        .recovery
        .unwrap_or_else(|| panic!("quotes still failed at the end: {}", summary.table()));
    assert!(
        recovery <= COOL_DOWN + Duration::from_secs(2),
        "quotes succeeded again only {recovery:?} after C healed (cool-down {COOL_DOWN:?})"
    );
    assert_eq!(
        summary.phase(Phase::Healed).tax_circuit.last(),
        Some(&Circuit::Closed),
        "B's circuit to C ends closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_defences_quotes_wait_on_c_and_pile_up_in_a() {
    let run = run(Defences::Off).await;
    let summary = run.summary();
    eprintln!("{}", summary.table());
    let slow = run.plan.slow;

    let quotes = settled(&run, Phase::Slow);
    assert!(
        quotes.len() >= 40,
        "{} quotes while C was slow",
        quotes.len()
    );
    for s in &quotes {
        assert!(
            s.latency >= slow,
            "a quote took {:?}, less than C's {slow:?}",
            s.latency
        );
    }
    let healthy = summary.phase(Phase::Healthy).peak;
    let piled = summary.phase(Phase::Slow).peak;
    // 20 quotes a second each held for 3 s: some 60 calls in flight in A.
    assert!(
        piled.tasks >= healthy.tasks + 30 && piled.sockets >= healthy.sockets + 30,
        "A held {piled:?} while C was slow, {healthy:?} while healthy"
    );
    assert!(summary.phase(Phase::Slow).tax_circuit == [Circuit::Off]);
}
