//! The HTTP client transport, on a pooled hyper-util client: plain HTTP/1.1
//! (or h2c when asked) for `http://` base URLs, TLS with rustls for
//! `https://`, with HTTP/2 when the server picks it by ALPN.
//!
//! [`HttpTransport::new`] takes a base URL and the defaults;
//! [`HttpTransport::builder`] sets the trusted roots, a custom CA, a client
//! certificate for mutual TLS, the HTTP versions and the pool's bounds.

mod builder;
mod error;
mod pool;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{
    HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, DATE, RETRY_AFTER,
    TRANSFER_ENCODING,
};
use http::uri::{self, Authority, PathAndQuery, Scheme};
use http::{HeaderMap, Request, Uri};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use crate::error::{parse_retry_after, ProtocolError};
use crate::resilience::{CircuitState, Defences};
use crate::wire::{Call, Reply, Route, Segment};

use super::{AttemptHeaders, Sending, Transport, TransportError};

pub use self::builder::{HttpTransportBuilder, HttpTransportError};
pub use self::pool::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_POOL_IDLE_TIMEOUT, DEFAULT_POOL_MAX_IDLE_PER_HOST,
};

/// Characters percent-encoded in a path segment: everything but RFC 3986
/// `unreserved` and the sub-delimiters that are safe inside a segment. A
/// parameter that is `.` or `..` is encoded whole; see [`push_segment`].
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Sends calls over HTTP to one base URL, `http://` or `https://`, reusing
/// pooled connections.
///
/// Over `https://` the server's certificate is checked against the
/// platform's trust store unless the [builder](Self::builder) says
/// otherwise, and HTTP/2 is used when the server picks it by ALPN. Over
/// `http://` it speaks HTTP/1.1 (h2c when asked). At most
/// [`DEFAULT_POOL_MAX_IDLE_PER_HOST`] idle connections are kept, each for
/// at most [`DEFAULT_POOL_IDLE_TIMEOUT`].
///
/// A connection that cannot be made or used is a
/// [`CallError::Connection`](crate::CallError::Connection) whose text names
/// the server and the cause: for TLS, a certificate that was not trusted
/// (and what the client trusts), a name it is not valid for, or a server
/// that wants a client certificate.
///
/// Calls through it are guarded by a circuit breaker, retries within a
/// budget and a bulkhead, one of each per transport: clones share them, and
/// so do all the clients built on those clones. See
/// [`HttpTransportBuilder`] for their settings.
///
/// Cloning is cheap and clones share the connection pool and the defences.
#[derive(Clone)]
pub struct HttpTransport {
    client: pool::PooledClient,
    tls_failures: pool::TlsFailures,
    base: Arc<str>,
    /// The base URL parsed once: each request's URI is made from its
    /// scheme and authority and a path of its own, so only the path is
    /// checked per call.
    origin: Arc<Origin>,
    peer: Arc<error::Peer>,
    reply_limit: usize,
    max_retry_after: Duration,
    defences: Arc<Defences>,
}

/// The parts of the base URL every request's URI repeats.
#[derive(Debug)]
pub(super) struct Origin {
    scheme: Scheme,
    authority: Authority,
    /// The base URL's path, without a trailing slash: empty, or such as
    /// `/api`.
    prefix: Box<str>,
}

impl Origin {
    /// The origin of `base`, a URL with a scheme and an authority.
    pub(super) fn new(base: &Uri) -> Option<Self> {
        Some(Origin {
            scheme: base.scheme()?.clone(),
            authority: base.authority()?.clone(),
            prefix: base.path().trim_end_matches('/').into(),
        })
    }
}

/// The default largest reply body a client reads: 32 MiB.
pub const DEFAULT_REPLY_LIMIT: usize = 32 * 1024 * 1024;

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransport")
            .field("base", &self.base)
            .finish()
    }
}

/// A base URL the HTTP transport cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidBaseUrl {
    url: String,
    reason: Cow<'static, str>,
}

impl fmt::Display for InvalidBaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid base URL {:?}: {}", self.url, self.reason)
    }
}

impl std::error::Error for InvalidBaseUrl {}

impl HttpTransport {
    /// A transport for the server at `base_url` (`http://host:port` or
    /// `https://host:port`, with an optional path prefix such as
    /// `http://host/api`), with the default settings (see
    /// [`HttpTransportBuilder`]).
    ///
    /// An `https://` URL is checked against the platform's trust store; a
    /// machine without one makes this fail, naming the alternatives
    /// ([`HttpTransport::builder`] with other roots or a CA of its own).
    /// Reading the trust store takes a few milliseconds: build a transport
    /// once and clone it, as clones share it and the connection pool.
    pub fn new(base_url: &str) -> Result<Self, InvalidBaseUrl> {
        HttpTransport::builder(base_url)
            .build()
            .map_err(|error| match error {
                HttpTransportError::BaseUrl(invalid) => invalid,
                other => InvalidBaseUrl {
                    url: base_url.to_owned(),
                    reason: other.to_string().into(),
                },
            })
    }

    /// A builder for a transport to `base_url` with TLS, HTTP version and
    /// connection pool settings of its own.
    pub fn builder(base_url: &str) -> HttpTransportBuilder {
        HttpTransportBuilder::new(base_url)
    }

    /// Sets the largest reply body read, in bytes; a larger reply is a
    /// protocol error rather than unbounded buffering.
    pub fn reply_limit(mut self, bytes: usize) -> Self {
        self.reply_limit = bytes;
        self
    }

    /// Sets the longest `Retry-After` reported for a reply
    /// ([`DEFAULT_MAX_RETRY_AFTER`](crate::error::DEFAULT_MAX_RETRY_AFTER) unless set): a longer one is reported as
    /// this, so a server cannot make a caller that honours it wait for
    /// ever.
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The state of the circuit breaker to this base URL; `None` when the
    /// [builder](HttpTransportBuilder::circuit_breaker) turned it off.
    pub fn circuit_state(&self) -> Option<CircuitState> {
        self.defences.circuit_state()
    }

    /// The calls in flight to this base URL through its bulkhead; `None`
    /// when the [builder](HttpTransportBuilder::bulkhead) turned it off.
    pub fn in_flight(&self) -> Option<usize> {
        self.defences.in_flight()
    }

    fn uri(&self, route: &Route, call: &Call) -> Result<Uri, TransportError> {
        let origin = &*self.origin;
        let mut path = String::with_capacity(origin.prefix.len() + route.path.len() + 32);
        path.push_str(&origin.prefix);
        for segment in route.segments {
            match segment {
                Segment::Literal(text) => path.push_str(text),
                Segment::Param(name) => {
                    let value = call
                        .path_params()
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.as_str())
                        .unwrap_or_default();
                    push_segment(&mut path, value);
                }
            }
        }
        if let Some(query) = call.query_string() {
            path.push('?');
            path.push_str(query);
        }
        let cannot = |reason: String| {
            TransportError::Protocol(ProtocolError {
                status: None,
                reason: format!("cannot build the request URL: {reason}"),
                body_excerpt: String::new(),
                retry_after: None,
            })
        };
        let path = PathAndQuery::try_from(path).map_err(|e| cannot(e.to_string()))?;
        let mut parts = uri::Parts::default();
        parts.scheme = Some(origin.scheme.clone());
        parts.authority = Some(origin.authority.clone());
        parts.path_and_query = Some(path);
        Uri::from_parts(parts).map_err(|e| cannot(e.to_string()))
    }
}

/// Appends path parameter `value`, percent-encoded, to `uri`.
///
/// `.` and `..` are written `%2E` and `%2E%2E`: as they are, a client
/// library, a proxy or a server that normalises paths (RFC 3986, section
/// 5.2.4) would remove them with the segment before, and the call would
/// reach another route.
fn push_segment(uri: &mut String, value: &str) {
    match value {
        "." => uri.push_str("%2E"),
        ".." => uri.push_str("%2E%2E"),
        _ => uri.extend(utf8_percent_encode(value, SEGMENT)),
    }
}

impl Transport for HttpTransport {
    fn defences(&self) -> Option<&Defences> {
        Some(&self.defences)
    }

    async fn send(
        &self,
        route: &'static Route,
        call: Call,
        _timeout: Duration,
    ) -> Result<Reply, TransportError> {
        let uri = self.uri(route, &call)?;
        let (_, _, headers, body) = call.into_parts();
        self.request(route, uri, headers, body).await
    }

    async fn send_ref(
        &self,
        route: &'static Route,
        call: &Call,
        _timeout: Duration,
    ) -> Result<Reply, TransportError> {
        let uri = self.uri(route, call)?;
        // The call stays the client's: only the headers are copied.
        self.request(route, uri, call.headers().clone(), call.body().clone())
            .await
    }

    async fn send_attempt(
        &self,
        route: &'static Route,
        call: Sending<'_>,
        headers: &AttemptHeaders,
        _timeout: Duration,
    ) -> Result<Reply, TransportError> {
        let (uri, mut request_headers, body) = match call {
            Sending::Kept(call) => {
                // The call stays the client's: its own headers are copied,
                // none at all for most calls (a GET with no header
                // arguments), as the attempt's are written below.
                let uri = self.uri(route, call)?;
                (uri, call.headers().clone(), call.body().clone())
            }
            Sending::Handed(call) => {
                let uri = self.uri(route, &call)?;
                let (_, _, call_headers, body) = call.into_parts();
                (uri, call_headers, body)
            }
        };
        headers.write_to(&mut request_headers);
        self.request(route, uri, request_headers, body).await
    }
}

impl HttpTransport {
    /// Sends one request and reads its reply, within the reply limit.
    async fn request(
        &self,
        route: &'static Route,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Reply, TransportError> {
        let tls_mark = self.tls_failures.mark();
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = route.method.clone();
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        let response = self.client.request(request).await.map_err(|e| {
            let tls = self.tls_failures.since(tls_mark);
            TransportError::Connection(error::describe(&self.peer, Box::new(e), tls))
        })?;
        let (parts, body) = response.into_parts();
        let retry_after = parts
            .headers
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| parse_retry_after(value, SystemTime::now(), self.max_retry_after));
        let body = match Limited::new(body, self.reply_limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<LengthLimitError>() => {
                return Err(TransportError::Protocol(ProtocolError {
                    status: Some(parts.status.as_u16()),
                    reason: format!("the reply is larger than {} bytes", self.reply_limit),
                    body_excerpt: String::new(),
                    retry_after,
                }))
            }
            Err(e) => {
                return Err(TransportError::Connection(error::describe(
                    &self.peer, e, None,
                )))
            }
        };
        let (content_type, headers) = reply_headers(parts.headers);
        Ok(Reply {
            status: parts.status.as_u16(),
            content_type,
            body,
            retry_after,
            headers,
        })
    }
}

/// HTTP's own headers of a reply, about the connection and the message's
/// framing rather than what the server said: a broker reply has none of
/// them, and [`Reply::headers`] leaves them out.
static FRAMING: [HeaderName; 5] = [
    CONTENT_LENGTH,
    DATE,
    CONNECTION,
    TRANSFER_ENCODING,
    HeaderName::from_static("keep-alive"),
];

/// The reply's content type, and its other headers but for
/// [`FRAMING`]: `None` when there are no others, as for most replies, found
/// in one pass without hashing.
fn reply_headers(mut headers: HeaderMap) -> (Option<HeaderValue>, Option<Box<HeaderMap>>) {
    let mut content_type = None;
    let mut others = false;
    for (name, value) in &headers {
        if name == CONTENT_TYPE {
            content_type.get_or_insert_with(|| value.clone());
        } else if !FRAMING.contains(name) {
            others = true;
        }
    }
    if !others {
        return (content_type, None);
    }
    headers.remove(CONTENT_TYPE);
    for name in &FRAMING {
        headers.remove(name);
    }
    (content_type, Some(Box::new(headers)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(value: &str) -> String {
        let mut uri = String::new();
        push_segment(&mut uri, value);
        uri
    }

    #[test]
    fn base_urls_are_http_or_https() {
        assert!(HttpTransport::new("https://orders.internal:8443/api").is_ok());
        assert!(HttpTransport::new("http://127.0.0.1:8080").is_ok());
        let error = HttpTransport::new("ftp://127.0.0.1").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("must start with http:// or https://"),
            "{error}"
        );
    }

    #[cfg(feature = "webpki-roots")]
    #[test]
    fn mozilla_roots_can_be_chosen() {
        let transport = HttpTransport::builder("https://orders.internal")
            .roots(crate::tls::Roots::Webpki)
            .build()
            .unwrap();
        assert_eq!(transport.peer.trust, "Mozilla's roots (webpki-roots)");
        assert_eq!(transport.peer.authority, "orders.internal:443");
    }

    #[test]
    fn a_reply_keeps_the_headers_its_server_set() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("2"));
        headers.insert(
            DATE,
            HeaderValue::from_static("Sun, 06 Dec 2026 08:00:00 GMT"),
        );
        let (content_type, others) = reply_headers(headers.clone());
        assert_eq!(content_type.unwrap(), "application/json");
        assert!(others.is_none(), "{others:?}");

        headers.insert("www-authenticate", HeaderValue::from_static("Bearer"));
        let (content_type, others) = reply_headers(headers);
        assert_eq!(content_type.unwrap(), "application/json");
        let others = others.expect("the challenge");
        assert_eq!(others.len(), 1, "{others:?}");
        assert_eq!(others["www-authenticate"], "Bearer");
    }

    #[test]
    fn dot_segments_are_encoded() {
        assert_eq!(segment("."), "%2E");
        assert_eq!(segment(".."), "%2E%2E");
        // Dots inside a value, or more than two, are no dot segment.
        assert_eq!(segment("..."), "...");
        assert_eq!(segment("a.b"), "a.b");
        assert_eq!(segment("../x"), "..%2Fx");
        assert_eq!(segment(".. "), "..%20");
    }

    #[test]
    fn a_path_never_holds_a_dot_segment() {
        static SEGMENTS: [Segment; 4] = [
            Segment::Literal("/files/"),
            Segment::Param("dir"),
            Segment::Literal("/"),
            Segment::Param("name"),
        ];
        static ROUTE: Route = Route {
            service: "files",
            operation: "get_file",
            index: 0,
            method: http::Method::GET,
            path: "/files/{dir}/{name}",
            segments: &SEGMENTS,
            status: 200,
            credential: None,
            idempotent: true,
        };
        let transport = HttpTransport::new("http://127.0.0.1:1/api").unwrap();
        let mut call = Call::new();
        call.encode_path("dir", "..").unwrap();
        call.encode_path("name", ".").unwrap();
        let uri = transport.uri(&ROUTE, &call).unwrap();
        assert_eq!(uri.path(), "/api/files/%2E%2E/%2E");
    }
}
