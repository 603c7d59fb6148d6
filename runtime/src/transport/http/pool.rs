//! The client's connections: how they are made (TCP, then TLS for
//! `https://`, within the connect timeout), which HTTP version they speak,
//! and how many are kept idle for how long.
//!
//! hyper-util's pooled client keeps any number of idle connections per host
//! and, without a timer, expires them only when it next looks at the pool.
//! Here both are bounded: at most [`DEFAULT_POOL_MAX_IDLE_PER_HOST`] idle
//! connections per host, each closed by a real timer after
//! [`DEFAULT_POOL_IDLE_TIMEOUT`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http_body_util::Full;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::ClientConfig;
use tokio::net::TcpStream;

use crate::error::BoxError;

use super::error::{find, ConnectTimeout};

/// The default largest number of idle connections kept per host: 128.
///
/// An HTTP/1.1 connection carries one call at a time, so a client with N
/// calls in flight holds N connections; after a burst, up to this many stay
/// open for the next one and the rest are closed. 128 keeps twice the 64
/// calls in flight of accord's benchmarks warm, while a client that once
/// had thousands in flight does not keep thousands of sockets. HTTP/2 needs
/// one connection per host however many calls are in flight.
pub const DEFAULT_POOL_MAX_IDLE_PER_HOST: usize = 128;

/// The default longest a connection is kept idle in the pool: 30 seconds.
///
/// A timer closes it then. A client should give up an idle connection
/// before the server does, or it may send a request on a connection the
/// server is closing at that moment and see it fail: accord's server closes
/// idle connections after 60 s, nginx after 75 s, and many load balancers
/// after 60 s.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The default longest wait to open a connection: 10 seconds, covering the
/// name lookup, the TCP handshake and, for `https://`, the TLS handshake.
///
/// A connection within a region opens in milliseconds and across the world
/// in well under a second; 10 s leaves room for the TCP handshake's own
/// retransmissions (1 s, then 3 s) after a lost packet, and fails a call to
/// an unreachable host long before its 30 s call timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Which HTTP versions the client speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum Versions {
    /// HTTP/2 over TLS when the server picks it by ALPN, else HTTP/1.1;
    /// HTTP/1.1 over plain TCP.
    #[default]
    Negotiate,
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 only: ALPN `h2` alone over TLS, prior knowledge (h2c) over
    /// plain TCP.
    Http2,
}

impl Versions {
    pub(super) fn alpn(self) -> &'static str {
        match self {
            Versions::Negotiate => "h2, http/1.1",
            Versions::Http1 => "http/1.1",
            Versions::Http2 => "h2",
        }
    }
}

/// The pool's settings.
#[derive(Debug, Clone, Copy)]
pub(super) struct PoolSettings {
    pub(super) max_idle_per_host: usize,
    pub(super) idle_timeout: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) versions: Versions,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_idle_per_host: DEFAULT_POOL_MAX_IDLE_PER_HOST,
            idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            versions: Versions::Negotiate,
        }
    }
}

/// The pooled client the transport sends with.
pub(super) type PooledClient = Client<Connector, Full<Bytes>>;

/// Builds the pooled client, and where its connections record their TLS
/// failures. `tls` is the configuration for `https://` connections, without
/// ALPN protocols: they follow `settings.versions`.
pub(super) fn client(settings: PoolSettings, tls: ClientConfig) -> (PooledClient, TlsFailures) {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    // The scheme is the HTTPS connector's to check.
    http.enforce_http(false);
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    let https = match settings.versions {
        Versions::Negotiate => https.enable_all_versions().wrap_connector(http),
        Versions::Http1 => https.enable_http1().wrap_connector(http),
        Versions::Http2 => https.enable_http2().wrap_connector(http),
    };
    let failures = TlsFailures::default();
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(settings.max_idle_per_host)
        .pool_idle_timeout(settings.idle_timeout)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .http2_only(settings.versions == Versions::Http2)
        .build(Connector::new(
            https,
            settings.connect_timeout,
            failures.clone(),
        ));
    (client, failures)
}

/// The HTTPS-or-HTTP connector, bounded by the connect timeout.
///
/// hyper-util's client clones its connector for every request, connection
/// or not, so the connector is one `Arc`: one count to raise and lower per
/// request, where its parts (the TCP settings, the TLS configuration, the
/// server name resolver, the failure record) would be four, each a memory
/// location every core sending requests writes to.
///
/// tower's `Timeout` would do, but hyper-util's client wants a connector
/// whose future is `Unpin`, and a tokio sleep is not.
#[derive(Debug, Clone)]
pub(super) struct Connector(Arc<ConnectorParts>);

#[derive(Debug)]
struct ConnectorParts {
    inner: HttpsConnector<HttpConnector>,
    timeout: Duration,
    failures: TlsFailures,
}

impl Connector {
    fn new(inner: HttpsConnector<HttpConnector>, timeout: Duration, failures: TlsFailures) -> Self {
        Connector(Arc::new(ConnectorParts {
            inner,
            timeout,
            failures,
        }))
    }
}

type Connecting = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

impl tower::Service<Uri> for Connector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Connecting;

    /// Always ready: the connection's own connector, a copy made when it
    /// is opened, is asked in [`call`](Self::call).
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Connecting {
        let parts = self.0.clone();
        Box::pin(async move {
            let mut inner = parts.inner.clone();
            let connecting = async {
                std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
                inner.call(uri).await
            };
            match tokio::time::timeout(parts.timeout, connecting).await {
                Ok(connected) => {
                    connected.map(|stream| Stream::new(stream, parts.failures.clone()))
                }
                Err(_) => Err(Box::new(ConnectTimeout(parts.timeout)) as BoxError),
            }
        })
    }
}

/// The last TLS error a connection of the transport met after its
/// handshake, such as the server's alert refusing the client's certificate,
/// and how many were met before it.
///
/// Over TLS 1.3 a server judges the client's certificate after the client
/// has finished its handshake, so the refusal arrives as the connection's
/// first read. HTTP/1.1 hands that error to the request waiting on the
/// connection; HTTP/2 only ends the connection, and the request fails as
/// "channel closed" or "canceled", with the cause dropped. A request whose
/// error names no cause of its own is described by the TLS error recorded
/// while it was under way: the connections of one transport share their
/// server and their settings, and so the cause of such a failure. A request
/// notes the count as it starts ([`mark`](Self::mark)), an atomic load
/// rather than a read of the clock.
#[derive(Debug, Clone, Default)]
pub(super) struct TlsFailures(Arc<Failures>);

#[derive(Debug, Default)]
struct Failures {
    /// How many errors were recorded; written under the lock.
    count: AtomicU64,
    /// The last one, with its number (from 1).
    last: Mutex<Option<(u64, rustls::Error)>>,
}

impl TlsFailures {
    fn record(&self, error: &io::Error) {
        if let Some(tls) = find::<rustls::Error>(error) {
            let mut last = self.0.last.lock().unwrap_or_else(PoisonError::into_inner);
            let number = self.0.count.load(Ordering::Relaxed) + 1;
            *last = Some((number, tls.clone()));
            self.0.count.store(number, Ordering::Release);
        }
    }

    /// The number of errors recorded so far, to ask [`since`](Self::since)
    /// about those recorded after now.
    pub(super) fn mark(&self) -> u64 {
        self.0.count.load(Ordering::Acquire)
    }

    /// The TLS error last recorded, if it was recorded after `mark` was
    /// taken.
    pub(super) fn since(&self, mark: u64) -> Option<rustls::Error> {
        let last = self.0.last.lock().unwrap_or_else(PoisonError::into_inner);
        match &*last {
            Some((number, error)) if *number > mark => Some(error.clone()),
            _ => None,
        }
    }
}

/// A connection: plain, or TLS recording its failures.
#[derive(Debug)]
pub(super) struct Stream {
    inner: MaybeHttpsStream<TokioIo<TcpStream>>,
    failures: Option<TlsFailures>,
}

impl Stream {
    fn new(inner: MaybeHttpsStream<TokioIo<TcpStream>>, failures: TlsFailures) -> Stream {
        let failures = match inner {
            MaybeHttpsStream::Https(_) => Some(failures),
            MaybeHttpsStream::Http(_) => None,
        };
        Stream { inner, failures }
    }

    fn watch<T>(&self, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if let (Poll::Ready(Err(error)), Some(failures)) = (&result, &self.failures) {
            failures.record(error);
        }
        result
    }
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        self.inner.connected()
    }
}

impl Read for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.watch(result)
    }
}

impl Write for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(result)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(result)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
