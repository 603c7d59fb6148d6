//! The HTTP client transport, on a pooled hyper-util client.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{Request, Uri};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use crate::error::{parse_retry_after, ProtocolError, DEFAULT_MAX_RETRY_AFTER};
use crate::wire::{Call, Reply, Route, Segment};

use super::{Transport, TransportError};

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

/// Sends calls over HTTP/1.1 to one base URL, reusing pooled connections.
///
/// Cloning is cheap and clones share the connection pool.
#[derive(Clone)]
pub struct HttpTransport {
    client: Client<HttpConnector, Full<Bytes>>,
    base: Arc<str>,
    reply_limit: usize,
    max_retry_after: Duration,
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
    reason: &'static str,
}

impl fmt::Display for InvalidBaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid base URL {:?}: {}", self.url, self.reason)
    }
}

impl std::error::Error for InvalidBaseUrl {}

impl HttpTransport {
    /// A transport for the server at `base_url` (`http://host:port`, with an
    /// optional path prefix such as `http://host/api`).
    pub fn new(base_url: &str) -> Result<Self, InvalidBaseUrl> {
        let invalid = |reason| InvalidBaseUrl {
            url: base_url.to_owned(),
            reason,
        };
        let uri: Uri = base_url
            .parse()
            .map_err(|_| invalid("expected a URL such as http://127.0.0.1:8080"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(invalid(
                    "https is not supported by this transport; use http:// (behind a TLS-terminating proxy if needed)",
                ))
            }
            _ => return Err(invalid("the URL must start with http://")),
        }
        if uri.authority().is_none() {
            return Err(invalid("the URL has no host"));
        }
        if uri.query().is_some() {
            return Err(invalid("a base URL cannot have a query string"));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(HttpTransport {
            client,
            base: base_url.trim_end_matches('/').into(),
            reply_limit: DEFAULT_REPLY_LIMIT,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
        })
    }

    /// Sets the largest reply body read, in bytes; a larger reply is a
    /// protocol error rather than unbounded buffering.
    pub fn reply_limit(mut self, bytes: usize) -> Self {
        self.reply_limit = bytes;
        self
    }

    /// Sets the longest `Retry-After` reported for a reply
    /// ([`DEFAULT_MAX_RETRY_AFTER`] unless set): a longer one is reported as
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

    fn uri(&self, route: &Route, call: &Call) -> Result<Uri, TransportError> {
        let mut uri = String::with_capacity(self.base.len() + route.path.len() + 32);
        uri.push_str(&self.base);
        for segment in route.segments {
            match segment {
                Segment::Literal(text) => uri.push_str(text),
                Segment::Param(name) => {
                    let value = call
                        .path_params()
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.as_str())
                        .unwrap_or_default();
                    push_segment(&mut uri, value);
                }
            }
        }
        if let Some(query) = call.query_string() {
            uri.push('?');
            uri.push_str(query);
        }
        Uri::try_from(uri).map_err(|e| {
            TransportError::Protocol(ProtocolError {
                status: None,
                reason: format!("cannot build the request URL: {e}"),
                body_excerpt: String::new(),
                retry_after: None,
            })
        })
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
    async fn send(
        &self,
        route: &'static Route,
        call: Call,
        _timeout: Duration,
    ) -> Result<Reply, TransportError> {
        let uri = self.uri(route, &call)?;
        let (_, _, headers, body) = call.into_parts();
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = route.method.clone();
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| TransportError::Connection(Box::new(e)))?;
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
            Err(e) => return Err(TransportError::Connection(e)),
        };
        Ok(Reply {
            status: parts.status.as_u16(),
            content_type: parts.headers.get(CONTENT_TYPE).cloned(),
            body,
            retry_after,
        })
    }
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
