//! The interceptor that enforces a contract's authentication on every
//! request transport.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use futures_util::future::Either;
use http::header::WWW_AUTHENTICATE;
use tower::{Layer, Service};

use super::{AuthConfigError, AuthFailure, Authenticator};
use crate::descriptor::{AuthRequirement, ServiceDescriptor};
use crate::wire::{Call, Reply};

/// A tower layer for [`Dispatcher::layer`](crate::Dispatcher::layer) that
/// checks each call's credential against what the contract requires of its
/// operation, before the handler runs.
///
/// A call without a valid credential is answered 401 with
/// `WWW-Authenticate`; one whose credential lacks a scope, 403; neither
/// reaches the handler. Otherwise the verified [`Identity`](super::Identity)
/// is put in the call's context, where the handler finds it with
/// [`Identity::of`](super::Identity::of). Public operations pass untouched.
/// Because every transport serves calls through the dispatcher, the same
/// layer guards HTTP, in-process and broker calls.
#[derive(Clone)]
pub struct AuthLayer {
    shared: Arc<Shared>,
}

struct Shared {
    authenticator: Authenticator,
    service: String,
    requirements: HashMap<String, AuthRequirement>,
}

impl std::fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLayer")
            .field("service", &self.shared.service)
            .field("operations", &self.shared.requirements.len())
            .finish()
    }
}

impl AuthLayer {
    /// Enforces `descriptor`'s authentication with `authenticator`. Fails
    /// when the contract uses a scheme the authenticator cannot check.
    pub fn new(
        descriptor: &ServiceDescriptor,
        authenticator: Authenticator,
    ) -> Result<Self, AuthConfigError> {
        authenticator.check_covers(descriptor)?;
        let requirements = descriptor
            .requests()
            .filter_map(|(op, request)| Some((op.name.clone(), request.auth.clone()?)))
            .collect();
        Ok(AuthLayer {
            shared: Arc::new(Shared {
                authenticator,
                service: descriptor.name.clone(),
                requirements,
            }),
        })
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service [`AuthLayer`] wraps a dispatcher's calls in.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("service", &self.shared.service)
            .finish_non_exhaustive()
    }
}

impl<S> Service<Call> for AuthService<S>
where
    S: Service<Call, Response = Reply, Error = Infallible>,
{
    type Response = Reply;
    type Error = Infallible;
    type Future = Either<Ready<Result<Reply, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut call: Call) -> Self::Future {
        let shared = &self.shared;
        let requirement = call
            .context()
            .operation()
            .and_then(|operation| shared.requirements.get(operation));
        let Some(requirement) = requirement else {
            return Either::Right(self.inner.call(call));
        };
        match shared
            .authenticator
            .authenticate(&shared.service, requirement, call.headers())
        {
            Ok(identity) => {
                call.context_mut().extensions_mut().insert(identity);
                Either::Right(self.inner.call(call))
            }
            Err(failure) => {
                // Debug, not info: refusals are the expected answer to
                // bad callers, and a flood of them must not flood the log.
                tracing::debug!(
                    status = failure.status(),
                    reason = %failure,
                    "call refused by its credential"
                );
                Either::Left(ready(Ok(refusal(&failure))))
            }
        }
    }
}

/// The reply refusing a call: the problem document and its challenge.
pub fn refusal(failure: &AuthFailure) -> Reply {
    let mut reply = Reply::problem(&failure.problem());
    if let Ok(value) = http::HeaderValue::from_str(&failure.www_authenticate()) {
        reply.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    reply
}
