//! The timer hyper's HTTP/1.1 connection runs its header-read timeout on.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper_util::rt::TokioTimer;

use super::{Clock, ConnectionLimits, NEVER};

/// The timer hyper's HTTP/1.1 connection is given. hyper asks it for one
/// kind of deadline only, the header-read one, and does so each time it
/// starts waiting for a request head.
#[derive(Debug, Clone)]
pub(in crate::http) struct ConnectionTimer {
    clock: Arc<Clock>,
    limits: ConnectionLimits,
}

impl ConnectionTimer {
    pub(in crate::http) fn new(clock: Arc<Clock>, limits: ConnectionLimits) -> Self {
        ConnectionTimer { clock, limits }
    }
}

impl hyper::rt::Timer for ConnectionTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        TokioTimer::new().sleep(duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        // hyper asks for `now + header_read_timeout`; any other deadline is
        // not the header-read one and is kept as asked.
        let remaining = deadline.saturating_duration_since(Instant::now());
        let header_read = self.limits.header_read;
        if remaining > header_read || header_read - remaining > Duration::from_millis(100) {
            return TokioTimer::new().sleep_until(deadline);
        }
        Box::pin(HeadDeadline::arm(self.clock.clone(), self.limits))
    }
}

/// hyper's header-read deadline, moved to where this server wants it.
#[derive(Debug)]
struct HeadDeadline {
    clock: Arc<Clock>,
    header_read: Duration,
    /// Waiting for the first request: the deadline is fixed.
    first: bool,
    due: Instant,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl HeadDeadline {
    fn arm(clock: Arc<Clock>, limits: ConnectionLimits) -> Self {
        let first = !clock.requested.load(Relaxed);
        let due = if first {
            clock.accepted + limits.header_read
        } else {
            // Bytes hyper already buffered (a client that pipelines) are not
            // seen here, so such a head gets the idle timeout: still bounded.
            clock.first_byte.store(NEVER, Relaxed);
            clock.awaiting_first_byte.store(true, Relaxed);
            Instant::now() + limits.idle
        };
        HeadDeadline {
            clock,
            header_read: limits.header_read,
            first,
            due,
            sleep: Box::pin(tokio::time::sleep_until(due.into())),
        }
    }
}

impl Future for HeadDeadline {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.first {
            let first_byte = self.clock.first_byte.load(Relaxed);
            if first_byte != NEVER {
                let due = self.clock.at(first_byte) + self.header_read;
                if due != self.due {
                    self.due = due;
                    self.sleep.as_mut().reset(due.into());
                }
            }
        }
        self.sleep.as_mut().poll(cx)
    }
}

impl hyper::rt::Sleep for HeadDeadline {}
