//! Serving a router on a TCP listener: hyper-util's HTTP/1.1 and HTTP/2
//! server, over plain TCP or TLS, with the connection limits, a connection
//! cap around the accept loop, and graceful shutdown bounded by a grace
//! period.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::rt::{Read, Write};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::connection::{self, Clock, ConnectionLimits, ConnectionService, MeteredStream};
use super::tls::{ServerTls, WithClientCertificate};

/// The default longest wait for a request's head: 10 seconds.
///
/// On a new connection it runs from the accept to the end of the first
/// request's headers; on a kept-alive connection, from the first byte of the
/// next request to the end of its headers. A client on any network sends a
/// few kilobytes of headers in well under a second, so 10 s only closes
/// connections that trickle their headers (slowloris) or never send any.
///
/// Over TLS, the first request's time starts at the accept too, so the TLS
/// handshake counts against it: a client that never finishes its handshake
/// is closed after this long.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The default longest a kept-alive connection may wait between requests:
/// 60 seconds.
///
/// Over HTTP/1.1 it runs from the end of a response to the first byte of the
/// next request; over HTTP/2, while no stream is open. 60 s is the common
/// choice of proxies and load balancers (nginx's 75 s, AWS's 60 s): long
/// enough for connection pools to reuse connections between bursts, short
/// enough that abandoned connections give back their file descriptors.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The default largest number of connections open at once: 10,000.
///
/// Past it the server stops accepting: new connections wait in the
/// listener's backlog (the kernel completes their handshake; once the
/// backlog is full it drops further attempts and clients retry) until a
/// connection closes. `tokio::net::TcpListener::bind` listens with a
/// backlog of 128; a listener made with `tokio::net::TcpSocket::listen`
/// can queue more. 10,000 idle connections cost a few tens of megabytes;
/// the process's open-file limit (`ulimit -n`) must be above it, or accepts
/// fail with "too many open files" first (the server then backs off and
/// retries).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// The default longest a graceful shutdown waits for requests in flight:
/// 30 seconds.
///
/// Orchestrators give a process about this long after `SIGTERM` before they
/// kill it (Kubernetes: 30 s), and the handlers' own
/// [request timeout](super::DEFAULT_REQUEST_TIMEOUT) is no longer.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The first pause after an accept fails for want of resources (file
/// descriptors, memory); it doubles up to [`ACCEPT_BACKOFF_MAX`], so a
/// server out of descriptors neither spins nor waits long once one frees.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How a router is served: the connection-level limits.
///
/// | limit | default | setter | past it |
/// |---|---|---|---|
/// | request head | [`DEFAULT_HEADER_READ_TIMEOUT`] | [`header_read_timeout`](Self::header_read_timeout) | connection closed |
/// | idle keep-alive | [`DEFAULT_IDLE_TIMEOUT`] | [`idle_timeout`](Self::idle_timeout) | connection closed |
/// | open connections | [`DEFAULT_MAX_CONNECTIONS`] | [`max_connections`](Self::max_connections) | new ones wait in the accept backlog |
/// | shutdown | [`DEFAULT_SHUTDOWN_GRACE`] | [`shutdown_grace`](Self::shutdown_grace) | remaining connections closed |
///
/// Connections are plain TCP unless [`tls`](Self::tls) is set; every limit
/// applies to TLS connections alike, the handshake counting against the
/// header-read timeout.
///
/// The per-request limits (body size and read time, handler time,
/// concurrency) are set on [`HttpServer`](super::HttpServer).
///
/// ```text
/// accord::http::ServeOptions::new()
///     .idle_timeout(Duration::from_secs(120))
///     .max_connections(2_000)
///     .serve(listener, app, shutdown)
///     .await?;
/// ```
#[derive(Debug, Clone)]
pub struct ServeOptions {
    header_read_timeout: Duration,
    idle_timeout: Duration,
    max_connections: usize,
    shutdown_grace: Duration,
    tls: Option<ServerTls>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            tls: None,
        }
    }
}

impl ServeOptions {
    /// The defaults.
    pub fn new() -> Self {
        ServeOptions::default()
    }

    /// Sets the longest wait for a request's head (see
    /// [`DEFAULT_HEADER_READ_TIMEOUT`]); past it the connection is closed.
    ///
    /// # Panics
    ///
    /// If `timeout` is zero: no request could ever arrive.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        assert!(
            !timeout.is_zero(),
            "ServeOptions::header_read_timeout must be more than zero"
        );
        self.header_read_timeout = timeout;
        self
    }

    /// Sets the longest a kept-alive connection may wait between requests
    /// (see [`DEFAULT_IDLE_TIMEOUT`]); past it the connection is closed.
    ///
    /// # Panics
    ///
    /// If `timeout` is zero.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        assert!(
            !timeout.is_zero(),
            "ServeOptions::idle_timeout must be more than zero"
        );
        self.idle_timeout = timeout;
        self
    }

    /// Sets the largest number of connections open at once (see
    /// [`DEFAULT_MAX_CONNECTIONS`]); past it new connections wait in the
    /// listener's backlog.
    ///
    /// # Panics
    ///
    /// If `max` is zero: no connection could ever be served.
    pub fn max_connections(mut self, max: usize) -> Self {
        assert!(max > 0, "ServeOptions::max_connections must be at least 1");
        assert!(
            max <= Semaphore::MAX_PERMITS,
            "ServeOptions::max_connections must be at most {}",
            Semaphore::MAX_PERMITS
        );
        self.max_connections = max;
        self
    }

    /// Sets how long a graceful shutdown waits for the requests in flight
    /// (see [`DEFAULT_SHUTDOWN_GRACE`]) before it closes the connections
    /// still open and [`serve`](Self::serve) returns.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Serves TLS on every connection with `tls` (no TLS unless set): its
    /// certificate, the client certificates it asks for, and the protocols
    /// it offers by ALPN. The TLS handshake and the first request head must
    /// together arrive within the
    /// [header-read timeout](Self::header_read_timeout) of the accept; a
    /// handshake that fails closes the connection, logged at debug level.
    pub fn tls(mut self, tls: ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Serves `router` on `listener` over HTTP/1.1 and HTTP/2 (h2c without
    /// [TLS](Self::tls), by ALPN with it) until `shutdown`
    /// completes; then stops accepting, lets the requests in flight finish
    /// for up to the shutdown grace period, closes what is left and returns.
    ///
    /// Accepted sockets get `TCP_NODELAY`. A failed accept is retried: at
    /// once when only that connection failed, after a pause that doubles
    /// up to one second when the process is out of file descriptors or
    /// memory.
    ///
    /// A connection upgraded to another protocol (a WebSocket, say) keeps
    /// its place under the connection cap while its socket is open, but its
    /// timeouts and its end at shutdown are then up to the upgrade's
    /// handler.
    pub async fn serve(
        self,
        listener: TcpListener,
        router: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let limits = ConnectionLimits {
            header_read: self.header_read_timeout,
            idle: self.idle_timeout,
        };
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .header_read_timeout(self.header_read_timeout);
        // hyper-util has no cap on connections: a semaphore taken before each
        // accept is one, and leaves the excess in the kernel's backlog where
        // it costs this process nothing.
        let slots = Arc::new(Semaphore::new(self.max_connections));
        let graceful = GracefulShutdown::new();
        let mut connections = JoinSet::new();
        let mut shutdown = pin!(shutdown);
        let mut backoff = ACCEPT_BACKOFF_MIN;
        let mut at_cap = false;
        loop {
            let slot = match slots.clone().try_acquire_owned() {
                Ok(slot) => {
                    at_cap = false;
                    slot
                }
                Err(_) => {
                    if !at_cap {
                        at_cap = true;
                        tracing::warn!(
                            max_connections = self.max_connections,
                            "at the connection cap: new connections wait in the accept backlog"
                        );
                    }
                    tokio::select! {
                        biased;
                        () = &mut shutdown => break,
                        slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                    }
                }
            };
            let stream = tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(error) if is_connection_error(&error) => continue,
                    Err(error) => {
                        tracing::warn!(%error, retry_in = ?backoff, "accepting a connection failed");
                        tokio::select! {
                            biased;
                            () = &mut shutdown => break,
                            () = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                        continue;
                    }
                },
            };
            backoff = ACCEPT_BACKOFF_MIN;
            reap(&mut connections);
            let connection = serve_connection(
                builder.clone(),
                stream,
                slot,
                router.clone(),
                graceful.watcher(),
                limits,
                self.tls.clone(),
            );
            connections.spawn(connection);
        }
        drop(listener);
        reap(&mut connections);
        let open = graceful.count();
        if open > 0 {
            tracing::info!(
                connections = open,
                grace = ?self.shutdown_grace,
                "shutting down: finishing the requests in flight"
            );
        }
        if tokio::time::timeout(self.shutdown_grace, graceful.shutdown())
            .await
            .is_err()
        {
            reap(&mut connections);
            tracing::warn!(
                connections = connections.len(),
                "closing the connections still open after the shutdown grace period"
            );
        }
        connections.shutdown().await;
        Ok(())
    }
}

/// Serves `router` on `listener` with the default [`ServeOptions`] until
/// `shutdown` completes, then finishes the requests in flight (for up to
/// [`DEFAULT_SHUTDOWN_GRACE`]) before returning.
///
/// ```text
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// accord::http::serve(listener, app, async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await?;
/// ```
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    ServeOptions::new().serve(listener, router, shutdown).await
}

async fn serve_connection(
    mut builder: auto::Builder<TokioExecutor>,
    stream: TcpStream,
    slot: OwnedSemaphorePermit,
    router: Router,
    watcher: hyper_util::server::graceful::Watcher,
    limits: ConnectionLimits,
    tls: Option<ServerTls>,
) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::trace!(%error, "could not set TCP_NODELAY");
    }
    let clock = Clock::new();
    builder
        .http1()
        .timer(connection::ConnectionTimer::new(clock.clone(), limits));
    let stream = MeteredStream::new(stream, clock.clone(), slot);
    let service = ConnectionService::new(router, clock.clone());
    let Some(tls) = tls else {
        let service = WithClientCertificate::new(service, None);
        return serve_io(
            &builder,
            TokioIo::new(stream),
            service,
            watcher,
            &clock,
            limits,
        )
        .await;
    };
    // The handshake runs on the first request's clock, so a client that
    // never finishes it is closed at the header-read timeout.
    let accepted = tokio::select! {
        accepted = tls.accept(stream) => accepted,
        () = connection::expired(&clock, limits) => {
            tracing::debug!("closing a connection whose TLS handshake did not finish within the header-read timeout");
            return;
        }
    };
    let accepted = match accepted {
        Ok(accepted) => accepted,
        Err(error) => {
            tracing::debug!(%error, "TLS handshake failed");
            return;
        }
    };
    let builder = accepted.protocol(builder);
    let service = WithClientCertificate::new(service, accepted.certificate);
    serve_io(
        &builder,
        TokioIo::new(accepted.stream),
        service,
        watcher,
        &clock,
        limits,
    )
    .await;
}

/// Serves one connection's requests until it ends or its clock expires.
async fn serve_io<I>(
    builder: &auto::Builder<TokioExecutor>,
    io: I,
    service: WithClientCertificate,
    watcher: hyper_util::server::graceful::Watcher,
    clock: &Clock,
    limits: ConnectionLimits,
) where
    I: Read + Write + Unpin + Send + 'static,
{
    let served = watcher.watch(builder.serve_connection_with_upgrades(io, service));
    tokio::select! {
        result = served => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        () = connection::expired(clock, limits) => {}
    }
}

/// Collects the connections that have ended, so the set stays as large as
/// the connections open.
fn reap(connections: &mut JoinSet<()>) {
    while let Some(ended) = connections.try_join_next() {
        if let Err(error) = ended {
            if error.is_panic() {
                tracing::error!(%error, "a connection's task panicked");
            }
        }
    }
}

/// Errors of one incoming connection, not of the listener: the next accept
/// may well succeed at once.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
