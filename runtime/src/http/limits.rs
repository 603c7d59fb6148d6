//! The per-request limits as problem documents: load shedding (one
//! count over every route), the handler's timeout and the body-read
//! timeout.

use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::response::Response;
use http::header::{CONNECTION, RETRY_AFTER};
use http::{HeaderValue, Version};
use tokio::time::error::Elapsed;

use super::router::problem_response;
use crate::error::Problem;

/// Sheds requests beyond a number in flight, over every route of a router.
///
/// Each request takes a slot before any other work and holds it until its
/// response is made; a request that finds none free is answered at once
/// with a 503 problem document and `Retry-After`, never queued. The check
/// runs inside the route's handler rather than as a tower layer: the same
/// count, without a boxed layer stack and its clones on every request.
/// As no request ever waits for a slot, the count is one atomic counter
/// rather than a semaphore, whose release takes a lock on every request.
#[derive(Debug, Clone)]
pub(super) struct LoadShedding {
    /// Shared by every route: one count of the requests of all of them,
    /// never above `max`.
    in_flight: Arc<AtomicUsize>,
    retry_after: HeaderValue,
    max: usize,
}

/// A request's slot; dropping it frees the slot.
#[derive(Debug)]
pub(super) struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Release);
    }
}

impl LoadShedding {
    pub(super) fn new(max: usize, retry_after: Duration) -> Self {
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        LoadShedding {
            in_flight: Arc::new(AtomicUsize::new(0)),
            retry_after: HeaderValue::from(seconds),
            max,
        }
    }

    /// A slot for one request, to hold until its response is made; `None`
    /// when every slot is taken, to answer with [`refusal`](Self::refusal).
    pub(super) fn admit(&self) -> Option<Slot<'_>> {
        let mut taken = self.in_flight.load(Ordering::Relaxed);
        loop {
            if taken >= self.max {
                return None;
            }
            match self.in_flight.compare_exchange_weak(
                taken,
                taken + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(Slot(&self.in_flight)),
                Err(now) => taken = now,
            }
        }
    }

    /// The answer to a request shed: a 503 problem with `Retry-After`.
    pub(super) fn refusal(&self) -> Response {
        let mut response = problem_response(&Problem::new(503, "Service Unavailable").with_detail(
            format!(
                "the server is handling its limit of {} requests at once; retry after {} s",
                self.max,
                self.retry_after.to_str().unwrap_or("?")
            ),
        ));
        response
            .headers_mut()
            .insert(RETRY_AFTER, self.retry_after.clone());
        response
    }
}

/// `future`'s output, or `Err` when it has not completed `limit` after
/// `started` (the time the caller read as it began); the future is then
/// dropped.
///
/// A future that completes when first polled (a handler that does not
/// wait, a body already received) never makes a timer: the timer is set
/// from `started` only once the future waits.
pub(super) async fn within<F: Future>(
    started: tokio::time::Instant,
    limit: Duration,
    future: F,
) -> Result<F::Output, Elapsed> {
    let mut future = std::pin::pin!(future);
    if let Poll::Ready(output) = poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await {
        return Ok(output);
    }
    tokio::time::timeout_at(started + limit, future).await
}

/// The answer when the handler did not finish within `timeout`; its future
/// has been dropped.
pub(super) fn handler_timed_out(timeout: Duration) -> Response {
    tracing::warn!(?timeout, "a handler exceeded the request timeout");
    problem_response(&Problem::new(504, "Gateway Timeout").with_detail(format!(
        "the server did not complete the request within its limit of {timeout:?}"
    )))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheds_beyond_the_limit_until_a_slot_is_freed() {
        let shed = LoadShedding::new(2, Duration::from_millis(1500));
        let first = shed.admit().expect("a slot");
        let _second = shed.admit().expect("a slot");
        assert!(shed.admit().is_none());
        let refusal = shed.refusal();
        assert_eq!(refusal.status(), 503);
        assert_eq!(refusal.headers()[RETRY_AFTER], "2");
        drop(first);
        let _third = shed.admit().expect("the freed slot");
        assert!(shed.admit().is_none());
    }
}
