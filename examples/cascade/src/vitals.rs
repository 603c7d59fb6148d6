//! What a process holds: open file descriptors and sockets (from
//! `/proc/self/fd`), the tokio runtime's alive tasks, and resident memory
//! (from `/proc/self/statm`), with the state of its circuit to the next
//! service. Linux only, as `/proc` is.

use std::io;
use std::time::Duration;

use accord::resilience::CircuitState;
use serde::{Deserialize, Serialize};

/// A circuit breaker's state, as the scenario shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Circuit {
    /// No breaker (the defences are off).
    #[default]
    Off,
    Closed,
    Open,
    HalfOpen,
}

impl Circuit {
    /// The state of a transport's breaker.
    pub fn of(state: Option<CircuitState>) -> Circuit {
        match state {
            None => Circuit::Off,
            Some(CircuitState::Closed) => Circuit::Closed,
            Some(CircuitState::Open { .. }) => Circuit::Open,
            Some(CircuitState::HalfOpen) => Circuit::HalfOpen,
        }
    }

    /// `closed`, `open`, `half-open` or `off`.
    pub fn name(self) -> &'static str {
        match self {
            Circuit::Off => "off",
            Circuit::Closed => "closed",
            Circuit::Open => "open",
            Circuit::HalfOpen => "half-open",
        }
    }
}

/// One reading of a process's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Vitals {
    /// Open file descriptors.
    pub fds: usize,
    /// Of those, sockets: the listener and every connection in or out.
    pub sockets: usize,
    /// Tasks alive on the tokio runtime.
    pub tasks: usize,
    /// Resident memory, in bytes.
    pub rss_bytes: u64,
    /// The circuit to the next service.
    pub circuit: Circuit,
    /// While it is open: the milliseconds until it lets probes through.
    pub circuit_retry_in_ms: Option<u64>,
}

impl Vitals {
    /// Reads this process's vitals; call it on the runtime to count.
    pub fn read(circuit: Option<CircuitState>) -> io::Result<Vitals> {
        let mut fds = 0;
        let mut sockets = 0;
        for entry in std::fs::read_dir("/proc/self/fd")? {
            let entry = entry?;
            fds += 1;
            // A descriptor closed since the listing has no link any more.
            if let Ok(target) = std::fs::read_link(entry.path()) {
                if target.to_string_lossy().starts_with("socket:") {
                    sockets += 1;
                }
            }
        }
        let tasks = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        Ok(Vitals {
            fds,
            sockets,
            tasks,
            rss_bytes: resident_pages()? * page_size()?,
            circuit: Circuit::of(circuit),
            circuit_retry_in_ms: open_for(circuit).map(|d| d.as_millis() as u64),
        })
    }

    /// Resident memory in MB.
    pub fn rss_mb(&self) -> f64 {
        self.rss_bytes as f64 / 1e6
    }
}

/// How long a circuit in `state` stays open; `None` unless it is open.
pub fn open_for(state: Option<CircuitState>) -> Option<Duration> {
    match state {
        Some(CircuitState::Open { retry_in }) => Some(retry_in),
        _ => None,
    }
}

/// The second field of `/proc/self/statm`: resident pages.
fn resident_pages() -> io::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .ok_or_else(|| io::Error::other(format!("unexpected /proc/self/statm: {statm:?}")))
}

/// The page size, from the auxiliary vector the kernel gave the process
/// (`AT_PAGESZ`), as 64-bit key and value pairs.
fn page_size() -> io::Result<u64> {
    const AT_PAGESZ: u64 = 6;
    let auxv = std::fs::read("/proc/self/auxv")?;
    auxv.chunks_exact(16)
        .map(|pair| {
            let word = |bytes: &[u8]| u64::from_ne_bytes(bytes.try_into().expect("8 bytes"));
            (word(&pair[..8]), word(&pair[8..]))
        })
        .find(|(key, _)| *key == AT_PAGESZ)
        .map(|(_, size)| size)
        .ok_or_else(|| io::Error::other("/proc/self/auxv has no page size (AT_PAGESZ)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_this_process() {
        let before = Vitals::read(None).unwrap();
        assert!(before.rss_bytes > 1_000_000, "{before:?}");
        assert!(page_size().unwrap().is_power_of_two());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let waiting = tokio::spawn(std::future::pending::<()>());
        let after = Vitals::read(None).unwrap();
        assert_eq!(after.sockets, before.sockets + 1, "{before:?} {after:?}");
        assert!(after.fds > before.fds);
        assert_eq!(after.tasks, before.tasks + 1);
        waiting.abort();
        drop(listener);
    }
}
