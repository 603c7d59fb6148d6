//! A three-node NATS cluster of a test's own: three `nats-server`
//! processes with JetStream on spare loopback ports, routed to each other,
//! each with its own store folder in a temporary folder, so that a test can
//! kill one node and watch replicated streams survive.
//!
//! Each node `n<i>` runs from a config file of its own:
//!
//! ```text
//! server_name: n1
//! listen: 127.0.0.1:<client port>
//! jetstream { store_dir: "<folder>/n1" }
//! cluster { name: <unique>, listen: 127.0.0.1:<route port>, routes: [<the other two>] }
//! ```
//!
//! [`NatsCluster::start`] returns once JetStream has a metadata leader
//! (the cluster can create streams), polled with a bounded wait
//! ([`CLUSTER_READY_TIMEOUT`]). Dropping the [`NatsCluster`] kills every
//! node and removes the folder, also when the test panics.

use std::io;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use accord::broker::nats::async_nats;
use tokio::time::Instant;

use crate::nats_server::{executable, START_TIMEOUT};

/// How many nodes a cluster has.
pub const NODES: usize = 3;

/// How long a cluster may take, once its nodes accept connections, to
/// elect a JetStream metadata leader: 30 seconds (it takes a few).
pub const CLUSTER_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest wait for one answer while polling for the leader.
const POLL_ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// A three-node NATS cluster started for one test.
#[derive(Debug)]
pub struct NatsCluster {
    dir: PathBuf,
    nodes: Vec<Node>,
}

#[derive(Debug)]
struct Node {
    name: String,
    port: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// `count` distinct free loopback ports: all held at once while chosen, so
/// no two are the same.
fn free_ports(count: usize) -> io::Result<Vec<u16>> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}

impl NatsCluster {
    /// Starts three nodes named after `label` on spare ports, each with a
    /// fresh store folder, and waits until every node accepts connections
    /// and JetStream has a metadata leader.
    pub async fn start(label: &str) -> io::Result<NatsCluster> {
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let run = format!("{label}-{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(format!("accord-nats-cluster-{run}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let ports = free_ports(2 * NODES)?;
        let (client_ports, route_ports) = ports.split_at(NODES);
        let mut nodes = Vec::with_capacity(NODES);
        for i in 0..NODES {
            let name = format!("n{}", i + 1);
            let routes: Vec<String> = (0..NODES)
                .filter(|j| *j != i)
                .map(|j| format!("nats://127.0.0.1:{}", route_ports[j]))
                .collect();
            let config = dir.join(format!("{name}.conf"));
            std::fs::write(
                &config,
                format!(
                    "server_name: {name}\n\
                     listen: 127.0.0.1:{port}\n\
                     jetstream {{ store_dir: \"{store}\" }}\n\
                     cluster {{ name: accord-{run}, listen: 127.0.0.1:{route}, routes: [{routes}] }}\n",
                    port = client_ports[i],
                    store = dir.join(&name).display(),
                    route = route_ports[i],
                    routes = routes.join(", "),
                ),
            )?;
            nodes.push(Node {
                log: dir.join(format!("{name}.log")),
                name,
                port: client_ports[i],
                config,
                child: None,
            });
        }
        let mut cluster = NatsCluster { dir, nodes };
        for i in 0..NODES {
            cluster.spawn(i)?;
        }
        for i in 0..NODES {
            cluster.wait_accepting(i).await?;
        }
        cluster.wait_for_meta_leader().await?;
        Ok(cluster)
    }

    /// The URLs of all three nodes, comma-separated, as
    /// [`NatsBroker::connect`](accord::broker::nats::NatsBroker::connect)
    /// takes them: the client moves to another node when its own dies.
    pub fn urls(&self) -> String {
        (0..NODES)
            .map(|i| self.url(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The URL of node `i` (0, 1 or 2).
    pub fn url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[i].port)
    }

    /// The server name of node `i` (`n1`, `n2`, `n3`), as JetStream names
    /// stream leaders and replicas.
    pub fn name(&self, i: usize) -> &str {
        &self.nodes[i].name
    }

    /// The node whose server name is `name`.
    pub fn node_named(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|node| node.name == name)
    }

    /// Whether node `i` runs.
    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }

    /// Kills node `i` with SIGKILL, as a crash would, and reaps it.
    pub fn kill(&mut self, i: usize) -> io::Result<()> {
        if let Some(mut child) = self.nodes[i].child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts node `i` again on the same ports and store folder, and waits
    /// until it accepts connections.
    pub async fn restart(&mut self, i: usize) -> io::Result<()> {
        self.kill(i)?;
        self.spawn(i)?;
        self.wait_accepting(i).await
    }

    /// The end of node `i`'s log, for a failure message.
    pub fn log_tail(&self, i: usize) -> String {
        let log = std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn spawn(&mut self, i: usize) -> io::Result<()> {
        let program =
            executable().ok_or_else(|| io::Error::other("`nats-server` is not installed"))?;
        let node = &mut self.nodes[i];
        let child = Command::new(program)
            .arg("-c")
            .arg(&node.config)
            .arg("-l")
            .arg(&node.log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        node.child = Some(child);
        Ok(())
    }

    async fn wait_accepting(&mut self, i: usize) -> io::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.nodes[i].port)).is_ok() {
                return Ok(());
            }
            if let Some(child) = self.nodes[i].child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.nodes[i].child = None;
                    return Err(io::Error::other(format!(
                        "nats-server {} exited with {status} while starting: {}",
                        self.nodes[i].name,
                        self.log_tail(i)
                    )));
                }
            }
            if Instant::now() >= deadline {
                return Err(io::Error::other(format!(
                    "nats-server {} did not accept connections on port {} within {START_TIMEOUT:?}",
                    self.nodes[i].name, self.nodes[i].port
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls JetStream's account information (`$JS.API.INFO`), which only
    /// a cluster with a metadata leader answers without an error, every
    /// 200 ms up to [`CLUSTER_READY_TIMEOUT`].
    async fn wait_for_meta_leader(&self) -> io::Result<()> {
        let deadline = Instant::now() + CLUSTER_READY_TIMEOUT;
        let urls = self.urls();
        let servers: Vec<&str> = urls.split(',').collect();
        let client = tokio::time::timeout(POLL_ANSWER_TIMEOUT, async_nats::connect(servers))
            .await
            .map_err(|_| io::Error::other(format!("no connection to {urls} within 2 s")))?
            .map_err(|e| io::Error::other(format!("connecting to {urls}: {e}")))?;
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            let asked = client.request("$JS.API.INFO", Vec::new().into());
            match tokio::time::timeout(POLL_ANSWER_TIMEOUT, asked).await {
                Ok(Ok(answer)) => {
                    let text = String::from_utf8_lossy(&answer.payload);
                    // The account's limits and usage, or an error such as
                    // "JetStream system temporarily unavailable".
                    if text.contains("account_info_response") && !text.contains("\"error\"") {
                        return Ok(());
                    }
                    last = text.into_owned();
                }
                Ok(Err(e)) => last = e.to_string(),
                Err(_) => last = format!("no answer within {POLL_ANSWER_TIMEOUT:?}"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(io::Error::other(format!(
            "the cluster at {urls} elected no JetStream metadata leader within \
             {CLUSTER_READY_TIMEOUT:?} (last answer: {last}); n1's log:\n{}",
            self.log_tail(0)
        )))
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for i in 0..NODES {
            let _ = self.kill(i);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
