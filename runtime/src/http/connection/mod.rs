//! One connection's clock: what bounds how long a connection may sit
//! without delivering a request.
//!
//! hyper closes an HTTP/1.1 connection whose request head does not arrive
//! within its header-read timeout, but it starts that timer whenever it
//! waits for a head: right after accepting, and again as soon as the
//! previous response is written. On its own it would therefore close every
//! idle keep-alive connection after the (short) header-read timeout, and
//! offers no separate idle timeout. [`ConnectionTimer`] is the timer hyper
//! is given: while no byte of the next request has arrived it lets hyper's
//! timer run for the idle timeout, and from the first byte for the
//! header-read timeout, the split Go's and Envoy's servers make.
//!
//! Two cases no hyper timer covers are left to [`expired`]: hyper-util's
//! protocol detection reads the first bytes of a connection with no timer at
//! all, and HTTP/2 has no idle timeout. So every connection must deliver its
//! first complete request head within the header-read timeout of being
//! accepted, and an HTTP/2 connection with no stream open for the idle
//! timeout is closed.
//!
//! The pieces share one [`Clock`] of atomics. All but one run on the
//! connection's task; the exception is the end of an HTTP/2 response, which
//! hyper drives on a task of its own, so the in-flight count is published
//! with release and read with acquire ordering.

mod service;
mod stream;
mod timer;

use std::sync::atomic::{
    AtomicBool, AtomicU64, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release},
};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Version;
use tokio::sync::Notify;

pub(in crate::http) use service::ConnectionService;
pub(in crate::http) use stream::MeteredStream;
pub(in crate::http) use timer::ConnectionTimer;

/// The connection-level timeouts.
#[derive(Debug, Clone, Copy)]
pub(super) struct ConnectionLimits {
    pub(super) header_read: Duration,
    pub(super) idle: Duration,
}

const NEVER: u64 = u64::MAX;

/// What the pieces of one connection know of it. Times are nanoseconds
/// since `accepted`.
#[derive(Debug)]
pub(super) struct Clock {
    accepted: Instant,
    /// A request head has arrived.
    requested: AtomicBool,
    /// The requests arrive over HTTP/2.
    http2: AtomicBool,
    /// hyper waits for a request head and no byte of it has arrived yet.
    awaiting_first_byte: AtomicBool,
    /// When the first byte of the awaited head arrived, or `NEVER`.
    first_byte: AtomicU64,
    /// HTTP/2 requests whose response has not been sent in full.
    in_flight: AtomicUsize,
    /// When an HTTP/2 response last ended; read once `in_flight` is zero.
    idle_since: AtomicU64,
    went_idle: Notify,
}

impl Clock {
    pub(super) fn new() -> Arc<Clock> {
        Arc::new(Clock {
            accepted: Instant::now(),
            requested: AtomicBool::new(false),
            http2: AtomicBool::new(false),
            awaiting_first_byte: AtomicBool::new(false),
            first_byte: AtomicU64::new(NEVER),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            went_idle: Notify::new(),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.accepted.elapsed().as_nanos()).unwrap_or(NEVER - 1)
    }

    fn at(&self, nanos: u64) -> Instant {
        self.accepted + Duration::from_nanos(nanos)
    }

    fn bytes_read(&self) {
        // A plain load first: most reads happen while nothing is awaited.
        if self.awaiting_first_byte.load(Relaxed) && self.awaiting_first_byte.swap(false, Relaxed) {
            self.first_byte.store(self.now(), Relaxed);
        }
    }

    fn request_started(self: &Arc<Self>, version: Version) -> Option<InFlight> {
        if !self.requested.load(Relaxed) {
            self.requested.store(true, Relaxed);
        }
        if version != Version::HTTP_2 {
            return None;
        }
        if !self.http2.load(Relaxed) {
            self.http2.store(true, Relaxed);
        }
        self.in_flight.fetch_add(1, Relaxed);
        Some(InFlight(self.clone()))
    }
}

/// Closes a connection (by completing) when it has not delivered its first
/// request head within the header-read timeout of being accepted, or when
/// it is HTTP/2 and no stream has been open for the idle timeout. HTTP/1.1
/// connections past their first request are left to hyper's header-read
/// timer, run by [`ConnectionTimer`].
pub(super) async fn expired(clock: &Clock, limits: ConnectionLimits) {
    tokio::time::sleep_until((clock.accepted + limits.header_read).into()).await;
    if !clock.requested.load(Relaxed) {
        tracing::debug!("closing a connection that sent no complete request in time");
        return;
    }
    if !clock.http2.load(Relaxed) {
        return std::future::pending().await;
    }
    loop {
        if clock.in_flight.load(Acquire) > 0 {
            // notify_one keeps a permit when nobody waits, so a stream that
            // ends between the check and this wait still wakes it.
            clock.went_idle.notified().await;
            continue;
        }
        let due = clock.at(clock.idle_since.load(Relaxed)) + limits.idle;
        if Instant::now() >= due {
            tracing::debug!("closing an idle HTTP/2 connection");
            return;
        }
        tokio::time::sleep_until(due.into()).await;
    }
}

/// Marks one HTTP/2 request in flight until dropped with its response body.
#[derive(Debug)]
struct InFlight(Arc<Clock>);

impl Drop for InFlight {
    fn drop(&mut self) {
        // The time first, so whoever sees the count fall to zero (acquire)
        // also sees when it did.
        self.0.idle_since.store(self.0.now(), Relaxed);
        if self.0.in_flight.fetch_sub(1, Release) == 1 {
            self.0.went_idle.notify_one();
        }
    }
}
