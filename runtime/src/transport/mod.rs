//! Request transports: how a generated client's [`Call`] reaches a server.
//!
//! A transport only moves a [`Call`] to the server and the [`Reply`] back;
//! encoding, decoding (which checks the reply's status against the
//! contract), timeouts and the resend of an idempotent call live in
//! [`ClientCore`], and error classification in [`RetryClass`], so every
//! transport behaves the same to the caller.

pub mod broker;
mod http;
mod in_process;

use std::future::Future;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::error::{BoxError, CallError, ProtocolError, RetryClass, ServiceError};
use crate::wire::{Call, Reply, Route};

pub use self::broker::{request_topic, serve_requests, BrokerTransport, RequestServerHandle};
pub use self::http::{
    HttpTransport, HttpTransportBuilder, HttpTransportError, InvalidBaseUrl,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_POOL_IDLE_TIMEOUT, DEFAULT_POOL_MAX_IDLE_PER_HOST,
};
pub use in_process::InProcess;

/// Carries request calls to a server.
pub trait Transport: Send + Sync + 'static {
    /// Sends `call` for `route` and waits for the complete reply. The
    /// caller also enforces `timeout`; a transport that must name a timeout
    /// to its peer (a broker request) uses it.
    fn send(
        &self,
        route: &'static Route,
        call: Call,
        timeout: Duration,
    ) -> impl Future<Output = Result<Reply, TransportError>> + Send;
}

/// Why a transport could not deliver a call or its reply.
#[derive(Debug)]
pub enum TransportError {
    /// The connection could not be made, or broke before the reply arrived.
    Connection(BoxError),
    /// The peer answered in a way the transport cannot read.
    Protocol(ProtocolError),
    /// The transport's own timeout ran out.
    Timeout(Duration),
}

/// The default per-call timeout of a client.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// What every generated client holds: a transport and a per-call timeout.
#[derive(Debug, Clone)]
pub struct ClientCore<T> {
    transport: T,
    timeout: Duration,
}

impl<T: Transport> ClientCore<T> {
    /// A client core over `transport` with the default timeout.
    pub fn new(transport: T) -> Self {
        ClientCore {
            transport,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The per-call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sets the per-call timeout.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Sends `call` and decodes the reply as `R` or the service error `E`.
    ///
    /// The call may take the client's timeout, or less when it is made
    /// while serving a call with a deadline: then it takes the smaller of
    /// the timeout and the time that call has left
    /// ([`Context::current`](crate::Context::current)), so a chain of calls
    /// never works past its first caller's deadline. A call with no time
    /// left fails with [`CallError::Timeout`] without being sent. The time
    /// left travels with the call as [`accord-timeout`](crate::deadline).
    ///
    /// An idempotent call whose connection failed
    /// ([`RetryClass::Connection`]) is sent once more, within the same
    /// time: repeating it cannot do harm, and a pooled connection the
    /// server has just closed would otherwise fail it. Other failures are
    /// not resent here: a timeout has used up the call's time, and a 5xx or
    /// 429 reply calls for a retry policy that backs off, built on the same
    /// [`CallError::retry_class`]. Calls that are not idempotent are never
    /// repeated.
    pub async fn call<R: DeserializeOwned, E: ServiceError>(
        &self,
        route: &'static Route,
        mut call: Call,
    ) -> Result<R, CallError<E>> {
        let timeout = crate::context::Context::with_current(|c| c.remaining())
            .flatten()
            .map_or(self.timeout, |left| left.min(self.timeout));
        if timeout.is_zero() {
            return Err(CallError::Timeout(timeout));
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let trace = crate::trace::TraceContext::outgoing();
        if let Ok(value) = ::http::HeaderValue::try_from(trace.to_string()) {
            call.headers_mut().insert(crate::trace::TRACEPARENT, value);
        }
        let exchange = async {
            if !route.idempotent {
                return self.attempt(route, call, deadline, timeout).await;
            }
            match self.attempt(route, call.clone(), deadline, timeout).await {
                Err(error) if error.retry_class() == RetryClass::Connection => {
                    if let CallError::Connection(cause) = &error {
                        tracing::debug!(error = %cause, operation = route.operation, "connection failed; sending the idempotent call again");
                    }
                    self.attempt(route, call, deadline, timeout).await
                }
                other => other,
            }
        };
        tokio::time::timeout_at(deadline, exchange)
            .await
            .unwrap_or(Err(CallError::Timeout(timeout)))
    }

    /// Sends `call` once and decodes the reply.
    async fn attempt<R: DeserializeOwned, E: ServiceError>(
        &self,
        route: &'static Route,
        mut call: Call,
        deadline: tokio::time::Instant,
        timeout: Duration,
    ) -> Result<R, CallError<E>> {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        call.headers_mut().insert(
            crate::deadline::TIMEOUT_HEADER,
            crate::deadline::timeout_value(left),
        );
        match self.transport.send(route, call, left).await {
            // The server gave up at the deadline this client sent: to the
            // caller, that is this call's timeout, whichever side noticed first.
            Ok(reply) if crate::deadline::is_exceeded(&reply) => Err(CallError::Timeout(timeout)),
            Ok(reply) => reply.decode(route),
            Err(TransportError::Timeout(_)) => Err(CallError::Timeout(timeout)),
            Err(TransportError::Connection(e)) => Err(CallError::Connection(e)),
            Err(TransportError::Protocol(e)) => Err(CallError::Protocol(e)),
        }
    }
}
