//! The HTTP client transport, on a pooled hyper-util client.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use crate::error::ProtocolError;
use crate::wire::{Call, Reply, Route, Segment};

use super::{Transport, TransportError};

/// Characters percent-encoded in a path segment: everything but RFC 3986
/// `unreserved` and the sub-delimiters that are safe inside a segment.
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
        })
    }

    /// Sets the largest reply body read, in bytes; a larger reply is a
    /// protocol error rather than unbounded buffering.
    pub fn reply_limit(mut self, bytes: usize) -> Self {
        self.reply_limit = bytes;
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
                    uri.extend(utf8_percent_encode(value, SEGMENT));
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
            })
        })
    }
}

impl Transport for HttpTransport {
    async fn send(
        &self,
        route: &'static Route,
        call: Call,
        _timeout: std::time::Duration,
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
        let body = match Limited::new(body, self.reply_limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<LengthLimitError>() => {
                return Err(TransportError::Protocol(ProtocolError {
                    status: Some(parts.status.as_u16()),
                    reason: format!("the reply is larger than {} bytes", self.reply_limit),
                    body_excerpt: String::new(),
                }))
            }
            Err(e) => return Err(TransportError::Connection(e)),
        };
        Ok(Reply {
            status: parts.status.as_u16(),
            content_type: parts.headers.get(CONTENT_TYPE).cloned(),
            body,
        })
    }
}
