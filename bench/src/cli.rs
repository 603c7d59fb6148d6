//! The CLI: `accord generate` cold and warm as a process, and the emit step
//! in process over a synthetic set of contracts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use accord_codegen::generate::publish;
use accord_codegen::names::check_names;
use accord_codegen::templates::Templates;
use accord_codegen::OpenApiVersion;
use anyhow::{bail, Context, Result};

use crate::report::{Absolute, Report, Unit};
use crate::Plan;

const SECTION: &str = "CLI: accord generate";

/// The synthetic set: services and operations.
pub const SYNTH_SERVICES: usize = 50;
pub const SYNTH_OPERATIONS: usize = 1000;

pub fn run(plan: &Plan, report: &mut Report) -> Result<()> {
    let exe = std::env::current_exe()?;
    let accord = exe.with_file_name("accord");
    if !accord.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release -p accord-codegen` (scripts/bench.sh does)",
            accord.display()
        );
    }
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

    let mut emit = Vec::new();
    let mut incremental = Vec::new();
    let mut files = 0;
    let mut bytes = 0u64;
    for run in 0..plan.emit_runs {
        let out = scratch.join(format!("emit-{run}"));
        let (millis, written) = emit_once(root, &out)?;
        files = written.files;
        bytes = folder_size(&out)?;
        emit.push(millis);
        // The same contracts again into the folder just written.
        let (millis, again) = emit_once(root, &out)?;
        if again.rendered > 0 {
            bail!(
                "an emit with nothing changed rendered {} services",
                again.rendered
            );
        }
        incremental.push(millis);
        let _ = std::fs::remove_dir_all(&out);
    }
    report.absolutes.push(Absolute {
        section: SECTION,
        what: format!(
            "emit after export: {SYNTH_SERVICES} services, {SYNTH_OPERATIONS} operations, into an empty folder"
        ),
        unit: Unit::Millis,
        values: emit,
        goal: Some(50.0),
    });
    report.absolutes.push(Absolute {
        section: SECTION,
        what: format!(
            "incremental emit, nothing changed: the same {SYNTH_SERVICES} services into the folder just written"
        ),
        unit: Unit::Millis,
        values: incremental,
        goal: Some(20.0),
    });
    report.observations.push(format!(
        "The synthetic emit wrote {files} files, {:.1} MB, per run.",
        bytes as f64 / 1e6
    ));
    Ok(())
}

/// What one [`emit_once`] did.
pub struct Emitted {
    /// The files the services have.
    pub files: usize,
    /// How many services were rendered (not up to date in the folder).
    pub rendered: usize,
}

/// Emits the synthetic contracts into `out` as the CLI does after export:
/// milliseconds taken, and what was written.
pub fn emit_once(root: &Path, out: &Path) -> Result<(f64, Emitted)> {
    let synthetic = crate::synth::exported(
        crate::synth::services(SYNTH_SERVICES, SYNTH_OPERATIONS),
        &root.join("synthetic"),
    );
    let started = Instant::now();
    let templates = Templates::new(&accord_codegen::emit::template_sets(), None)?;
    for service in &synthetic {
        let problems = check_names(&service.descriptor, &[], root);
        if !problems.is_empty() {
            bail!("synthetic names refused: {problems:?}");
        }
    }
    let written = publish(
        &synthetic,
        out,
        OpenApiVersion::V3_1,
        accord_codegen::lang::all(),
        &templates,
    )?;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    Ok((
        millis,
        Emitted {
            files: written.iter().map(|s| s.files).sum(),
            rendered: written.iter().filter(|s| s.rendered).count(),
        },
    ))
}

/// Runs `accord generate` over the workspace's contracts; wall seconds.
fn generate(accord: &Path, root: &Path, out: &Path, cache: &Path) -> Result<f64> {
    let started = Instant::now();
    let output = Command::new(accord)
        .arg("generate")
        .arg(root.join("contracts"))
        .arg("--out")
        .arg(out)
        .arg("--cache-dir")
        .arg(cache)
        .arg("--quiet")
        .current_dir(root)
        .output()
        .context("cannot run accord")?;
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

fn folder_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            folder_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use accord_codegen::emit::{render, template_sets};

    use super::*;

    /// One emit of the synthetic services, as the section times it, renders
    /// every one of them, into `ACCORD_EMIT_OUT` (kept) or a scratch folder
    /// (removed). Also the way to profile the emit: `valgrind
    /// --tool=callgrind <test binary> --exact cli::tests::emit_for_profiling`.
    #[test]
    fn emit_for_profiling() {
        let root = crate::workspace_root();
        let (out, keep) = match std::env::var_os("ACCORD_EMIT_OUT") {
            Some(out) => (PathBuf::from(out), true),
            None => (
                std::env::temp_dir().join(format!("accord-emit-{}", std::process::id())),
                false,
            ),
        };
        let _ = std::fs::remove_dir_all(&out);
        let (millis, written) = emit_once(&root, &out).unwrap();
        eprintln!(
            "emitted {} files in {millis:.1} ms into {}",
            written.files,
            out.display()
        );
        assert_eq!(written.rendered, SYNTH_SERVICES);
        if !keep {
            let _ = std::fs::remove_dir_all(&out);
        }
    }

    /// The synthetic services this section emits render to the same bytes
    /// with the compiled built-in templates as with handlebars.
    #[test]
    fn synthetic_services_render_the_same_with_handlebars() {
        let root = crate::workspace_root();
        let synthetic = crate::synth::exported(
            crate::synth::services(SYNTH_SERVICES, SYNTH_OPERATIONS),
            &root.join("synthetic"),
        );
        let compiled = Templates::new(&template_sets(), None).unwrap();
        let interpreted = Templates::interpreted(&template_sets()).unwrap();
        let languages = accord_codegen::lang::all();
        for service in &synthetic {
            let [fast, reference] = [&compiled, &interpreted].map(|templates| {
                render(service, OpenApiVersion::V3_1, languages, templates)
                    .unwrap()
                    .files
            });
            assert_eq!(
                fast.keys().collect::<Vec<_>>(),
                reference.keys().collect::<Vec<_>>()
            );
            for (path, text) in &fast {
                assert!(
                    *text == reference[path],
                    "{} {path} differs from what handlebars writes",
                    service.descriptor.name
                );
            }
        }
    }
}
