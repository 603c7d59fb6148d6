//! Running wrk and reading its report.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// What one wrk run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WrkResult {
    pub requests_per_second: f64,
    /// Milliseconds.
    pub p50: f64,
    /// Milliseconds.
    pub p99: f64,
}

/// Loads `url` with `connections` connections on one wrk thread for
/// `duration` (whole seconds), with `script` (a Lua file) if given.
pub fn run(
    url: &str,
    connections: usize,
    duration: Duration,
    script: Option<&Path>,
) -> Result<WrkResult> {
    let mut command = Command::new("wrk");
    command
        .arg("-t1")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("--timeout")
        .arg("5s")
        .arg("--latency");
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    let output = command
        .arg(url)
        .output()
        .context("cannot run wrk (apt-get install -y wrk)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed: {}{}",
            text,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse(&text)
}

/// Reads wrk's report; refuses one with errors or non-2xx answers.
pub fn parse(text: &str) -> Result<WrkResult> {
    let mut requests_per_second = None;
    let mut p50 = None;
    let mut p99 = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            requests_per_second = rest.trim().parse::<f64>().ok();
        } else if let Some(rest) = line.strip_prefix("50%") {
            p50 = Some(millis(rest.trim())?);
        } else if let Some(rest) = line.strip_prefix("99%") {
            p99 = Some(millis(rest.trim())?);
        } else if line.starts_with("Non-2xx") || line.starts_with("Socket errors") {
            bail!("wrk saw errors: {line}\n{text}");
        }
    }
    match (requests_per_second, p50, p99) {
        (Some(requests_per_second), Some(p50), Some(p99)) => Ok(WrkResult {
            requests_per_second,
            p50,
            p99,
        }),
        _ => bail!("cannot read wrk's report:\n{text}"),
    }
}

/// `612.34us`, `1.23ms`, `2.00s`, `1.00m` in milliseconds.
fn millis(text: &str) -> Result<f64> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("no unit in {text:?}"))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .with_context(|| format!("not a number: {text:?}"))?;
    Ok(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => bail!("unknown unit in {text:?}"),
    })
}

/// A Lua script making wrk POST `body` as JSON.
pub fn post_script(body: &str) -> String {
    format!(
        "wrk.method = \"POST\"\nwrk.body = [==[{body}]==]\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 4s test @ http://127.0.0.1:40000/orders
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   612.34us  100.00us   5.00ms   90.00%
    Req/Sec   107.00k     2.00k  110.00k    70.00%
  Latency Distribution
     50%  580.00us
     75%  650.00us
     90%  700.00us
     99%    1.23ms
  428000 requests in 4.00s, 100.00MB read
Requests/sec: 107000.12
Transfer/sec:     25.00MB
";

    #[test]
    fn reads_throughput_and_percentiles() {
        let result = parse(REPORT).unwrap();
        assert_eq!(result.requests_per_second, 107000.12);
        assert!((result.p50 - 0.58).abs() < 1e-9);
        assert!((result.p99 - 1.23).abs() < 1e-9);
    }

    #[test]
    fn refuses_reports_with_errors() {
        let bad = REPORT.replace(
            "Requests/sec",
            "  Non-2xx or 3xx responses: 3\nRequests/sec",
        );
        assert!(parse(&bad).is_err());
    }

    #[test]
    fn reads_units() {
        assert_eq!(millis("2.00s").unwrap(), 2000.0);
        assert_eq!(millis("1.5ms").unwrap(), 1.5);
        assert!(millis("3").is_err());
    }
}
