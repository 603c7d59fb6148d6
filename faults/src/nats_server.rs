//! A NATS server of a test's own: JetStream on a spare port with a store
//! folder of its own, so it can be killed and restarted without touching
//! the shared server on the standard port.
//!
//! `nats-server -a 127.0.0.1 -p <port> -js -sd <folder>` runs as a child of
//! the test. [`NatsServer::kill`] sends SIGKILL; [`NatsServer::restart`]
//! starts the same command again, on the same port and store, so JetStream
//! recovers its streams and consumers from disk. Dropping the
//! [`NatsServer`] kills the process and removes its folder, also when the
//! test fails.

use std::io;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use accord::broker::nats::NatsBroker;

use crate::backend::{FaultBackend, Timing};

/// How long a server may take to accept connections after a (re)start.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A NATS server started for one test.
#[derive(Debug)]
pub struct NatsServer {
    port: u16,
    dir: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
}

/// The `nats-server` executable, if installed.
pub(crate) fn executable() -> Option<PathBuf> {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("nats-server"))
        .find(|path| path.is_file())
}

/// Whether this machine can start NATS servers (`nats-server` is
/// installed); `Err` says what is missing.
pub fn available() -> Result<(), String> {
    executable()
        .map(|_| ())
        .ok_or_else(|| "`nats-server` is not installed".to_owned())
}

fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

impl NatsServer {
    /// Starts a server named after `label` on a spare port, with a fresh
    /// store folder, and waits until it accepts connections.
    pub async fn start(label: &str) -> io::Result<NatsServer> {
        NatsServer::start_with_args(label, Vec::new()).await
    }

    /// [`start`](NatsServer::start) with more command-line arguments for
    /// `nats-server` (`--tls`, `--tlscert FILE`, ...).
    pub async fn start_with_args(label: &str, args: Vec<String>) -> io::Result<NatsServer> {
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("accord-nats-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let mut server = NatsServer {
            port: free_port()?,
            dir,
            args,
            child: None,
        };
        server.spawn().await?;
        Ok(server)
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server with SIGKILL, as a crash would, and reaps it.
    pub fn kill(&mut self) -> io::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts the server again on the same port and store folder.
    pub async fn restart(&mut self) -> io::Result<()> {
        self.kill()?;
        self.spawn().await
    }

    async fn spawn(&mut self) -> io::Result<()> {
        let program =
            executable().ok_or_else(|| io::Error::other("`nats-server` is not installed"))?;
        let store = self.dir.join("store");
        let log = self.dir.join("server.log");
        let child = Command::new(program)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&store)
            .arg("-l")
            .arg(&log)
            .args(&self.args)
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
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    return Err(io::Error::other(format!(
                        "nats-server exited with {status} while starting: {log}"
                    )));
                }
            }
            if Instant::now() >= deadline {
                return Err(io::Error::other(format!(
                    "nats-server did not accept connections on port {} within {START_TIMEOUT:?}",
                    self.port
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// NATS JetStream under fault: the streams and dead letters are kept on
/// disk, so they outlive a kill; a publish waits 5 s for its ack, so an
/// outage of 6 s fails one in every publisher.
impl FaultBackend for NatsServer {
    type Broker = NatsBroker;

    const NAME: &'static str = "NATS JetStream";

    fn available() -> Result<(), String> {
        available()
    }

    async fn start(label: &str) -> Result<Self, String> {
        NatsServer::start(label).await.map_err(|e| e.to_string())
    }

    fn url(&self) -> String {
        NatsServer::url(self)
    }

    async fn connect(&self, _role: &str) -> NatsBroker {
        let url = NatsServer::url(self);
        NatsBroker::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
    }

    async fn kill(&mut self) -> Result<(), String> {
        NatsServer::kill(self).map_err(|e| e.to_string())
    }

    async fn restart(&mut self) -> Result<(), String> {
        NatsServer::restart(self).await.map_err(|e| e.to_string())
    }

    async fn stored(broker: &NatsBroker, topic: &str) -> Option<u64> {
        let name = broker.topic_stream_name(topic);
        let mut stream = broker
            .jetstream()
            .get_stream(&name)
            .await
            .unwrap_or_else(|e| panic!("reading stream {name}: {e}"));
        let info = stream
            .info()
            .await
            .unwrap_or_else(|e| panic!("reading stream {name}: {e}"));
        Some(info.state.messages)
    }

    fn timing() -> Timing {
        Timing {
            down_for: Duration::from_secs(6),
            every_publisher_fails: true,
            stream_ack_wait: Some(Duration::from_secs(5)),
            recovery: Duration::from_secs(40),
            handover_ack_wait: Duration::from_secs(2),
            redelivery_within: Duration::from_secs(6),
        }
    }
}
