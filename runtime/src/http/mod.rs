//! Serving a contract over HTTP: an axum [`Router`] built from a
//! [`Dispatcher`], so tower layers, extra routes and `axum::serve` work as
//! usual.
//!
//! Each declared method and path gets a route. A path with no operation
//! answers 404 and a method the path does not declare answers 405 with
//! `Allow`, both as problem documents. `GET /openapi.json` serves the
//! contract's OpenAPI 3.1 document and `GET /asyncapi.json` its AsyncAPI 3.0
//! document.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::StatusCode;

use crate::dispatch::Dispatcher;
use crate::error::{FieldError, Location, Problem, INVALID_REQUEST};
use crate::wire::{Call, PathParams, Reply, JSON};

/// The default largest request body accepted: 2 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The path the OpenAPI document is served at.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The path the AsyncAPI document is served at.
pub const ASYNCAPI_PATH: &str = "/asyncapi.json";

/// Builds the HTTP face of a service.
///
/// ```text
/// let app = HttpServer::new(MyOrders::default().into_dispatcher())
///     .body_limit(8 * 1024 * 1024)
///     .into_router();
/// axum::serve(listener, app).await?;
/// ```
#[derive(Debug, Clone)]
pub struct HttpServer {
    dispatcher: Dispatcher,
    body_limit: usize,
}

impl HttpServer {
    /// Serves `dispatcher` with the default settings.
    pub fn new(dispatcher: Dispatcher) -> Self {
        HttpServer {
            dispatcher,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Sets the largest request body accepted, in bytes; larger ones get 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The router serving every request method of the contract.
    pub fn into_router(self) -> Router {
        let shared = Arc::new(self);
        let mut paths: BTreeMap<&'static str, (MethodRouter, Vec<&'static str>)> = BTreeMap::new();
        for route in shared.dispatcher.routes() {
            let filter = MethodFilter::try_from(route.method.clone())
                .expect("the macro only accepts standard methods");
            let state = shared.clone();
            let index = route.index;
            let handler = move |request: Request| {
                let state = state.clone();
                async move { state.serve(index, request).await }
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
        let descriptor = shared.dispatcher.descriptor();
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
            app = app.route(
                path,
                axum::routing::get(move || {
                    let document = document.clone();
                    async move { ([(CONTENT_TYPE, JSON)], document) }
                })
                .fallback(method_not_allowed(format!("{path} accepts GET"))),
            );
        }
        app.fallback(|request: Request| async move {
            problem_response(&Problem::new(404, "Not Found").with_detail(format!(
                "no operation is served at {}",
                request.uri().path()
            )))
        })
    }

    async fn serve(&self, index: usize, request: Request) -> Response {
        let (mut parts, body) = request.into_parts();
        let path_params = match path_params(&mut parts).await {
            Ok(params) => params,
            Err(response) => return response,
        };
        if let Some(length) = content_length(&parts) {
            if length > self.body_limit as u64 {
                return self.too_large();
            }
        }
        let body = match axum::body::to_bytes(body, self.body_limit).await {
            Ok(body) => body,
            Err(error) if is_length_limit(&error) => return self.too_large(),
            Err(error) => {
                return problem_response(
                    &Problem::new(400, "Bad Request")
                        .with_detail(format!("the request body could not be read: {error}")),
                )
            }
        };
        let query = parts.uri.query().map(str::to_owned);
        let call = Call::from_parts(path_params, query, parts.headers, body);
        reply_response(self.dispatcher.dispatch(index, call).await)
    }

    fn too_large(&self) -> Response {
        problem_response(&Problem::new(413, "Content Too Large").with_detail(format!(
            "the request body is larger than the limit of {} bytes",
            self.body_limit
        )))
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes
/// the requests in flight before returning.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::trace!(%error, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn path_params(parts: &mut Parts) -> Result<PathParams, Response> {
    use axum::extract::path::ErrorKind;
    use axum::extract::rejection::PathRejection;
    use axum::extract::{FromRequestParts, Path};
    match Path::<Vec<(String, String)>>::from_request_parts(parts, &()).await {
        Ok(Path(params)) => Ok(params
            .into_iter()
            .map(|(name, value)| (Cow::Owned(name), value))
            .collect()),
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

fn content_length(parts: &Parts) -> Option<u64> {
    parts
        .headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
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

fn problem_response(problem: &Problem) -> Response {
    reply_response(Reply::problem(problem))
}

fn reply_response(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = status;
    if let Some(content_type) = reply.content_type {
        response.headers_mut().insert(CONTENT_TYPE, content_type);
    }
    response
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        problem_response(&self)
    }
}
