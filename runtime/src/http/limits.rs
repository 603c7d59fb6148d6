//! The per-request limits as problem documents: load shedding (tower's
//! `load_shed` over a global `concurrency_limit`), the handler's timeout
//! (tower's `timeout`) and the body-read timeout.

use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::response::Response;
use axum::Router;
use http::header::{CONNECTION, RETRY_AFTER};
use http::{HeaderValue, Version};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::error::Overloaded;
use tower::timeout::error::Elapsed;
use tower::{BoxError, ServiceBuilder};

use super::router::problem_response;
use crate::error::Problem;

/// Sheds requests beyond a number in flight, over every route of a router.
#[derive(Debug, Clone)]
pub(super) struct LoadShedding {
    limit: GlobalConcurrencyLimitLayer,
    retry_after: HeaderValue,
    max: usize,
}

impl LoadShedding {
    pub(super) fn new(max: usize, retry_after: Duration) -> Self {
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        LoadShedding {
            // Global: axum applies a layer to each route separately, and one
            // semaphore must count the requests of all of them.
            limit: GlobalConcurrencyLimitLayer::new(max),
            retry_after: HeaderValue::from(seconds),
            max,
        }
    }

    /// `router` with every route behind the limit. `load_shed` turns "no
    /// permit free" into an immediate error instead of a wait, and that
    /// error becomes a 503 problem document with `Retry-After`.
    pub(super) fn apply(self, router: Router) -> Router {
        let LoadShedding {
            limit,
            retry_after,
            max,
        } = self;
        let overloaded = move |error: BoxError| {
            let retry_after = retry_after.clone();
            async move { shed(&error, max, retry_after) }
        };
        router.route_layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .layer(limit),
        )
    }
}

fn shed(error: &BoxError, max: usize, retry_after: HeaderValue) -> Response {
    if !error.is::<Overloaded>() {
        // The routes beneath never fail; this is only reachable if a layer
        // added here later does.
        return problem_response(
            &Problem::new(500, "Internal Server Error")
                .with_detail(format!("the request could not be handled: {error}")),
        );
    }
    let mut response = problem_response(&Problem::new(503, "Service Unavailable").with_detail(
        format!(
            "the server is handling its limit of {max} requests at once; retry after {} s",
            retry_after.to_str().unwrap_or("?")
        ),
    ));
    response.headers_mut().insert(RETRY_AFTER, retry_after);
    response
}

/// The answer when the handler did not finish within `timeout`; its future
/// has been dropped.
pub(super) fn handler_failed(error: &BoxError, timeout: Duration) -> Response {
    if error.is::<Elapsed>() {
        tracing::warn!(?timeout, "a handler exceeded the request timeout");
        return problem_response(&Problem::new(504, "Gateway Timeout").with_detail(format!(
            "the server did not complete the request within its limit of {timeout:?}"
        )));
    }
    problem_response(
        &Problem::new(500, "Internal Server Error")
            .with_detail(format!("the request could not be handled: {error}")),
    )
}

/// The answer when the body did not arrive within `timeout`. The rest of the
/// body is never read, so the connection cannot carry another request: an
/// HTTP/1 client is told so (HTTP/2 resets just the stream).
pub(super) fn body_timed_out(timeout: Duration, version: Version) -> Response {
    let mut response = problem_response(&Problem::new(408, "Request Timeout").with_detail(
        format!("the request body did not arrive within the limit of {timeout:?}"),
    ));
    if version < Version::HTTP_2 {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
