//! Request transports: how a generated client's [`Call`] reaches a server.
//!
//! A transport only moves a [`Call`] to the server and the [`Reply`] back;
//! encoding, decoding (which checks the reply's status against the
//! contract), timeouts, retries and the transport's
//! [defences](crate::resilience) live in [`ClientCore`], and error
//! classification in [`RetryClass`], so every transport behaves the same to
//! the caller.

mod attempt;
pub mod broker;
mod credentials;
mod http;
mod in_process;

use std::future::Future;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::error::{BoxError, CallError, ProtocolError, RetryClass, ServiceError};
use crate::resilience::{Acquired, Defences};
use crate::wire::{Call, Reply, Route};

pub use self::broker::{request_topic, serve_requests, BrokerTransport, RequestServerHandle};
pub use self::http::{
    HttpTransport, HttpTransportBuilder, HttpTransportError, InvalidBaseUrl,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_POOL_IDLE_TIMEOUT, DEFAULT_POOL_MAX_IDLE_PER_HOST,
    DEFAULT_REPLY_LIMIT,
};
use attempt::TraceHeaders;
pub use attempt::{AttemptHeaders, Sending};
pub use credentials::Credentials;
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

    /// [`send`](Self::send) for a call its caller keeps, to send again if
    /// this attempt fails (an idempotent call), headers complete. The
    /// default sends a clone; a transport that can send from a borrowed
    /// call copies only what it must. [`ClientCore`] sends through
    /// [`send_attempt`](Self::send_attempt) instead, which adds the
    /// attempt's own headers.
    fn send_ref(
        &self,
        route: &'static Route,
        call: &Call,
        timeout: Duration,
    ) -> impl Future<Output = Result<Reply, TransportError>> + Send {
        self.send(route, call.clone(), timeout)
    }

    /// Sends one attempt of a call: what [`ClientCore`] calls. The call's
    /// headers and `headers` (the call's trace context and the attempt's
    /// `accord-timeout`, from `headers.left()`, which is also `timeout`)
    /// together are the request's headers.
    ///
    /// The default writes `headers` into the call (into a copy of it when
    /// the client keeps it) and hands it to [`send`](Self::send). A
    /// transport that builds a request of its own writes them there
    /// instead, and copies of a kept call only what it must.
    fn send_attempt(
        &self,
        route: &'static Route,
        call: Sending<'_>,
        headers: &AttemptHeaders,
        timeout: Duration,
    ) -> impl Future<Output = Result<Reply, TransportError>> + Send {
        let mut call = match call {
            Sending::Kept(call) => call.clone(),
            Sending::Handed(call) => call,
        };
        headers.write_to(call.headers_mut());
        self.send(route, call, timeout)
    }

    /// The defences against a slow or failing target that clients apply
    /// around each call over this transport: a circuit breaker, retries
    /// within a budget, a bulkhead. `None` (the default) applies none, and
    /// an idempotent call is sent once more after a connection failure.
    fn defences(&self) -> Option<&Defences> {
        None
    }
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

/// What every generated client holds: a transport, a per-call timeout and
/// the credentials it presents.
#[derive(Debug, Clone)]
pub struct ClientCore<T> {
    transport: T,
    timeout: Duration,
    credentials: Option<Credentials>,
}

impl<T: Transport> ClientCore<T> {
    /// A client core over `transport` with the default timeout.
    pub fn new(transport: T) -> Self {
        ClientCore {
            transport,
            timeout: DEFAULT_TIMEOUT,
            credentials: None,
        }
    }

    /// Sets the credentials sent to the requests that require one.
    pub fn set_credentials(&mut self, credentials: Credentials) {
        self.credentials = Some(credentials);
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
    /// Retries and their backoff all fit in that time. The credential the
    /// route requires is asked of the client's provider once per call,
    /// within that time too.
    ///
    /// When the transport has [`Defences`]
    /// (the HTTP transport does, unless turned off), each attempt first
    /// asks the circuit breaker, which fails it at once with
    /// [`CallError::CircuitOpen`] while the target keeps failing (a retry
    /// it refuses ends the call with the failure before it); the call then
    /// takes a bulkhead slot for its whole time, or fails with
    /// [`CallError::BulkheadFull`]; an idempotent call that failed with a
    /// retryable [`RetryClass`] is sent again after a jittered backoff (at
    /// least the reply's `Retry-After`) while the retry budget allows.
    /// Without a retry policy, an idempotent call whose connection failed
    /// is sent once more, at once: a pooled connection the server has just
    /// closed would otherwise fail it. Calls that are not idempotent are
    /// never repeated.
    ///
    /// The call carries the trace context of the span it is made from
    /// ([`crate::observe`]), and is counted, with its time, in the client
    /// metrics ([`crate::observe::metrics`]).
    pub async fn call<R: DeserializeOwned, E: ServiceError>(
        &self,
        route: &'static Route,
        call: Call,
    ) -> Result<R, CallError<E>> {
        // One clock read: the call's deadline and its latency count from it.
        let started = tokio::time::Instant::now();
        let result = self.send_call(route, call, started).await;
        crate::observe::metrics::call_ended(route, &result, started.into_std());
        result
    }

    /// [`call`](Self::call), begun at `started`, but for the metrics.
    async fn send_call<R: DeserializeOwned, E: ServiceError>(
        &self,
        route: &'static Route,
        mut call: Call,
        started: tokio::time::Instant,
    ) -> Result<R, CallError<E>> {
        let timeout = crate::context::Context::with_current(|c| c.remaining())
            .flatten()
            .map_or(self.timeout, |left| left.min(self.timeout));
        if timeout.is_zero() {
            return Err(CallError::Timeout(timeout));
        }
        // The time is read once for the deadline, and for the first
        // attempt's time left as long as nothing has waited since.
        let deadline = started + timeout;
        let mut now = Some(started);
        // Written once, sent by every attempt.
        let mut trace = TraceHeaders::default();
        crate::observe::send_trace(&tracing::Span::current(), &mut trace);
        let mut headers = AttemptHeaders::new(trace, timeout);
        if let (Some(credential), Some(credentials)) = (route.credential, &self.credentials) {
            // Asked once per call, within its time: a provider that hangs
            // fails the call as a timeout, not forever.
            now = None;
            match tokio::time::timeout_at(deadline, credentials.header(credential)).await {
                Err(_) => return Err(CallError::Timeout(timeout)),
                Ok(Ok(Some((name, value)))) => {
                    call.headers_mut().insert(name, value);
                }
                Ok(Ok(None)) => {}
                Ok(Err(error)) => return Err(CallError::Credential(error)),
            }
        }
        let defences = self.transport.defences();
        let retries = defences.and_then(|d| d.retries.as_ref());
        if let Some(retries) = retries {
            retries.deposit();
        }
        // A call that is not idempotent is handed to its one attempt.
        let mut call = Some(call);
        let mut slot = None;
        let mut attempt = 0;
        // The failure a retry follows: what the caller gets if the breaker
        // refuses the retry, rather than the breaker's own refusal.
        let mut last = None;
        loop {
            attempt += 1;
            let permit = match defences.and_then(|d| d.breaker.as_ref()) {
                Some(breaker) => match breaker.try_acquire() {
                    Ok(permit) => Some((breaker, permit)),
                    Err(open) => return Err(last.unwrap_or(CallError::CircuitOpen(open))),
                },
                None => None,
            };
            if slot.is_none() {
                if let Some(bulkhead) = defences.and_then(|d| d.bulkhead.as_ref()) {
                    match bulkhead.acquire(deadline).await {
                        Acquired::Now(taken) => slot = Some(taken),
                        Acquired::Waited(taken) => {
                            now = None;
                            slot = Some(taken);
                        }
                        Acquired::TimedOut => return Err(CallError::Timeout(timeout)),
                        Acquired::Full(full) => return Err(CallError::BulkheadFull(full)),
                    }
                }
            }
            let now = now.take().unwrap_or_else(tokio::time::Instant::now);
            headers.set_left(deadline.saturating_duration_since(now));
            // An idempotent call is kept, to be sent again; the transport
            // borrows it. Any other call is handed over.
            let sending = if route.idempotent {
                Sending::Kept(call.as_ref().expect("an idempotent call is kept"))
            } else {
                Sending::Handed(
                    call.take()
                        .expect("a call that is not idempotent is sent once"),
                )
            };
            let result =
                tokio::time::timeout_at(deadline, self.attempt(route, sending, &headers, timeout))
                    .await
                    .unwrap_or(Err(CallError::Timeout(timeout)));
            let Err(error) = result else {
                if let Some((breaker, permit)) = permit {
                    breaker.record(permit, RetryClass::Final);
                }
                return result;
            };
            let class = error.retry_class();
            if let Some((breaker, permit)) = permit {
                breaker.record(permit, class);
            }
            if !route.idempotent || !class.is_retryable() {
                return Err(error);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let delay = match retries {
                Some(policy) => policy.next_delay(attempt, class.retry_after(), left),
                // Without a policy: the one immediate resend after a
                // connection failure.
                None if attempt == 1 && class == RetryClass::Connection => Some(Duration::ZERO),
                None => None,
            };
            let Some(delay) = delay else {
                return Err(error);
            };
            tracing::debug!(
                failure = ?class,
                operation = route.operation,
                attempt,
                ?delay,
                "sending the idempotent call again"
            );
            tokio::time::sleep(delay).await;
            last = Some(error);
        }
    }

    /// Sends `call` once with the attempt's `headers`, and decodes the
    /// reply.
    async fn attempt<R: DeserializeOwned, E: ServiceError>(
        &self,
        route: &'static Route,
        call: Sending<'_>,
        headers: &AttemptHeaders,
        timeout: Duration,
    ) -> Result<R, CallError<E>> {
        let sent = self
            .transport
            .send_attempt(route, call, headers, headers.left())
            .await;
        match sent {
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
