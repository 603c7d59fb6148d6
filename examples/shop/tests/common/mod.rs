//! What the shop's process tests share: running the shop binary to its
//! end under a time limit.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// How long one shop run may take.
pub const RUN_LIMIT: Duration = Duration::from_secs(90);

/// Runs the shop binary with `args` to the end; its output, or a panic
/// naming what hung or failed.
pub async fn shop(args: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shop"))
        .args(args)
        .env("RUST_LOG", "accord=error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting the shop");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let run = async {
        let (mut out, mut err) = (String::new(), String::new());
        let (a, b) = tokio::join!(
            stdout.read_to_string(&mut out),
            stderr.read_to_string(&mut err)
        );
        a.and(b).expect("reading the shop's output");
        let status = child.wait().await.expect("waiting for the shop");
        (status, out, err)
    };
    let (status, out, err) = tokio::time::timeout(RUN_LIMIT, run)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "`shop {}` did not finish within {RUN_LIMIT:?}",
                args.join(" ")
            )
        });
    assert!(
        status.success(),
        "`shop {}` failed ({status}):\n{out}\n{err}",
        args.join(" ")
    );
    out
}
