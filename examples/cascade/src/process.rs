//! The shopfront (A) in a process of its own, so what it holds (descriptors,
//! tasks, memory) is measured apart from the load and from B and C.
//!
//! The child prints `listening ADDR`, then one JSON [`Vitals`] line every
//! [`VITALS_EVERY`]; it stops when its standard input closes, so it never
//! outlives the scenario that started it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use accord::http::ServeOptions;
use anyhow::{bail, Context as _, Result};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::contract::ShopfrontServer;
use crate::services::{Defences, ShopfrontService};
use crate::vitals::Vitals;

/// How often the child reports its vitals.
pub const VITALS_EVERY: Duration = Duration::from_millis(100);
/// The connections the shopfront accepts at once, as a service sized for
/// its usual load would be; more wait in the accept backlog.
pub const MAX_CONNECTIONS: usize = 128;
/// How long the child may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The arguments of the shopfront process.
#[derive(Debug, Clone, clap::Args)]
pub struct ShopfrontArgs {
    /// Pricing's base URL.
    #[arg(long)]
    pub pricing_url: String,
    /// Whether the calls to pricing have the defences.
    #[arg(long, value_enum)]
    pub defences: Defences,
}

/// Runs the shopfront process: serves A on a loopback port until standard
/// input closes.
pub fn shopfront_main(args: ShopfrontArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start a runtime")?;
    runtime.block_on(serve_shopfront(args))
}

async fn serve_shopfront(args: ShopfrontArgs) -> Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let service = ShopfrontService::new(&args.pricing_url, args.defences)?;
    let pricing = service.pricing_transport().clone();
    let mut stdout = tokio::io::stdout();
    stdout
        .write_all(format!("listening {}\n", listener.local_addr()?).as_bytes())
        .await?;
    stdout.flush().await?;
    let stdin_closed = async {
        let mut sink = Vec::new();
        let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    };
    let mut server = tokio::spawn(
        ServeOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .shutdown_grace(Duration::from_secs(1))
            .serve(listener, service.into_router(), stdin_closed),
    );
    let mut every = tokio::time::interval(VITALS_EVERY);
    loop {
        tokio::select! {
            served = &mut server => {
                served.context("the shopfront's server panicked")??;
                return Ok(());
            }
            _ = every.tick() => {
                let vitals = Vitals::read(pricing.circuit_state())?;
                let mut line = serde_json::to_vec(&vitals)?;
                line.push(b'\n');
                // The parent has gone: the server stops as stdin closes.
                if stdout.write_all(&line).await.is_err() || stdout.flush().await.is_err() {
                    continue;
                }
            }
        }
    }
}

/// How to start the shopfront process: a program and the arguments that
/// make it run [`shopfront_main`].
#[derive(Debug, Clone)]
pub struct Launcher {
    pub program: PathBuf,
    pub args: Vec<String>,
}

/// A running shopfront process.
#[derive(Debug)]
pub struct Shopfront {
    child: Child,
    /// Its base URL.
    pub url: String,
}

/// The lines a shopfront process prints after `listening ADDR`: one JSON
/// [`Vitals`] each.
pub type VitalsLines = Lines<BufReader<ChildStdout>>;

impl Launcher {
    /// Starts the shopfront calling pricing at `pricing_url`.
    pub async fn start(
        &self,
        pricing_url: &str,
        defences: Defences,
    ) -> Result<(Shopfront, VitalsLines)> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .arg("--pricing-url")
            .arg(pricing_url)
            .arg("--defences")
            .arg(defences.name())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", self.program.display()))?;
        let stdout = child.stdout.take().context("the child has no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(START_TIMEOUT, lines.next_line())
            .await
            .with_context(|| {
                format!(
                    "the shopfront process did not say where it listens within {START_TIMEOUT:?}"
                )
            })??;
        let Some(addr) = first.as_deref().and_then(|l| l.strip_prefix("listening ")) else {
            bail!("the shopfront process began with {first:?}, not `listening ADDR`");
        };
        let url = format!("http://{addr}");
        Ok((Shopfront { url, child }, lines))
    }
}

impl Shopfront {
    /// Closes its standard input and waits for it to stop, killing it
    /// after `grace`.
    pub async fn stop(mut self, grace: Duration) -> Result<()> {
        drop(self.child.stdin.take());
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    bail!("the shopfront process ended with {status}");
                }
            }
            Err(_) => {
                self.child.kill().await?;
                bail!("the shopfront process did not stop within {grace:?} of its input closing; killed");
            }
        }
        Ok(())
    }
}
