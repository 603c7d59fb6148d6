//! The router as one connection's hyper service.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use axum::Router;
use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Body, Frame, Incoming, SizeHint};

use super::{Clock, InFlight};

/// The router as one connection's hyper service: marks the connection as
/// having delivered a request and counts HTTP/2 requests in flight.
#[derive(Debug, Clone)]
pub(in crate::http) struct ConnectionService {
    router: Router,
    clock: Arc<Clock>,
}

impl ConnectionService {
    pub(in crate::http) fn new(router: Router, clock: Arc<Clock>) -> Self {
        ConnectionService { router, clock }
    }
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<Incoming>) -> ResponseFuture {
        let in_flight = self.clock.request_started(request.version());
        // A Router is always ready, so `call` without `poll_ready` is sound.
        let inner = tower::Service::call(&mut self.router.clone(), request);
        ResponseFuture { inner, in_flight }
    }
}

/// The response of [`ConnectionService`].
pub(in crate::http) struct ResponseFuture {
    inner: axum::routing::future::RouteFuture<Infallible>,
    in_flight: Option<InFlight>,
}

impl std::fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<TrackedBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = ready!(Pin::new(&mut self.inner).poll(cx))?;
        let in_flight = self.in_flight.take();
        Poll::Ready(Ok(response.map(|body| TrackedBody {
            inner: body,
            _in_flight: in_flight,
        })))
    }
}

/// A response body that ends its request's time in flight when dropped.
#[derive(Debug)]
pub(in crate::http) struct TrackedBody {
    inner: axum::body::Body,
    _in_flight: Option<InFlight>,
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
