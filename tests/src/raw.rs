//! A raw HTTP/1.1 client for requests the typed client never sends:
//! malformed bodies, wrong media types, odd paths, chunked uploads.
//!
//! Each request goes over a fresh connection, so one request's fate cannot
//! change another's.

use std::convert::Infallible;
use std::net::SocketAddr;

use accord::Problem;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::within;

/// A request body.
#[derive(Debug, Clone)]
pub enum RawBody {
    /// No body.
    Empty,
    /// A body sent with `content-length`.
    Full(Bytes),
    /// A body sent with `transfer-encoding: chunked` and no length.
    Chunked(Vec<Bytes>),
}

impl RawBody {
    fn into_box(self) -> BoxBody<Bytes, Infallible> {
        match self {
            RawBody::Empty => Empty::new().boxed(),
            RawBody::Full(bytes) => Full::new(bytes).boxed(),
            RawBody::Chunked(chunks) => StreamBody::new(futures_util::stream::iter(
                chunks
                    .into_iter()
                    .map(|chunk| Ok::<_, Infallible>(Frame::data(chunk))),
            ))
            .boxed(),
        }
    }
}

/// A response, read in full.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl RawResponse {
    /// The body as text, lossily.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `content-type` header, or an empty string.
    pub fn content_type(&self) -> &str {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The body as JSON; fails the test if it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {}", self.text()))
    }

    /// The body as a problem document; fails the test unless the response is
    /// `application/problem+json` with a status matching the document's.
    pub fn problem(&self) -> Problem {
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "a {} response must be a problem document: {}",
            self.status,
            self.text()
        );
        let problem: Problem = serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not a problem document ({e}): {}", self.text()));
        assert_eq!(
            problem.status,
            self.status.as_u16(),
            "the document's status is the response's"
        );
        problem
    }
}

/// Sends one request over a fresh connection to `addr` and reads the whole
/// response. Fails the test on a connection error or after [`crate::DEADLINE`].
pub async fn send(addr: SocketAddr, request: Request<RawBody>) -> RawResponse {
    try_send(addr, request)
        .await
        .unwrap_or_else(|e| panic!("raw request to {addr} failed: {e}"))
}

/// Like [`send`], but returns a connection error instead of failing.
pub async fn try_send(
    addr: SocketAddr,
    request: Request<RawBody>,
) -> Result<RawResponse, Box<dyn std::error::Error + Send + Sync>> {
    within("a raw HTTP request", async move {
        let stream = TcpStream::connect(addr).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let (mut parts, body) = request.into_parts();
        if !parts.headers.contains_key(HOST) {
            parts.headers.insert(
                HOST,
                HeaderValue::try_from(addr.to_string()).expect("an address is a valid host"),
            );
        }
        let request = Request::from_parts(parts, body.into_box());
        let response = sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(RawResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    })
    .await
}

/// A request to `path` (which may carry a query) with `body`.
pub fn request(method: Method, path: &str, body: RawBody) -> Request<RawBody> {
    Request::builder()
        .method(method)
        .uri(path)
        .body(body)
        .expect("a valid request")
}

/// A request with a `content-type` header.
pub fn request_with_type(
    method: Method,
    path: &str,
    content_type: &str,
    body: RawBody,
) -> Request<RawBody> {
    let mut request = request(method, path, body);
    request.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_str(content_type).expect("a valid content type"),
    );
    request
}

/// A JSON request: `body` sent as `application/json` with a length.
pub fn json(method: Method, path: &str, body: impl Into<Bytes>) -> Request<RawBody> {
    request_with_type(method, path, "application/json", RawBody::Full(body.into()))
}

/// A request without a body.
pub fn get(path: &str) -> Request<RawBody> {
    request(Method::GET, path, RawBody::Empty)
}
