//! The CLI: `accord generate` cold and warm as a process, and the emit step
//! over a synthetic set of contracts in a process of its own
//! (`accord-bench-emit`), next to the same files written by hand.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::process::output_within;
use crate::report::{Absolute, Report, Unit};
use crate::synth::{EMIT_OPERATIONS, EMIT_SERVICES};
use crate::Plan;

const SECTION: &str = "CLI: accord generate";

/// The longest one `accord generate` may take: a cold one builds an
/// exporter per contract crate (about a minute each on two cores).
const GENERATE_LIMIT: Duration = Duration::from_secs(20 * 60);

/// The longest `accord-bench-emit` may take for all its runs.
const EMIT_LIMIT: Duration = Duration::from_secs(10 * 60);

pub fn run(plan: &Plan, report: &mut Report) -> Result<()> {
    let accord = exe_beside("accord")?;
    let root = crate::workspace_root();
    let scratch = plan.scratch.join("cli");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let result = measure(plan, report, &accord, &root, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn measure(
    plan: &Plan,
    report: &mut Report,
    accord: &Path,
    root: &Path,
    scratch: &Path,
) -> Result<()> {
    let mut cold = Vec::new();
    let mut cache = PathBuf::new();
    for run in 0..plan.cold_runs {
        if run > 0 {
            let _ = std::fs::remove_dir_all(&cache);
        }
        cache = scratch.join(format!("cache-{run}"));
        let seconds = generate(accord, root, &scratch.join(format!("cold-{run}")), &cache)?;
        eprintln!("  cold generate {run}: {seconds:.1} s");
        cold.push(seconds * 1000.0);
    }
    let mut warm = Vec::new();
    for run in 0..plan.warm_runs {
        let seconds = generate(accord, root, &scratch.join(format!("warm-{run}")), &cache)?;
        eprintln!("  warm generate {run}: {seconds:.2} s");
        warm.push(seconds * 1000.0);
    }
    let _ = std::fs::remove_dir_all(&cache);
    report.absolutes.push(Absolute {
        section: SECTION,
        what: "cold `accord generate contracts/` (empty cache folder)".into(),
        unit: Unit::Millis,
        values: cold,
        goal: None,
    });
    report.absolutes.push(Absolute {
        section: SECTION,
        what: "warm `accord generate contracts/` (exporters built)".into(),
        unit: Unit::Millis,
        values: warm,
        goal: None,
    });

    let emit = emit_runs(plan.emit_runs, &exe_beside("accord-bench-emit")?, scratch)?;
    report.absolutes.push(Absolute {
        section: SECTION,
        what: format!(
            "emit after export: {EMIT_SERVICES} services, {EMIT_OPERATIONS} operations, into an empty folder"
        ),
        unit: Unit::Millis,
        values: emit.iter().map(|run| run.emit_ms).collect(),
        goal: Some(50.0),
    });
    report.absolutes.push(Absolute {
        section: SECTION,
        what: "the same files, already in memory, written into an empty folder by hand (the file system's share of the emit)".into(),
        unit: Unit::Millis,
        values: emit.iter().map(|run| run.by_hand_ms).collect(),
        goal: None,
    });
    report.absolutes.push(Absolute {
        section: SECTION,
        what: format!(
            "incremental emit, nothing changed: the same {EMIT_SERVICES} services into the folder just written"
        ),
        unit: Unit::Millis,
        values: emit.iter().map(|run| run.incremental_ms).collect(),
        goal: Some(20.0),
    });
    let last = emit.last().context("no emit runs")?;
    report.observations.push(format!(
        "The synthetic emit wrote {} files, {:.1} MB, per run.",
        last.files,
        last.bytes as f64 / 1e6
    ));
    Ok(())
}

/// One run of `accord-bench-emit`, as it reports it.
#[derive(serde::Deserialize)]
struct EmitRun {
    emit_ms: f64,
    incremental_ms: f64,
    by_hand_ms: f64,
    files: usize,
    bytes: u64,
}

/// The emit is timed in a process of its own, `accord-bench-emit`, built
/// with the `accord` binary's allocator (this harness keeps the system's
/// for both sides of every other section).
fn emit_runs(runs: usize, emitter: &Path, scratch: &Path) -> Result<Vec<EmitRun>> {
    let output = output_within(
        Command::new(emitter)
            .arg("--out")
            .arg(scratch.join("emit"))
            .arg("--runs")
            .arg(runs.to_string()),
        EMIT_LIMIT,
        &emitter.display().to_string(),
    )?;
    if !output.status.success() {
        bail!(
            "{} failed:\n{}",
            emitter.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let emit: Vec<EmitRun> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("accord-bench-emit wrote a line that is not a run")?;
    for (run, times) in emit.iter().enumerate() {
        eprintln!(
            "  emit {run}: {:.1} ms (by hand {:.1} ms), incremental {:.1} ms",
            times.emit_ms, times.by_hand_ms, times.incremental_ms
        );
    }
    if emit.len() != runs {
        bail!("accord-bench-emit reported {} of {runs} runs", emit.len());
    }
    Ok(emit)
}

/// A binary built next to this one.
fn exe_beside(name: &str) -> Result<PathBuf> {
    let path = std::env::current_exe()?.with_file_name(name);
    if !path.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release -p accord-bench -p accord-codegen` (scripts/bench.sh does)",
            path.display()
        );
    }
    Ok(path)
}

/// Runs `accord generate` over the workspace's contracts; wall seconds.
fn generate(accord: &Path, root: &Path, out: &Path, cache: &Path) -> Result<f64> {
    let started = Instant::now();
    let output = output_within(
        Command::new(accord)
            .arg("generate")
            .arg(root.join("contracts"))
            .arg("--out")
            .arg(out)
            .arg("--cache-dir")
            .arg(cache)
            .arg("--quiet")
            .current_dir(root),
        GENERATE_LIMIT,
        "accord generate",
    )?;
    let seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        bail!(
            "accord generate failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(out);
    Ok(seconds)
}
