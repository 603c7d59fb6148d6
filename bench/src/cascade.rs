//! The cascade: three services A → B → C on loopback HTTP, C slow, then
//! failing, then healed, under a steady load on A, run with accord's client
//! defences and without them in the same run (the scenario is
//! `examples/cascade`'s, shared with `cargo run -p cascade`).

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Result;
use cascade::load::Op;
use cascade::process::{Launcher, MAX_CONNECTIONS};
use cascade::scenario::{self, Phase, Plan as Scenario, Run};
use cascade::services::{Defences, BULKHEAD, COOL_DOWN, PRICING_TIMEOUT, TAX_TIMEOUT};
use cascade::summary::{ms, quantile, states, Summary};

use crate::report::{Report, Written};
use crate::Plan;

/// The hidden subcommand the harness runs the shopfront (A) process with.
pub const SHOPFRONT_COMMAND: &str = "cascade-shopfront";

/// The goals, from the issue that asked for the defences.
const CATALOG_P99_RATIO: f64 = 1.2;
const QUOTE_P99_OPEN_MS: f64 = 50.0;
const RSS_RATIO: f64 = 1.25;
const RECOVERY: Duration = Duration::from_secs(5);

pub fn run(plan: &Plan, report: &mut Report) -> Result<()> {
    let launcher = Launcher {
        program: std::env::current_exe()?,
        args: vec![SHOPFRONT_COMMAND.into()],
    };
    let scenario = if plan.quick {
        Scenario::short()
    } else {
        Scenario::standard()
    };
    let runtime = crate::runtime()?;
    let measured = format!(
        "Measured {}, {} cores, load average (1, 5, 15 min) {} before",
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        crate::load_average(),
    );
    let mut runs = Vec::new();
    for defences in [Defences::On, Defences::Off] {
        eprintln!("  defences {}", defences.name());
        let run = runtime.block_on(scenario::run(&scenario, defences, &launcher, &|line| {
            eprintln!("  {line}")
        }))?;
        eprintln!("{}", run.summary().table());
        runs.push(run);
    }
    let measured = format!("{measured} and {} after.", crate::load_average());
    report.cascade = Some(written(&scenario, &runs[0], &runs[1], &measured));
    Ok(())
}

/// The p99 latency of `op`'s calls over `phases`.
fn p99(run: &Run, op: Op, phases: &[Phase]) -> Duration {
    let mut latencies: Vec<Duration> = run.calls(op, phases).map(|s| s.latency).collect();
    quantile(&mut latencies, 0.99)
}

const HEALTHY: [Phase; 2] = [Phase::Healthy, Phase::Healed];
const TROUBLE: [Phase; 2] = [Phase::Slow, Phase::Failing];

/// What the goals are measured on.
struct Verdicts {
    lines: Vec<String>,
}

impl Verdicts {
    fn check(&mut self, what: String, value: String, goal: String, met: bool) {
        self.lines.push(format!(
            "- {what}: {value} (goal {goal}): {}",
            if met { "met" } else { "**missed**" }
        ));
    }
}

fn written(scenario: &Scenario, on: &Run, off: &Run, measured: &str) -> Written {
    let (on_sum, off_sum) = (on.summary(), off.summary());
    let mut verdicts = Verdicts { lines: Vec::new() };

    let healthy = p99(on, Op::Catalog, &HEALTHY);
    let trouble = p99(on, Op::Catalog, &TROUBLE);
    let ratio = trouble.as_secs_f64() / healthy.as_secs_f64();
    verdicts.check(
        "defences on: catalog (calls no other service), p99 with C slow or failing / with C healthy".into(),
        format!("{} / {} = {ratio:.2}×", ms(trouble), ms(healthy)),
        format!("≤ {CATALOG_P99_RATIO}×"),
        ratio <= CATALOG_P99_RATIO,
    );

    let mut open: Vec<Duration> = on
        .calls(Op::Quote, &TROUBLE)
        .filter(|s| on.open_when(s))
        .map(|s| s.latency)
        .collect();
    let calls = open.len();
    let open_p99 = quantile(&mut open, 0.99);
    verdicts.check(
        format!("defences on: quote (needs C), p99 while a circuit is open, C slow or failing ({calls} calls; not the probes of a half-open circuit)"),
        ms(open_p99),
        format!("< {QUOTE_P99_OPEN_MS:.0} ms"),
        calls > 0 && open_p99.as_secs_f64() * 1000.0 < QUOTE_P99_OPEN_MS,
    );

    let peak = |summary: &Summary, phases: &[Phase]| {
        let mut peak = cascade::vitals::Vitals::default();
        for p in summary.phases.iter().filter(|p| phases.contains(&p.phase)) {
            peak.fds = peak.fds.max(p.peak.fds);
            peak.sockets = peak.sockets.max(p.peak.sockets);
            peak.tasks = peak.tasks.max(p.peak.tasks);
            peak.rss_bytes = peak.rss_bytes.max(p.peak.rss_bytes);
        }
        peak
    };
    let (calm, stormy) = (peak(&on_sum, &[Phase::Healthy]), peak(&on_sum, &TROUBLE));
    // Each call in flight to B holds the user's connection to A and one to
    // B, and at most the bulkhead's worth are in flight.
    let bound = 2 * BULKHEAD;
    verdicts.check(
        "defences on: A's open descriptors, peak with C slow or failing vs C healthy".into(),
        format!("{} vs {}", stormy.fds, calm.fds),
        format!("≤ healthy + {bound}, two per call the bulkhead lets through"),
        stormy.fds <= calm.fds + bound,
    );
    verdicts.check(
        "defences on: A's alive tasks, peak with C slow or failing vs C healthy".into(),
        format!("{} vs {}", stormy.tasks, calm.tasks),
        format!("≤ healthy + {bound}"),
        stormy.tasks <= calm.tasks + bound,
    );
    let rss_ratio = stormy.rss_bytes as f64 / calm.rss_bytes as f64;
    verdicts.check(
        "defences on: A's resident memory, peak with C slow or failing vs C healthy".into(),
        format!(
            "{:.1} MB vs {:.1} MB = {rss_ratio:.2}×",
            stormy.rss_mb(),
            calm.rss_mb()
        ),
        format!("≤ {RSS_RATIO}×"),
        rss_ratio <= RSS_RATIO,
    );
    verdicts.check(
        "defences on: recovery, from C healing until every quote succeeds".into(),
        on_sum.recovery.map_or("not within the phase".into(), |d| {
            format!("{:.1} s", d.as_secs_f64())
        }),
        format!("≤ {} s", RECOVERY.as_secs()),
        on_sum.recovery.is_some_and(|d| d <= RECOVERY),
    );

    // Both phases have C healthy: how far apart two p99s of the same calls
    // are on this machine with nothing wrong.
    let noise = |run: &Run| {
        let before = p99(run, Op::Catalog, &[Phase::Healthy]);
        let after = p99(run, Op::Catalog, &[Phase::Healed]);
        format!(
            "{} then {} ({:.2}×)",
            ms(before),
            ms(after),
            after.as_secs_f64() / before.as_secs_f64()
        )
    };
    let noise = format!(
        "For scale, the catalog's p99 with C healthy, before C's trouble and after it: {} with \
         the defences on, {} with them off.",
        noise(on),
        noise(off)
    );
    let off_healthy = p99(off, Op::Catalog, &HEALTHY);
    let off_trouble = p99(off, Op::Catalog, &TROUBLE);
    let (off_calm, off_stormy) = (peak(&off_sum, &[Phase::Healthy]), peak(&off_sum, &TROUBLE));
    let mut md = String::new();
    let _ = write!(
        md,
        "### Cascade: A → B → C on loopback HTTP, C slow, failing, then healed\n\n\
         {rate} calls a second to each of A's two operations, open loop: `catalog` answers from \
         A's memory, `quote` asks B, which asks C. C answers at once for {p0} s, then takes \
         {slow:?} a call for {p1} s, then answers 503 at once for {p2} s, then answers at once \
         again for {p3} s. A serves at most {max_conn} connections at once. *Defences on*: A's \
         client to B has a {pricing:?} deadline, B's client to C {tax:?} (and never more than \
         A's call has left), both with the default breaker but a {cool:?} cool-down, the \
         default retries and a bulkhead of {bulkhead}. *Defences off*: \
         `DefenceSettings::off()` and the default 30 s timeout. Latencies are the users' \
         (the load's client, 10 s timeout), of every call, failed or not; A runs in a process \
         of its own and reports its descriptors (`/proc/self/fd`), tokio's alive tasks and \
         its RSS (`/proc/self/statm`) every 100 ms. One run of each side, on first. \
         {measured}\n\n",
        rate = scenario.rate,
        p0 = scenario.phases[0].as_secs(),
        slow = scenario.slow,
        p1 = scenario.phases[1].as_secs(),
        p2 = scenario.phases[2].as_secs(),
        p3 = scenario.phases[3].as_secs(),
        max_conn = MAX_CONNECTIONS,
        pricing = PRICING_TIMEOUT,
        tax = TAX_TIMEOUT,
        cool = COOL_DOWN,
        bulkhead = BULKHEAD,
    );
    md.push_str("Goals:\n\n");
    for line in &verdicts.lines {
        md.push_str(line);
        md.push('\n');
    }
    let _ = writeln!(md, "\n{noise}");
    let _ = writeln!(
        md,
        "\nThe same with the defences off: catalog p99 {} with C slow or failing against {} \
         with C healthy ({:.2}×); A's peak descriptors {} against {}, tasks {} against {}, RSS \
         {:.1} MB against {:.1} MB; {}.\n",
        ms(off_trouble),
        ms(off_healthy),
        off_trouble.as_secs_f64() / off_healthy.as_secs_f64(),
        off_stormy.fds,
        off_calm.fds,
        off_stormy.tasks,
        off_calm.tasks,
        off_stormy.rss_mb(),
        off_calm.rss_mb(),
        off_sum
            .recovery
            .map_or("quotes still failed at the end".to_owned(), |d| {
                format!(
                    "every quote succeeded from {:.1} s after C healed",
                    d.as_secs_f64()
                )
            }),
    );
    md.push_str(
        "| phase | defences | catalog p50 / p99 | quote p50 / p99 | quotes ok | quote p99 while a circuit is open | A's peak descriptors / tasks / RSS | circuit B→C; A→B | failed calls |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for phase in Phase::ALL {
        for summary in [&on_sum, &off_sum] {
            let p = summary.phase(phase);
            let mut failures = p.quote.failures_text();
            if !p.catalog.failures.is_empty() {
                failures = format!("quote: {failures}; catalog: {}", p.catalog.failures_text());
            }
            let _ =
                writeln!(
                md,
                "| {} | {} | {} / {} | {} / {} | {} / {} | {} | {} / {} / {:.1} MB | {}; {} | {} |",
                phase.name(),
                summary.defences.name(),
                ms(p.catalog.p50),
                ms(p.catalog.p99),
                ms(p.quote.p50),
                ms(p.quote.p99),
                p.quote.ok,
                p.quote.calls,
                p.quote_while_open
                    .as_ref()
                    .map_or("–".to_owned(), |f| format!("{} ({} calls)", ms(f.p99), f.calls)),
                p.peak.fds,
                p.peak.tasks,
                p.peak.rss_mb(),
                states(&p.tax_circuit),
                states(&p.shopfront_circuit),
                failures,
            );
        }
    }
    md.push('\n');
    Written {
        markdown: md,
        goals: verdicts.lines,
    }
}
