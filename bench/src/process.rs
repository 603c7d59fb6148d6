//! Waiting for a child process of the harness (`accord generate`,
//! `accord-bench-emit`, the servers it measures) with a bound on the time,
//! so a hang stops the run naming the process instead of stalling it.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How long a server process asked to stop (its standard input closed)
/// has before it is killed.
pub const STOP_WAIT: Duration = Duration::from_secs(3);

/// How often a running child is looked at.
const POLL: Duration = Duration::from_millis(20);

/// Runs `command` to its end as [`Command::output`] does, killing it and
/// failing, naming `what`, once it has run for `limit`.
pub fn output_within(command: &mut Command, limit: Duration, what: &str) -> Result<Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {what}"))?;
    // Both pipes are drained while the child runs, so a child that writes
    // more than a pipe holds does not block on it.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let Some(status) = wait_or_kill(&mut child, limit)? else {
        bail!("{what} ran for over {limit:?} and was killed");
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Waits for `child` to end for at most `limit`: its status, or `None`
/// when it was still running and has been killed.
pub fn wait_or_kill(child: &mut Child, limit: Duration) -> std::io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_that_ends_in_time_gives_its_output() {
        let output = output_within(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
            "sh",
        )
        .unwrap();
        assert_eq!(output.stdout, b"out\n");
        assert_eq!(output.stderr, b"err\n");
        assert_eq!(output.status.code(), Some(3));
    }

    #[test]
    fn a_child_past_its_limit_is_killed_and_named() {
        let started = Instant::now();
        let error = output_within(
            Command::new("sleep").arg("30"),
            Duration::from_millis(200),
            "the sleeper",
        )
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(
            error.to_string().contains("the sleeper ran for over 200ms"),
            "{error}"
        );
    }
}
