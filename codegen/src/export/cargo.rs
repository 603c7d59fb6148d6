//! Running `cargo build` on an exporter, with progress, and turning a
//! failed build into an error that names the crate at fault.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::discover::{cargo, ContractCrate};

/// An error the compiler reported, with the package it was reported for.
struct Diagnostic {
    package: String,
    rendered: String,
}

/// Builds the exporter whose manifest is `manifest` into `target_dir` and
/// returns its executable.
pub(super) fn build(
    krate: &ContractCrate,
    manifest: &Path,
    target_dir: &Path,
    exporter: &str,
    quiet: bool,
) -> Result<PathBuf> {
    let progress = progress_bar(krate, quiet);
    let mut child = Command::new(cargo())
        .args([
            "build",
            "--message-format=json",
            "--color=never",
            "--manifest-path",
        ])
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir)
        // From the contract crate's folder, so its cargo configuration
        // (registries, source replacement, flags) applies as it does there.
        .current_dir(krate.dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run `{} build`", cargo()))?;

    // cargo's own status lines: shown as progress, kept for errors.
    let stderr_lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let stderr_reader = {
        let stderr = child.stderr.take().expect("stderr is piped");
        let lines = Arc::clone(&stderr_lines);
        let progress = progress.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let status = line.trim_start();
                if [
                    "Compiling ",
                    "Checking ",
                    "Building ",
                    "Downloaded ",
                    "Locking ",
                ]
                .iter()
                .any(|p| status.starts_with(p))
                {
                    progress.set_message(status.to_owned());
                }
                lines.lock().expect("stderr lines").push(line);
            }
        })
    };

    let mut diagnostics = Vec::new();
    let mut executable = None;
    let mut compiled = 0usize;
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines() {
        let line = line.context("cannot read cargo's output")?;
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let package = package_name(message["package_id"].as_str().unwrap_or_default());
        match message["reason"].as_str() {
            Some("compiler-artifact") => {
                compiled += 1;
                progress.set_prefix(format!("{} ({compiled} compiled)", krate.package));
                if package == exporter {
                    if let Some(path) = message["executable"].as_str() {
                        executable = Some(PathBuf::from(path));
                    }
                }
            }
            Some("compiler-message") => {
                let diagnostic = &message["message"];
                if matches!(
                    diagnostic["level"].as_str(),
                    Some("error" | "error: internal compiler error")
                ) {
                    diagnostics.push(Diagnostic {
                        package,
                        rendered: diagnostic["rendered"]
                            .as_str()
                            .unwrap_or_default()
                            .trim_end()
                            .to_owned(),
                    });
                }
            }
            _ => {}
        }
    }
    let status = child.wait().context("cannot wait for cargo")?;
    let _ = stderr_reader.join();
    progress.finish_and_clear();

    if !status.success() {
        let stderr = stderr_lines.lock().expect("stderr lines").join("\n");
        return Err(build_failure(krate, exporter, &diagnostics, &stderr));
    }
    match executable {
        Some(path) => Ok(path),
        None => bail!(
            "cargo built the exporter of `{}` but did not report its executable",
            krate.package
        ),
    }
}

fn progress_bar(krate: &ContractCrate, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let progress = ProgressBar::new_spinner();
    if progress.is_hidden() {
        // Not a terminal: one plain line instead of a spinner.
        eprintln!("{:>12} exporter for {}", "Building", krate.package);
    }
    progress.set_style(
        ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold}: {wide_msg}")
            .expect("a valid progress template")
            .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
    );
    progress.set_prefix(krate.package.clone());
    progress.set_message("building the exporter");
    progress.enable_steady_tick(Duration::from_millis(120));
    progress
}

fn build_failure(
    krate: &ContractCrate,
    exporter: &str,
    diagnostics: &[Diagnostic],
    stderr: &str,
) -> anyhow::Error {
    let rendered = |package: &str| -> String {
        diagnostics
            .iter()
            .filter(|d| d.package == package)
            .map(|d| d.rendered.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    let own = rendered(&krate.package);
    if !own.is_empty() {
        return anyhow::anyhow!(
            "contract crate `{}` ({}) does not compile:\n\n{own}\n\n\
             Fix the errors above (`cargo build` in {} shows them too), then run accord again.",
            krate.package,
            krate.manifest_path.display(),
            krate.dir().display()
        );
    }
    if let Some(other) = diagnostics.iter().find(|d| d.package != exporter) {
        return anyhow::anyhow!(
            "crate `{}`, a dependency of contract crate `{}` ({}), does not compile:\n\n{}",
            other.package,
            krate.package,
            krate.manifest_path.display(),
            rendered(&other.package)
        );
    }
    let generated = rendered(exporter);
    if !generated.is_empty() {
        let paths: Vec<String> = krate
            .services
            .iter()
            .map(|s| format!("{}::{}", krate.lib_name, s.public_path.join("::")))
            .collect();
        return anyhow::anyhow!(
            "the exporter accord wrote for contract crate `{}` does not compile. It calls \
             `descriptor()` on {}; check that each is a `#[accord::service]` trait reachable \
             from outside the crate.\n\n{generated}",
            krate.package,
            paths.join(", ")
        );
    }
    let tail: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim_start().starts_with("Compiling "))
        .collect();
    anyhow::anyhow!(
        "cannot build the exporter of contract crate `{}` ({}):\n{}",
        krate.package,
        krate.manifest_path.display(),
        tail.join("\n")
    )
}

/// The package name in a cargo package id, in either of cargo's formats:
/// `path+file:///x/orders#orders-contract@1.2.0`, `path+file:///x/orders#1.2.0`
/// (name = last path segment) or `orders-contract 1.2.0 (path+file:///x)`.
fn package_name(id: &str) -> String {
    if let Some((url, fragment)) = id.rsplit_once('#') {
        return match fragment.split_once('@') {
            Some((name, _)) => name.to_owned(),
            None => url
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
        };
    }
    id.split(' ').next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::package_name;

    #[test]
    fn package_names_from_every_id_format() {
        assert_eq!(
            package_name("path+file:///work/contracts/orders#orders-contract@1.2.0"),
            "orders-contract"
        );
        assert_eq!(
            package_name("path+file:///work/contracts/orders#1.2.0"),
            "orders"
        );
        assert_eq!(
            package_name("registry+https://github.com/rust-lang/crates.io-index#serde@1.0.0"),
            "serde"
        );
        assert_eq!(
            package_name("orders-contract 1.2.0 (path+file:///work/contracts/orders)"),
            "orders-contract"
        );
    }
}
