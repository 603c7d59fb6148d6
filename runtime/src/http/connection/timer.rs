//! The timer hyper's HTTP/1.1 connection runs its header-read timeout on.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use hyper_util::rt::TokioTimer;

use super::{Clock, ConnectionLimits, NEVER};

/// The timer hyper's HTTP/1.1 connection is given. hyper asks it for one
/// kind of deadline only, the header-read one, and does so each time it
/// starts waiting for a request head.
///
/// hyper drops that deadline as soon as the head has arrived, so a fresh
/// tokio timer per request would be entered into tokio's timer wheel and
/// taken out again for every request on the connection. Instead the
/// connection keeps one timer, moved only when it must fire earlier than
/// it is set for; a timer left set for an older, earlier deadline wakes the
/// connection once, finds nothing due, and is moved then.
#[derive(Debug, Clone)]
pub(in crate::http) struct ConnectionTimer {
    clock: Arc<Clock>,
    limits: ConnectionLimits,
    sleep: Arc<Mutex<Pin<Box<tokio::time::Sleep>>>>,
}

impl ConnectionTimer {
    pub(in crate::http) fn new(clock: Arc<Clock>, limits: ConnectionLimits) -> Self {
        let first_due = clock.accepted + limits.header_read;
        ConnectionTimer {
            clock,
            limits,
            sleep: Arc::new(Mutex::new(Box::pin(tokio::time::sleep_until(
                first_due.into(),
            )))),
        }
    }
}

impl hyper::rt::Timer for ConnectionTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        TokioTimer::new().sleep(duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        // hyper asks for `now + header_read_timeout`; any other deadline is
        // not the header-read one and is kept as asked.
        let now = Instant::now();
        let remaining = deadline.saturating_duration_since(now);
        let header_read = self.limits.header_read;
        if remaining > header_read || header_read - remaining > Duration::from_millis(100) {
            return TokioTimer::new().sleep_until(deadline);
        }
        Box::pin(HeadDeadline::arm(self, now))
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
    sleep: Arc<Mutex<Pin<Box<tokio::time::Sleep>>>>,
}

impl HeadDeadline {
    fn arm(timer: &ConnectionTimer, now: Instant) -> Self {
        let clock = &timer.clock;
        let first = !clock.requested.load(Relaxed);
        let due = if first {
            clock.accepted + timer.limits.header_read
        } else {
            // Bytes hyper already buffered (a client that pipelines) are not
            // seen here, so such a head gets the idle timeout: still bounded.
            clock.first_byte.store(NEVER, Relaxed);
            clock.awaiting_first_byte.store(true, Relaxed);
            now + timer.limits.idle
        };
        HeadDeadline {
            clock: clock.clone(),
            header_read: timer.limits.header_read,
            first,
            due,
            sleep: timer.sleep.clone(),
        }
    }
}

impl Future for HeadDeadline {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.first {
            let first_byte = self.clock.first_byte.load(Relaxed);
            if first_byte != NEVER {
                self.due = self.clock.at(first_byte) + self.header_read;
            }
        }
        let due = tokio::time::Instant::from_std(self.due);
        // Only this connection's task uses the timer: the lock is never
        // contended, and a poisoned one still holds a valid timer.
        let mut sleep = self.sleep.lock().unwrap_or_else(PoisonError::into_inner);
        if sleep.deadline() > due {
            sleep.as_mut().reset(due);
        }
        loop {
            ready!(sleep.as_mut().poll(cx));
            if tokio::time::Instant::now() >= due {
                return Poll::Ready(());
            }
            // Set for an earlier request's deadline: on to this one.
            sleep.as_mut().reset(due);
        }
    }
}

impl hyper::rt::Sleep for HeadDeadline {}
