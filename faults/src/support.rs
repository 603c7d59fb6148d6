//! What every fault test needs whatever the broker: events, handlers, a
//! subscriber worker process, and bounded waits.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use accord::broker::{Message, Publish};
use accord::events::{envelope, event_handler, EventHandlers, EventRoute};
use accord::trace::TraceContext;
use accord::SubscriberHandle;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// An event named `name` on `topic` with the event id `id`; its payload is
/// the JSON string `name`.
pub fn event_with_id(topic: &str, name: &str, id: &str) -> Message {
    Message {
        topic: topic.to_owned(),
        key: None,
        headers: envelope::headers(id, "/faults", topic, &TraceContext::new_root().to_string()),
        payload: format!("\"{name}\"").into(),
    }
}

/// A route for events on `topic`, living as long as the test process.
pub fn route(topic: &str) -> &'static EventRoute {
    Box::leak(Box::new(EventRoute {
        service: "faults",
        operation: "event",
        topic: Box::leak(topic.to_owned().into_boxed_str()),
    }))
}

/// Handlers running `f` on the name of each event on `topic`.
pub fn handlers<F, Fut>(topic: &str, f: F) -> EventHandlers
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let handler = event_handler(Arc::new(f), |f: Arc<F>, name: String, _| f(name));
    EventHandlers::new("faults", vec![(route(topic), handler)])
}

/// A counter's value.
pub fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::SeqCst)
}

/// Waits until `condition` holds, or panics with `what` and `state()`.
pub async fn wait_until(
    limit: Duration,
    what: &str,
    mut condition: impl FnMut() -> bool,
    state: impl Fn() -> String,
) {
    let deadline = Instant::now() + limit;
    while !condition() {
        if Instant::now() >= deadline {
            panic!("{what}: not the case within {limit:?}; {}", state());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Tries `attempt` every 100 ms until it succeeds, for at most `limit`;
/// past it, panics with `what` and the last failure.
pub async fn until_ok<T, E: std::fmt::Display>(
    limit: Duration,
    what: &str,
    mut attempt: impl AsyncFnMut() -> Result<T, E>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("{what}: not within {limit:?}; the last try: {error}"),
        }
    }
}

/// Publishes `message` until the broker confirms it, as a publisher that
/// must not lose an event does across a broker crash: each attempt counts in
/// `calls`, each refused one in `failures`, 100 ms apart. The message keeps
/// its event id, so a broker that stored an unconfirmed attempt dedupes it.
pub async fn publish_until_confirmed<B: Publish>(
    broker: &B,
    message: &Message,
    calls: &AtomicU64,
    failures: &AtomicU64,
) {
    loop {
        calls.fetch_add(1, Ordering::SeqCst);
        match broker.publish(message.clone()).await {
            Ok(()) => return,
            Err(_) => {
                failures.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Shuts a subscriber down, within 30 s.
pub async fn stop(handle: SubscriberHandle) {
    tokio::time::timeout(Duration::from_secs(30), handle.shutdown())
        .await
        .expect("a subscriber shuts down within 30 s");
}

/// A worker process (`fault-worker`, `outbox-relay`; killed with SIGKILL
/// when dropped) and the lines it prints.
#[derive(Debug)]
pub struct Worker {
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
}

impl Worker {
    /// Starts the worker `program` (the path Cargo gives the test, such as
    /// `CARGO_BIN_EXE_fault-worker`) with `args`, and waits for its `ready`.
    pub async fn start(program: &str, args: &[String]) -> Worker {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program}: {e}"));
        let stdout = child.stdout.take().expect("piped");
        let (lines_tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut worker = Worker { child, lines };
        assert_eq!(worker.next_line().await, "ready");
        worker
    }

    /// The worker's next line of output.
    pub async fn next_line(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(30), self.lines.recv())
            .await
            .expect("the worker said something within 30 s")
            .expect("the worker is running")
    }

    /// The lines the worker printed since the last look, without waiting.
    pub fn lines_so_far(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.lines.try_recv().ok()).collect()
    }

    /// Kills the worker (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().expect("killing the worker");
        self.child.wait().expect("reaping the worker");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a test that needs `what` can run here: `available`'s `Err` says
/// what is missing. Outside CI the test says so and is skipped (`false`);
/// on CI (`CI` set) a missing broker fails the test.
pub fn runnable(what: &str, available: Result<(), String>) -> bool {
    match available {
        Ok(()) => true,
        Err(missing) if std::env::var_os("CI").is_some() => {
            panic!("CI needs to start a {what} of its own: {missing}")
        }
        Err(missing) => {
            println!("skipped: cannot start a {what}: {missing}");
            false
        }
    }
}
