//! A RabbitMQ node of a test's own: its own node name, ports and data
//! folder, so it can be killed and restarted without touching the shared
//! broker on the standard port.
//!
//! The node runs `rabbitmq-server -detached` as the `rabbitmq` user (the
//! Debian wrapper switches to it when started as root), with a config file
//! of its own: the machine's `/etc/rabbitmq/rabbitmq.conf` binds the
//! standard port, which the shared broker holds. Dropping the
//! [`RabbitNode`] kills the node and removes its folder, also when the test
//! fails.

use std::io::{self, BufRead};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use accord::broker::amqp::{AmqpBroker, AmqpOptions};

use crate::backend::{FaultBackend, Timing};

/// How long a node may take to accept connections after a (re)start.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A RabbitMQ node started for one test.
#[derive(Debug)]
pub struct RabbitNode {
    node_name: String,
    port: u16,
    dist_port: u16,
    dir: PathBuf,
    config: String,
}

/// Whether this machine can start RabbitMQ nodes (`rabbitmq-server` is
/// installed); `Err` says what is missing.
pub fn available() -> Result<(), String> {
    let found = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .chain([
                    PathBuf::from("/usr/sbin"),
                    PathBuf::from("/usr/lib/rabbitmq/bin"),
                ])
                .any(|dir| dir.join("rabbitmq-server").is_file())
        })
        .unwrap_or(false);
    if found {
        Ok(())
    } else {
        Err("`rabbitmq-server` is not installed".to_owned())
    }
}

fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

fn run(command: &mut Command, what: &str) -> io::Result<()> {
    let output = command.stdin(Stdio::null()).output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}

fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

impl RabbitNode {
    /// Starts a node named after `label` on spare ports, with a fresh data
    /// folder, and waits until it accepts connections (about 5-8 s).
    pub async fn start(label: &str) -> io::Result<RabbitNode> {
        RabbitNode::start_with_config(label, "").await
    }

    /// [`start`](RabbitNode::start) with more lines for the node's
    /// `rabbitmq.conf` (an `listeners.ssl.default`, `ssl_options.*`, ...).
    /// The files it names must be readable by the `rabbitmq` user.
    pub async fn start_with_config(label: &str, config: &str) -> io::Result<RabbitNode> {
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let id = format!("{label}-{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(format!("accord-rabbit-{id}"));
        let node = RabbitNode {
            node_name: format!("accord-{id}@localhost"),
            port: free_port()?,
            dist_port: free_port()?,
            dir,
            config: config.to_owned(),
        };
        node.prepare()?;
        node.launch().await?;
        Ok(node)
    }

    fn prepare(&self) -> io::Result<()> {
        std::fs::create_dir_all(self.dir.join("mnesia"))?;
        std::fs::create_dir_all(self.dir.join("log"))?;
        std::fs::write(self.dir.join("enabled_plugins"), "[].\n")?;
        std::fs::write(
            self.dir.join("rabbitmq.conf"),
            format!(
                "listeners.tcp.1 = 127.0.0.1:{}\n{}\n",
                self.port, self.config
            ),
        )?;
        let dir = self.dir.to_string_lossy().into_owned();
        run(
            Command::new("chown").args(["-R", "rabbitmq:rabbitmq", &dir]),
            "giving the node's folder to the rabbitmq user",
        )
    }

    fn command(&self) -> Command {
        let dir = |name: &str| self.dir.join(name).to_string_lossy().into_owned();
        let mut command = Command::new("rabbitmq-server");
        command
            .arg("-detached")
            .env("RABBITMQ_NODENAME", &self.node_name)
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_MNESIA_BASE", dir("mnesia"))
            .env("RABBITMQ_LOG_BASE", dir("log"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir("enabled_plugins"))
            .env("RABBITMQ_CONFIG_FILE", dir("rabbitmq.conf"))
            .env("RABBITMQ_PID_FILE", dir("pid"))
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-kernel inet_dist_use_interface {127,0,0,1}",
            );
        command
    }

    /// Starts the node process and waits until it accepts connections.
    async fn launch(&self) -> io::Result<()> {
        let mut command = self.command();
        tokio::task::spawn_blocking(move || run(&mut command, "rabbitmq-server -detached"))
            .await
            .map_err(io::Error::other)??;
        let deadline = Instant::now() + START_TIMEOUT;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(io::Error::other(format!(
                    "the RabbitMQ node {} did not accept connections on port {} within \
                     {START_TIMEOUT:?}; the end of its log:\n{}",
                    self.node_name,
                    self.port,
                    self.log_tail(30)
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The AMQP URL of the node.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// The node's Erlang node name.
    pub fn node_name(&self) -> &str {
        &self.node_name
    }

    /// The operating system process of the running node, if it runs.
    pub fn pid(&self) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.dir.join("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        // The pid file outlives a killed node; make sure the pid is still
        // this node's (its environment names this node's folder) and not a
        // reused one.
        let environment = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
        String::from_utf8_lossy(&environment)
            .contains(&*self.dir.to_string_lossy())
            .then_some(pid)
    }

    /// Kills the node with SIGKILL (no clean shutdown: what a crash or a
    /// power cut does) and waits until the process is gone. Its data folder
    /// stays, so [`restart`](Self::restart) brings back its durable queues.
    pub async fn kill(&self) -> io::Result<()> {
        let pid = self
            .pid()
            .ok_or_else(|| io::Error::other("the node is not running"))?;
        run(
            Command::new("kill").args(["-9", &pid.to_string()]),
            "killing the node",
        )?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while process_alive(pid) {
            if Instant::now() >= deadline {
                return Err(io::Error::other(format!("the node {pid} outlived kill -9")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Stops the node's process with SIGSTOP: its connections stay open and
    /// the kernel still takes what clients send, but nothing is answered,
    /// as with a node stalled by a long garbage collection, a full disk's
    /// I/O or a frozen virtual machine. [`resume`](Self::resume) undoes it;
    /// dropping the node kills it either way.
    pub fn pause(&self) -> io::Result<()> {
        self.signal("-STOP", "pausing the node")
    }

    /// Lets a [`pause`](Self::pause)d node's process run again (SIGCONT).
    pub fn resume(&self) -> io::Result<()> {
        self.signal("-CONT", "resuming the node")
    }

    fn signal(&self, signal: &str, what: &str) -> io::Result<()> {
        let pid = self
            .pid()
            .ok_or_else(|| io::Error::other("the node is not running"))?;
        run(Command::new("kill").args([signal, &pid.to_string()]), what)
    }

    /// Starts the node again on the same ports and data folder and waits
    /// until it accepts connections.
    pub async fn restart(&self) -> io::Result<()> {
        self.launch().await
    }

    /// Runs `rabbitmqctl` against this node with `args` (for example
    /// `["set_vm_memory_high_watermark", "0"]`, which sets a memory alarm
    /// and so blocks every publishing connection).
    pub async fn ctl(&self, args: &[&str]) -> io::Result<()> {
        let mut command = Command::new("rabbitmqctl");
        command.arg("-n").arg(&self.node_name).args(args);
        let what = format!("rabbitmqctl {}", args.join(" "));
        tokio::task::spawn_blocking(move || run(&mut command, &what))
            .await
            .map_err(io::Error::other)?
    }

    /// The last `lines` lines of the node's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let path = self.dir.join("log").join(format!("{}.log", self.node_name));
        let Ok(file) = std::fs::File::open(&path) else {
            return format!("(no log at {})", path.display());
        };
        let all: Vec<String> = io::BufReader::new(file)
            .lines()
            .map_while(Result::ok)
            .collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for RabbitNode {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "RabbitMQ node {} (port {}), the end of its log:\n{}",
                self.node_name,
                self.port,
                self.log_tail(20)
            );
        }
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args(["-9", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while process_alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// RabbitMQ under fault: durable queues and persistent messages outlive a
/// kill; a killed consumer's deliveries come back when RabbitMQ sees its
/// connection gone, so the ack wait never comes into play.
impl FaultBackend for RabbitNode {
    type Broker = AmqpBroker;

    const NAME: &'static str = "RabbitMQ";

    fn available() -> Result<(), String> {
        available()
    }

    async fn start(label: &str) -> Result<Self, String> {
        RabbitNode::start(label).await.map_err(|e| e.to_string())
    }

    fn url(&self) -> String {
        RabbitNode::url(self)
    }

    async fn connect(&self, role: &str) -> AmqpBroker {
        let options = AmqpOptions::default()
            .connection_name(format!("accord faults {role}"))
            .max_reconnect_delay(Duration::from_secs(1));
        let url = RabbitNode::url(self);
        AmqpBroker::connect_with(&url, options)
            .await
            .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
    }

    async fn kill(&mut self) -> Result<(), String> {
        RabbitNode::kill(self).await.map_err(|e| e.to_string())
    }

    async fn restart(&mut self) -> Result<(), String> {
        RabbitNode::restart(self).await.map_err(|e| e.to_string())
    }

    async fn declare_group(broker: &AmqpBroker, group: &str, topics: &[&str]) {
        broker
            .declare_group(group, topics)
            .await
            .unwrap_or_else(|e| panic!("declaring the group {group}: {e}"));
    }

    fn timing() -> Timing {
        Timing {
            down_for: Duration::ZERO,
            every_publisher_fails: false,
            stream_ack_wait: None,
            recovery: Duration::from_secs(60),
            handover_ack_wait: Duration::from_secs(30),
            redelivery_within: Duration::from_secs(1),
        }
    }
}
