//! Request transports: how a generated client's [`Call`] reaches a server.
//!
//! A transport only moves a [`Call`] to the server and the [`Reply`] back;
//! encoding, decoding, timeouts and error classification live in
//! [`ClientCore`], so every transport behaves the same to the caller.

pub mod broker;
mod http;
mod in_process;

use std::future::Future;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::error::{BoxError, CallError, ProtocolError, ServiceError};
use crate::wire::{Call, Reply, Route};

pub use self::broker::{request_topic, serve_requests, BrokerTransport, RequestServerHandle};
pub use self::http::{HttpTransport, InvalidBaseUrl};
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
    /// An idempotent call whose connection failed is sent once more, within
    /// the same timeout: repeating it cannot do harm, and a pooled
    /// connection the server has just closed would otherwise fail it. Other
    /// calls are never repeated.
    pub async fn call<R: DeserializeOwned, E: ServiceError>(
        &self,
        route: &'static Route,
        mut call: Call,
    ) -> Result<R, CallError<E>> {
        let trace = crate::trace::TraceContext::outgoing();
        if let Ok(value) = ::http::HeaderValue::try_from(trace.to_string()) {
            call.headers_mut().insert(crate::trace::TRACEPARENT, value);
        }
        let exchange = async {
            if route.idempotent {
                match self.transport.send(route, call.clone(), self.timeout).await {
                    Err(TransportError::Connection(error)) => {
                        tracing::debug!(%error, operation = route.operation, "connection failed; sending the idempotent call again");
                        self.transport.send(route, call, self.timeout).await
                    }
                    other => other,
                }
            } else {
                self.transport.send(route, call, self.timeout).await
            }
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Err(_) | Ok(Err(TransportError::Timeout(_))) => Err(CallError::Timeout(self.timeout)),
            Ok(Err(TransportError::Connection(e))) => Err(CallError::Connection(e)),
            Ok(Err(TransportError::Protocol(e))) => Err(CallError::Protocol(e)),
            Ok(Ok(reply)) => reply.decode(),
        }
    }
}
