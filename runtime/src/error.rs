//! Errors on both sides of a call: the typed service error a contract
//! declares, the RFC 9457 problem document every failure travels as, the
//! [`CallError`] a client returns, and its [`RetryClass`]: the one rule for
//! whether a failed call may be sent again.

mod retry;

use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::resilience::{BulkheadFull, CircuitOpen};

pub(crate) use retry::parse_retry_after;
pub use retry::{RetryClass, DEFAULT_MAX_RETRY_AFTER};

/// A variant of a service error and the status it is sent with; written by
/// `#[derive(ServiceError)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorVariantInfo {
    /// The variant name (the type name for a struct).
    pub name: &'static str,
    /// The HTTP status it is sent with.
    pub status: u16,
    /// Its doc comment, empty if none.
    pub docs: &'static str,
}

/// An error type a request method returns as `Result<T, E>`.
///
/// Derive it with `#[derive(accord::ServiceError)]` and give each variant a
/// `#[status(N)]`. The server sends the value inside a problem document with
/// that status; the client decodes it back into the same `E`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a service error",
    label = "the error type of a request method must derive `accord::ServiceError`",
    note = "derive `Serialize`, `Deserialize`, `JsonSchema` and `accord::ServiceError`, and give each variant a `#[status(N)]` with a 4xx or 5xx status"
)]
pub trait ServiceError: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static {
    /// The status this value is sent with.
    fn status(&self) -> u16;
    /// The name of this value's variant.
    fn variant(&self) -> &'static str;
    /// Every variant with its status, for the descriptor.
    fn variants() -> &'static [ErrorVariantInfo];
}

/// The error type of a request method that cannot fail (returns plain `T`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum NoError {}

impl ServiceError for NoError {
    fn status(&self) -> u16 {
        match *self {}
    }
    fn variant(&self) -> &'static str {
        match *self {}
    }
    fn variants() -> &'static [ErrorVariantInfo] {
        &[]
    }
}

impl fmt::Display for NoError {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

/// Where in a request a rejected value was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// A `{name}` path parameter.
    Path,
    /// The query string.
    Query,
    /// A header.
    Header,
    /// The JSON body.
    Body,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Location::Path => "path parameter",
            Location::Query => "query",
            Location::Header => "header",
            Location::Body => "body",
        })
    }
}

/// One rejected part of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Which part of the request.
    pub location: Location,
    /// The parameter, header or body field path (`items[0].quantity`); empty
    /// when the problem is with the body as a whole.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.location, self.reason)
        } else {
            write!(f, "{} `{}`: {}", self.location, self.field, self.reason)
        }
    }
}

/// An RFC 9457 problem document (`application/problem+json`).
///
/// Every failure a server reports travels as one: bad input (with
/// [`errors`](Problem::errors) naming each rejected field), unknown routes,
/// panics, and the service's own typed errors (in [`error`](Problem::error)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI identifying the problem type.
    #[serde(rename = "type", default = "about_blank")]
    pub type_: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// An explanation specific to this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request path this occurrence concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The rejected parts of the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The service's typed error value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    /// Not part of the document: the `Retry-After` of the reply it came in.
    #[serde(skip)]
    retry_after: Option<Duration>,
}

fn about_blank() -> String {
    "about:blank".to_owned()
}

/// The problem type of a request the server could not decode.
pub const INVALID_REQUEST: &str = "urn:accord:problem:invalid-request";
/// The problem type of a service's own typed error.
pub const SERVICE_ERROR: &str = "urn:accord:problem:service-error";

impl Problem {
    /// A problem with only a status and title (`type` is `about:blank`).
    pub fn new(status: u16, title: impl Into<String>) -> Self {
        Problem {
            type_: about_blank(),
            title: title.into(),
            status,
            detail: None,
            instance: None,
            errors: Vec::new(),
            error: None,
            retry_after: None,
        }
    }

    /// How long the server asked the caller to wait before sending the call
    /// again, from the `Retry-After` of the reply this document came in
    /// (servers send it with 429 and 503); `None` when it did not say or
    /// the document was not received by a client.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    pub(crate) fn set_retry_after(&mut self, retry_after: Option<Duration>) {
        self.retry_after = retry_after;
    }

    /// Sets the detail.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.title)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

/// A boxed error from a transport.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A client argument that could not be put on the wire.
#[derive(Debug)]
pub struct EncodeError {
    pub(crate) what: String,
    pub(crate) reason: String,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot encode {}: {}", self.what, self.reason)
    }
}

impl std::error::Error for EncodeError {}

/// The server's answer did not follow the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    /// The status received, if a response arrived.
    pub status: Option<u16>,
    /// What was wrong with it.
    pub reason: String,
    /// The start of the body received (at most 512 bytes, lossy UTF-8).
    pub body_excerpt: String,
    /// The reply's `Retry-After`, if a reply arrived and carried one
    /// (capped by the transport, at [`DEFAULT_MAX_RETRY_AFTER`] unless set).
    pub retry_after: Option<Duration>,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "status {status}: {}", self.reason)?,
            None => f.write_str(&self.reason)?,
        }
        if !self.body_excerpt.is_empty() {
            write!(f, " (body: {:?})", self.body_excerpt)?;
        }
        Ok(())
    }
}

/// How a typed client call failed.
#[derive(Debug)]
pub enum CallError<E> {
    /// The service answered with one of its declared errors.
    Service(E),
    /// The server rejected or failed the call with a problem document that is
    /// not one of the declared errors (bad input, unknown route, a panic).
    Problem(Box<Problem>),
    /// No complete answer within the client's timeout.
    Timeout(Duration),
    /// The connection could not be made or broke before the answer arrived.
    Connection(BoxError),
    /// The answer did not follow the contract: a status other than the one
    /// the contract declares for it (for the success, for the typed error's
    /// variant, or named by the problem document), no problem document with
    /// an error status, or an undecodable body.
    Protocol(ProtocolError),
    /// An argument could not be encoded for the wire.
    Encode(EncodeError),
    /// The client's credential provider failed to give the credential the
    /// call requires; the call was not sent.
    Credential(BoxError),
    /// The call was not sent: the circuit to its target is open after
    /// repeated failures (or half-open with its probes in flight), and says
    /// when it lets a call through again.
    CircuitOpen(CircuitOpen),
    /// The call was not sent: the target's calls in flight were at the
    /// bulkhead's limit for longer than the bulkhead lets a call wait.
    BulkheadFull(BulkheadFull),
}

impl<E> CallError<E> {
    /// The service error, if the call failed with one.
    pub fn service_error(&self) -> Option<&E> {
        match self {
            CallError::Service(e) => Some(e),
            _ => None,
        }
    }

    /// How this failure counts for sending the call again: the one rule
    /// every retry decision follows. See [`RetryClass`] for which failures
    /// are retryable and which count against the server's health.
    pub fn retry_class(&self) -> RetryClass {
        match self {
            CallError::Service(_) | CallError::Encode(_) | CallError::Credential(_) => {
                RetryClass::Final
            }
            CallError::Timeout(_) => RetryClass::Timeout,
            CallError::Connection(_) => RetryClass::Connection,
            CallError::Problem(problem) => {
                RetryClass::of_status(problem.status, problem.retry_after())
            }
            CallError::Protocol(error) => match error.status {
                Some(status) => RetryClass::of_status(status, error.retry_after),
                None => RetryClass::Final,
            },
            CallError::CircuitOpen(open) => RetryClass::NotSent {
                retry_after: Some(open.retry_in),
            },
            CallError::BulkheadFull(_) => RetryClass::NotSent { retry_after: None },
        }
    }

    /// Whether sending the call again may succeed: a timeout, a connection
    /// failure, a 5xx or a 429 reply, whether or not it is a problem
    /// document. Only an idempotent operation may be repeated safely.
    /// Shorthand for `self.retry_class().is_retryable()`.
    pub fn is_retryable(&self) -> bool {
        self.retry_class().is_retryable()
    }

    /// How long the server asked the caller to wait before sending the call
    /// again, for a retryable failure whose reply carried a `Retry-After`
    /// (capped by the transport, at [`DEFAULT_MAX_RETRY_AFTER`] unless set).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_class().retry_after()
    }
}

impl<E> From<EncodeError> for CallError<E> {
    fn from(e: EncodeError) -> Self {
        CallError::Encode(e)
    }
}

impl<E: fmt::Debug> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Service(e) => write!(f, "service error: {e:?}"),
            CallError::Problem(p) => write!(f, "request failed: {p}"),
            CallError::Timeout(d) => write!(f, "no answer within {d:?}"),
            CallError::Connection(e) => write!(f, "connection failed: {e}"),
            CallError::Protocol(e) => write!(f, "protocol error: {e}"),
            CallError::Encode(e) => write!(f, "{e}"),
            CallError::Credential(e) => write!(f, "no credential for the call: {e}"),
            CallError::CircuitOpen(e) => write!(f, "{e}"),
            CallError::BulkheadFull(e) => write!(f, "{e}"),
        }
    }
}

impl<E: fmt::Debug> std::error::Error for CallError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallError::Connection(e) => Some(e.as_ref()),
            CallError::Problem(p) => Some(p.as_ref()),
            CallError::Encode(e) => Some(e),
            CallError::Credential(e) => Some(e.as_ref()),
            CallError::CircuitOpen(e) => Some(e),
            CallError::BulkheadFull(e) => Some(e),
            _ => None,
        }
    }
}
