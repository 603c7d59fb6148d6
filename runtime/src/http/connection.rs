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
//! The pieces share one [`Clock`] of atomics; they all run on the
//! connection's task, so the atomics are for `Send`, not for contention.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use bytes::Bytes;
use http::{Request, Response, Version};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioTimer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit};

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
    /// When `in_flight` last fell to zero.
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
        if clock.in_flight.load(Relaxed) > 0 {
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
        if self.0.in_flight.fetch_sub(1, Relaxed) == 1 {
            self.0.idle_since.store(self.0.now(), Relaxed);
            self.0.went_idle.notify_one();
        }
    }
}

/// The TCP stream of a connection: tells the clock when bytes arrive, and
/// holds the connection's place under the server's connection cap for as
/// long as the socket is open (also after an upgrade hands it elsewhere).
#[derive(Debug)]
pub(super) struct MeteredStream {
    stream: TcpStream,
    clock: Arc<Clock>,
    _permit: OwnedSemaphorePermit,
}

impl MeteredStream {
    pub(super) fn new(stream: TcpStream, clock: Arc<Clock>, permit: OwnedSemaphorePermit) -> Self {
        MeteredStream {
            stream,
            clock,
            _permit: permit,
        }
    }
}

impl AsyncRead for MeteredStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.stream).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            self.clock.bytes_read();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for MeteredStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The timer hyper's HTTP/1.1 connection is given. hyper asks it for one
/// kind of deadline only, the header-read one, and does so each time it
/// starts waiting for a request head.
#[derive(Debug, Clone)]
pub(super) struct ConnectionTimer {
    clock: Arc<Clock>,
    limits: ConnectionLimits,
}

impl ConnectionTimer {
    pub(super) fn new(clock: Arc<Clock>, limits: ConnectionLimits) -> Self {
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

/// The router as one connection's hyper service: marks the connection as
/// having delivered a request and counts HTTP/2 requests in flight.
#[derive(Debug, Clone)]
pub(super) struct ConnectionService {
    router: Router,
    clock: Arc<Clock>,
}

impl ConnectionService {
    pub(super) fn new(router: Router, clock: Arc<Clock>) -> Self {
        ConnectionService { router, clock }
    }
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<Incoming>) -> ResponseFuture {
        let in_flight = self.clock.request_started(request.version());
        // A Router is always ready, so `call` without `poll_ready` is sound.
        let inner = tower::Service::call(&mut self.router.clone(), request);
        ResponseFuture { inner, in_flight }
    }
}

/// The response of [`ConnectionService`].
pub(super) struct ResponseFuture {
    inner: axum::routing::future::RouteFuture<Infallible>,
    in_flight: Option<InFlight>,
}

impl std::fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<TrackedBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = ready!(Pin::new(&mut self.inner).poll(cx))?;
        let in_flight = self.in_flight.take();
        Poll::Ready(Ok(response.map(|body| TrackedBody {
            inner: body,
            _in_flight: in_flight,
        })))
    }
}

/// A response body that ends its request's time in flight when dropped.
#[derive(Debug)]
pub(super) struct TrackedBody {
    inner: axum::body::Body,
    _in_flight: Option<InFlight>,
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
