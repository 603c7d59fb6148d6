//! [`Reply`]: a method's result as a server encodes it, and as a client
//! checks it against the contract and decodes it.
//!
//! A client accepts a reply only when its status is the one the contract
//! declares: the operation's success status for a value, the variant's
//! `#[status]` for a typed error, and the document's own `status` for any
//! other problem document. A proxy or a server that answers otherwise has
//! broken the contract, and the caller gets a [`ProtocolError`] rather than
//! a value it would act on.

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{is_json, Route, JSON, PROBLEM_JSON};
use crate::error::{CallError, Problem, ProtocolError, ServiceError, SERVICE_ERROR};

/// A reply in transport-neutral form.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status.
    pub status: u16,
    /// The body's media type, if there is a body.
    pub content_type: Option<HeaderValue>,
    /// The body.
    pub body: Bytes,
    /// How long the server asked the caller to wait before sending the call
    /// again (HTTP `Retry-After`, sent with 429 and 503), capped by the
    /// transport ([`HttpTransport::max_retry_after`](crate::HttpTransport::max_retry_after));
    /// `None` when it did not say. A client reads it into the
    /// [`RetryClass`](crate::error::RetryClass) of the failed call.
    pub retry_after: Option<Duration>,
    /// Headers of the reply beyond its content type, such as the
    /// `WWW-Authenticate` challenge of a 401: a server sends them on every
    /// transport (as HTTP headers, or as a broker reply's headers), and a
    /// client receives them here. HTTP's own framing and connection headers
    /// (`Content-Length`, `Date`, `Connection`, ...) are not among them.
    /// `None` when there are none, as for most replies, so a reply stays
    /// small; [`Reply::header`] reads one and [`Reply::headers_mut`] adds
    /// them.
    pub headers: Option<Box<HeaderMap>>,
}

impl Reply {
    /// The value of the reply header `name`, if it has one.
    pub fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers.as_ref()?.get(name)
    }

    /// The reply's headers beyond its content type, to add to.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        self.headers.get_or_insert_with(Box::default)
    }

    /// A reply with no body.
    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            content_type: None,
            body: Bytes::new(),
            retry_after: None,
            headers: None,
        }
    }

    /// A problem document reply.
    pub fn problem(problem: &Problem) -> Self {
        Reply {
            status: problem.status,
            content_type: Some(PROBLEM_JSON),
            body: super::json_body::encode(problem).expect("a problem always serializes"),
            retry_after: None,
            headers: None,
        }
    }

    /// Encodes a method's result: `T` as JSON with `status`, an error as a
    /// problem document carrying it. `T = ()` with status 204 has no body.
    pub fn from_result<T: Serialize, E: ServiceError>(result: Result<T, E>, status: u16) -> Self {
        match result {
            Ok(value) => Reply::success(&value, status),
            Err(error) => Reply::service_error(&error),
        }
    }

    /// Encodes a success value.
    pub fn success<T: Serialize + ?Sized>(value: &T, status: u16) -> Self {
        if status == 204 {
            return Reply::empty(status);
        }
        match super::json_body::encode(value) {
            Ok(body) => Reply {
                status,
                content_type: Some(JSON),
                body,
                retry_after: None,
                headers: None,
            },
            Err(e) => {
                tracing::error!(error = %e, "the reply value could not be serialized");
                Reply::problem(
                    &Problem::new(500, "Internal Server Error")
                        .with_detail("the reply could not be encoded"),
                )
            }
        }
    }

    /// Encodes a service error.
    pub fn service_error<E: ServiceError>(error: &E) -> Self {
        let value = match serde_json::to_value(error) {
            Ok(value) => value,
            Err(e) => {
                tracing::error!(error = %e, "the service error could not be serialized");
                return Reply::problem(
                    &Problem::new(500, "Internal Server Error")
                        .with_detail("the error could not be encoded"),
                );
            }
        };
        let mut problem = Problem::new(error.status(), humanize(error.variant()));
        problem.type_ = SERVICE_ERROR.to_owned();
        problem.error = Some(value);
        Reply::problem(&problem)
    }

    /// Decodes this reply as the result of a call to `route` expecting `T`
    /// or `E`.
    ///
    /// A success must carry the route's declared status, a typed error the
    /// status its variant declares, and any other problem document the
    /// status it names; anything else is a [`CallError::Protocol`].
    pub fn decode<T: DeserializeOwned, E: ServiceError>(
        self,
        route: &Route,
    ) -> Result<T, CallError<E>> {
        if (200..300).contains(&self.status) {
            if self.status != route.status {
                return Err(self.protocol(format!(
                    "the contract declares status {} for a successful `{}`",
                    route.status, route.operation
                )));
            }
            let body: &[u8] = if self.body.is_empty() {
                b"null"
            } else {
                &self.body
            };
            return serde_json::from_slice(body)
                .map_err(|e| self.protocol(format!("undecodable reply body: {e}")));
        }
        let is_problem = self.content_type.as_ref().is_some_and(is_json);
        if !is_problem {
            return Err(self.protocol("unexpected status without a problem document".to_owned()));
        }
        let mut problem: Problem = match serde_json::from_slice(&self.body) {
            Ok(p) => p,
            Err(e) => return Err(self.protocol(format!("undecodable problem document: {e}"))),
        };
        if problem.type_ == SERVICE_ERROR {
            if let Some(error) = problem.error.as_ref().and_then(|v| E::deserialize(v).ok()) {
                if error.status() != self.status {
                    return Err(self.protocol(format!(
                        "the contract declares status {} for the service error `{}`",
                        error.status(),
                        error.variant()
                    )));
                }
                if problem.status == self.status {
                    return Err(CallError::Service(error));
                }
            }
        }
        if problem.status != self.status {
            return Err(self.protocol(format!(
                "the problem document says status {}",
                problem.status
            )));
        }
        problem.set_retry_after(self.retry_after);
        Err(CallError::Problem(Box::new(problem)))
    }

    fn protocol<E>(&self, reason: String) -> CallError<E> {
        const LIMIT: usize = 512;
        let end = self.body.len().min(LIMIT);
        CallError::Protocol(ProtocolError {
            status: Some(self.status),
            reason,
            body_excerpt: String::from_utf8_lossy(&self.body[..end]).into_owned(),
            retry_after: self.retry_after,
        })
    }
}

/// `OutOfStock` -> `Out of stock`.
fn humanize(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else if c == '_' {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ErrorVariantInfo, NoError, RetryClass};

    #[test]
    fn humanizes_variant_names() {
        assert_eq!(humanize("OutOfStock"), "Out of stock");
        assert_eq!(humanize("NotFound"), "Not found");
    }

    /// A service error with two variants of different statuses.
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    enum ShopError {
        NotFound,
        OutOfStock,
    }

    impl ServiceError for ShopError {
        fn status(&self) -> u16 {
            match self {
                ShopError::NotFound => 404,
                ShopError::OutOfStock => 409,
            }
        }
        fn variant(&self) -> &'static str {
            match self {
                ShopError::NotFound => "NotFound",
                ShopError::OutOfStock => "OutOfStock",
            }
        }
        fn variants() -> &'static [ErrorVariantInfo] {
            &[]
        }
    }

    static PLACE: Route = Route {
        service: "shop",
        operation: "place",
        index: 0,
        method: http::Method::POST,
        path: "/place",
        segments: &[],
        status: 201,
        credential: None,
        idempotent: false,
    };

    fn with_status(mut reply: Reply, status: u16) -> Reply {
        reply.status = status;
        reply
    }

    fn protocol_error<T: std::fmt::Debug>(
        result: Result<T, CallError<ShopError>>,
    ) -> ProtocolError {
        match result {
            Err(CallError::Protocol(e)) => e,
            other => panic!("expected a protocol error, got {other:?}"),
        }
    }

    #[test]
    fn a_success_needs_the_declared_status() {
        let reply = Reply::success(&7u32, 201);
        assert_eq!(reply.decode::<u32, ShopError>(&PLACE).unwrap(), 7);
        for status in [200, 202, 204] {
            let error = protocol_error(
                with_status(Reply::success(&7u32, 201), status).decode::<u32, ShopError>(&PLACE),
            );
            assert_eq!(error.status, Some(status));
            assert!(
                error
                    .reason
                    .contains("declares status 201 for a successful `place`"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_service_error_needs_its_variants_status() {
        let reply = Reply::service_error(&ShopError::OutOfStock);
        assert_eq!(reply.status, 409);
        match reply.decode::<u32, ShopError>(&PLACE) {
            Err(CallError::Service(ShopError::OutOfStock)) => {}
            other => panic!("{other:?}"),
        }
        // The body says OutOfStock (409), the status says 404.
        let reply = with_status(Reply::service_error(&ShopError::OutOfStock), 404);
        let error = protocol_error(reply.decode::<u32, ShopError>(&PLACE));
        assert_eq!(error.status, Some(404));
        assert!(
            error
                .reason
                .contains("declares status 409 for the service error `OutOfStock`"),
            "{error}"
        );
        assert!(error.body_excerpt.contains("OutOfStock"), "{error:?}");
        // The document's status agrees with the reply's, but not with the variant.
        let mut problem = Problem::new(500, "Not found");
        problem.type_ = SERVICE_ERROR.to_owned();
        problem.error = Some(serde_json::json!("NotFound"));
        let error = protocol_error(Reply::problem(&problem).decode::<u32, ShopError>(&PLACE));
        assert!(error.reason.contains("status 404"), "{error}");
        assert_eq!(
            CallError::<ShopError>::Protocol(error).retry_class(),
            RetryClass::ServerError {
                status: 500,
                retry_after: None
            },
            "classified by the status received"
        );
    }

    #[test]
    fn a_problem_document_needs_the_status_it_names() {
        let problem = Problem::new(503, "Service Unavailable");
        let mut reply = Reply::problem(&problem);
        reply.retry_after = Some(Duration::from_secs(3));
        match reply.decode::<u32, NoError>(&PLACE) {
            Err(CallError::Problem(p)) => {
                assert_eq!(p.status, 503);
                assert_eq!(p.retry_after(), Some(Duration::from_secs(3)));
            }
            other => panic!("{other:?}"),
        }
        let reply = with_status(Reply::problem(&problem), 404);
        let error = protocol_error(reply.decode::<u32, ShopError>(&PLACE));
        assert!(
            error
                .reason
                .contains("the problem document says status 503"),
            "{error}"
        );
    }

    #[test]
    fn a_reply_without_a_problem_document_keeps_its_retry_after() {
        let reply = Reply {
            status: 503,
            content_type: Some(HeaderValue::from_static("text/plain")),
            body: Bytes::from_static(b"busy"),
            retry_after: Some(Duration::from_secs(5)),
            headers: None,
        };
        let error = protocol_error(reply.decode::<u32, ShopError>(&PLACE));
        assert_eq!(error.retry_after, Some(Duration::from_secs(5)));
        assert_eq!(error.body_excerpt, "busy");
    }
}
