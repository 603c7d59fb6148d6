//! The router of a contract: one route per declared method and path, each
//! behind the per-request limits (body size, body-read time, handler time,
//! concurrency).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::StatusCode;
use hyper::body::Body as _;

use super::limits;
use crate::dispatch::Dispatcher;
use crate::error::{FieldError, Location, Problem, INVALID_REQUEST};
use crate::wire::{Call, PathParams, Reply, Route, Segment, JSON};

/// The default largest request body accepted: 2 MiB.
///
/// Bodies are buffered whole before the handler runs, so this, times the
/// [concurrency limit](DEFAULT_CONCURRENCY_LIMIT), bounds the memory held by
/// request bodies.
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The default longest time reading one request body may take: 30 seconds.
///
/// Counted from the moment the handler starts reading until the last byte:
/// a client still sending after it gets `408 Request Timeout` and the
/// connection is closed. 30 s lets a [2 MiB](DEFAULT_BODY_LIMIT) body arrive
/// over a link of about 600 kbit/s while keeping a client that trickles its
/// body (or announces more than it sends) from holding a connection and a
/// concurrency slot for long.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The default longest time a handler may take: 30 seconds.
///
/// Counted from the moment the body has been read until the handler's
/// reply; past it the handler's future is dropped and the client gets
/// `504 Gateway Timeout`. 30 s is past what an interactive caller waits for
/// and what most load balancers allow a backend, so an answer later than
/// that is rarely still wanted.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The default largest number of requests handled at once: 1,024.
///
/// Requests beyond it are shed at once with `503 Service Unavailable` and
/// `Retry-After`, rather than queued: a queue in front of an overloaded
/// server only adds latency to every call. 1,024 requests in flight is far
/// beyond what a service on a few cores completes in good time when they
/// all use CPU, and high enough for handlers that mostly wait on I/O; it
/// also bounds buffered request bodies to 1,024 × the body limit.
pub const DEFAULT_CONCURRENCY_LIMIT: usize = 1024;

/// The default `Retry-After` of a shed request: 1 second.
///
/// Long enough for the requests in flight to finish and short enough that a
/// well-behaved client does not wait needlessly.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The path the OpenAPI document is served at.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The path the AsyncAPI document is served at.
pub const ASYNCAPI_PATH: &str = "/asyncapi.json";

/// Builds the HTTP face of a service.
///
/// Each request passes these limits, every one with a default a production
/// service can keep:
///
/// | limit | default | setter | past it |
/// |---|---|---|---|
/// | requests in flight | [`DEFAULT_CONCURRENCY_LIMIT`] | [`concurrency_limit`](Self::concurrency_limit) | `503` with `Retry-After` ([`retry_after`](Self::retry_after)) |
/// | body size | [`DEFAULT_BODY_LIMIT`] | [`body_limit`](Self::body_limit) | `413` |
/// | body read time | [`DEFAULT_BODY_READ_TIMEOUT`] | [`body_read_timeout`](Self::body_read_timeout) | `408`, connection closed |
/// | handler time | [`DEFAULT_REQUEST_TIMEOUT`] | [`request_timeout`](Self::request_timeout) | `504`, handler dropped |
///
/// Each answer is a problem document. The limits apply to the routes this
/// router serves (the contract's and the documents'); routes added to the
/// router afterwards carry only the layers their author gives them. The
/// connection limits (header read, idle, connection count, shutdown grace)
/// are set where the router is served: [`ServeOptions`](super::ServeOptions).
///
/// ```text
/// let app = HttpServer::new(MyOrders::default().into_dispatcher())
///     .body_limit(8 * 1024 * 1024)
///     .request_timeout(Duration::from_secs(5))
///     .into_router();
/// accord::http::serve(listener, app, shutdown).await?;
/// ```
#[derive(Debug, Clone)]
pub struct HttpServer {
    dispatcher: Dispatcher,
    body_limit: usize,
    body_read_timeout: Duration,
    request_timeout: Duration,
    concurrency_limit: usize,
    retry_after: Duration,
}

/// What every route of a router shares: the server's settings and the one
/// count of requests in flight.
#[derive(Debug)]
struct Shared {
    server: HttpServer,
    shed: limits::LoadShedding,
}

impl HttpServer {
    /// Serves `dispatcher` with the default settings.
    pub fn new(dispatcher: Dispatcher) -> Self {
        HttpServer {
            dispatcher,
            body_limit: DEFAULT_BODY_LIMIT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            concurrency_limit: DEFAULT_CONCURRENCY_LIMIT,
            retry_after: DEFAULT_RETRY_AFTER,
        }
    }

    /// Sets the largest request body accepted, in bytes; larger ones get 413.
    /// [`DEFAULT_BODY_LIMIT`] unless set.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Sets the longest time reading a request body may take; a slower body
    /// gets `408 Request Timeout` and the connection is closed.
    /// [`DEFAULT_BODY_READ_TIMEOUT`] unless set.
    ///
    /// # Panics
    ///
    /// If `timeout` is zero: no body could ever be read.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        assert!(
            !timeout.is_zero(),
            "HttpServer::body_read_timeout must be more than zero"
        );
        self.body_read_timeout = timeout;
        self
    }

    /// Sets the longest time a handler may take once the body is read; past
    /// it the handler's future is dropped and the client gets
    /// `504 Gateway Timeout`. [`DEFAULT_REQUEST_TIMEOUT`] unless set.
    ///
    /// # Panics
    ///
    /// If `timeout` is zero: no handler could ever answer.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        assert!(
            !timeout.is_zero(),
            "HttpServer::request_timeout must be more than zero"
        );
        self.request_timeout = timeout;
        self
    }

    /// Sets the largest number of requests handled at once, over every
    /// route and connection; a request beyond it gets
    /// `503 Service Unavailable` with `Retry-After` at once.
    /// [`DEFAULT_CONCURRENCY_LIMIT`] unless set.
    ///
    /// # Panics
    ///
    /// If `limit` is zero: every request would be refused.
    pub fn concurrency_limit(mut self, limit: usize) -> Self {
        assert!(
            limit > 0,
            "HttpServer::concurrency_limit must be at least 1"
        );
        self.concurrency_limit = limit;
        self
    }

    /// Sets the `Retry-After` sent with a shed request, rounded up to whole
    /// seconds. [`DEFAULT_RETRY_AFTER`] unless set.
    pub fn retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = delay;
        self
    }

    /// The router serving every request method of the contract.
    pub fn into_router(self) -> Router {
        let shed = limits::LoadShedding::new(self.concurrency_limit, self.retry_after);
        let shared = Arc::new(Shared {
            server: self,
            shed: shed.clone(),
        });
        let mut paths: BTreeMap<&'static str, (MethodRouter, Vec<&'static str>)> = BTreeMap::new();
        for route in shared.server.dispatcher.routes() {
            let filter = MethodFilter::try_from(route.method.clone())
                .expect("the macro only accepts standard methods");
            let state = shared.clone();
            let index = route.index;
            let handler = move |request: Request| {
                let state = state.clone();
                async move {
                    match state.shed.admit() {
                        Some(_slot) => state.server.serve(index, request).await,
                        None => state.shed.refusal(),
                    }
                }
            };
            let (router, methods) = paths
                .entry(route.path)
                .or_insert_with(|| (MethodRouter::new(), Vec::new()));
            *router = std::mem::take(router).on(filter, handler);
            methods.push(route.method.as_str());
        }
        let mut app = Router::new();
        let mut declared = Vec::new();
        for (path, (router, methods)) in paths {
            declared.push(path);
            let detail = format!("{path} accepts {}", methods.join(", "));
            app = app.route(path, router.fallback(method_not_allowed(detail)));
        }
        let descriptor = shared.server.dispatcher.descriptor();
        let documents = [
            (OPENAPI_PATH, crate::spec::openapi(descriptor)),
            (ASYNCAPI_PATH, crate::spec::asyncapi(descriptor)),
        ];
        for (path, document) in documents {
            // A contract that declares the path itself keeps it.
            if declared.contains(&path) {
                continue;
            }
            let document = Bytes::from(
                serde_json::to_vec_pretty(&document).expect("a JSON document always serializes"),
            );
            let shed = shed.clone();
            app = app.route(
                path,
                axum::routing::get(move || {
                    let response = match shed.admit() {
                        Some(_slot) => ([(CONTENT_TYPE, JSON)], document.clone()).into_response(),
                        None => shed.refusal(),
                    };
                    std::future::ready(response)
                })
                .fallback(method_not_allowed(format!("{path} accepts GET"))),
            );
        }
        // The fallback (404) stays outside the limit: it does no work worth
        // shedding, and an overloaded server still tells a caller its URL is
        // wrong.
        app.fallback(|request: Request| async move {
            problem_response(&Problem::new(404, "Not Found").with_detail(format!(
                "no operation is served at {}",
                request.uri().path()
            )))
        })
        // Every handler made a route now, once: a router left without state
        // would make each request's handler into a route again (a clone
        // and two allocations per request).
        .with_state(())
    }

    async fn serve(&self, index: usize, request: Request) -> Response {
        let arrived = tokio::time::Instant::now();
        let route = &self.dispatcher.routes()[index];
        let (mut parts, body) = request.into_parts();
        let path_params = match path_params(route, &mut parts).await {
            Ok(params) => params,
            Err(response) => return response,
        };
        // hyper gives a body with a `Content-Length` that exact size: a
        // body announced larger than the limit is refused without reading.
        if body.size_hint().lower() > self.body_limit as u64 {
            return self.too_large();
        }
        let body_read = !body.is_end_stream();
        let body = if !body_read {
            // Nothing to read (a GET, say): no reader and no timer.
            Bytes::new()
        } else {
            let read = axum::body::to_bytes(body, self.body_limit);
            match limits::within(arrived, self.body_read_timeout, read).await {
                Ok(Ok(body)) => body,
                Ok(Err(error)) if is_length_limit(&error) => return self.too_large(),
                Ok(Err(error)) => {
                    return problem_response(
                        &Problem::new(400, "Bad Request")
                            .with_detail(format!("the request body could not be read: {error}")),
                    )
                }
                Err(_elapsed) => {
                    return limits::body_timed_out(self.body_read_timeout, parts.version)
                }
            }
        };
        let query = parts.uri.query().map(str::to_owned);
        let call = Call::from_parts(path_params, query, parts.headers, body);
        // The handler's time, the caller's deadline and the latency count
        // from when the body has been read: for a request without one, when
        // it arrived.
        let started = if body_read {
            tokio::time::Instant::now()
        } else {
            arrived
        };
        let dispatched = self.dispatcher.dispatch_arrived(index, started, call);
        // The handler's future is dropped when the timeout fires, so a stuck
        // handler stops holding its concurrency slot.
        match limits::within(started, self.request_timeout, dispatched).await {
            Ok(reply) => reply_response(reply),
            Err(_elapsed) => limits::handler_timed_out(self.request_timeout),
        }
    }

    fn too_large(&self) -> Response {
        problem_response(&Problem::new(413, "Content Too Large").with_detail(format!(
            "the request body is larger than the limit of {} bytes",
            self.body_limit
        )))
    }
}

/// The percent-decoded path parameters of `route`, named as its path names
/// them; none at all, without reading the request, for a path that has
/// none.
async fn path_params(route: &'static Route, parts: &mut Parts) -> Result<PathParams, Response> {
    use axum::extract::path::ErrorKind;
    use axum::extract::rejection::PathRejection;
    use axum::extract::{FromRequestParts, Path};
    let mut names = route.segments.iter().filter_map(|segment| match segment {
        Segment::Param(name) => Some(*name),
        Segment::Literal(_) => None,
    });
    if names.clone().next().is_none() {
        return Ok(PathParams::new());
    }
    match Path::<PathValues>::from_request_parts(parts, &()).await {
        Ok(Path(PathValues(mut params))) => {
            // axum gives the values in the order of the path's parameters,
            // the order of the route's segments; the names are the route's
            // own, so none is copied.
            for (param, name) in params.iter_mut().zip(names.by_ref()) {
                param.0 = Cow::Borrowed(name);
            }
            Ok(params)
        }
        Err(rejection) => {
            let (field, reason) = match &rejection {
                PathRejection::FailedToDeserializePathParams(e) => match e.kind() {
                    ErrorKind::InvalidUtf8InPathParam { key } => (
                        key.clone(),
                        "not valid UTF-8 once percent-decoded".to_owned(),
                    ),
                    _ => (String::new(), rejection.body_text()),
                },
                _ => (String::new(), rejection.body_text()),
            };
            let error = FieldError {
                location: Location::Path,
                field,
                reason,
            };
            let mut problem = Problem::new(400, "Invalid request").with_detail(error.to_string());
            problem.type_ = INVALID_REQUEST.to_owned();
            problem.errors.push(error);
            Err(problem_response(&problem))
        }
    }
}

/// A route's path parameter values, in the order of its path, each under
/// an empty name until [`path_params`] names it.
struct PathValues(PathParams);

impl<'de> serde::Deserialize<'de> for PathValues {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Values;

        impl<'de> serde::de::Visitor<'de> for Values {
            type Value = PathParams;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the path parameters")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<PathParams, A::Error> {
                let mut params = PathParams::with_capacity(seq.size_hint().unwrap_or(1));
                while let Some(value) = seq.next_element::<String>()? {
                    params.push((Cow::Borrowed(""), value));
                }
                Ok(params)
            }
        }

        deserializer.deserialize_seq(Values).map(PathValues)
    }
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// The 405 answer of a path; axum adds the `Allow` header.
fn method_not_allowed(
    detail: String,
) -> impl Fn() -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    move || {
        std::future::ready(problem_response(
            &Problem::new(405, "Method Not Allowed").with_detail(detail.clone()),
        ))
    }
}

pub(super) fn problem_response(problem: &Problem) -> Response {
    reply_response(Reply::problem(problem))
}

fn reply_response(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(extra) = reply.headers {
        headers.extend(*extra);
    }
    if let Some(content_type) = reply.content_type {
        headers.insert(CONTENT_TYPE, content_type);
    }
    response
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        problem_response(&self)
    }
}
