//! Request/reply over a broker: the client side ([`BrokerTransport`]) and
//! the server side ([`serve_requests`]), with the same [`Call`] encoding and
//! the same dispatch as HTTP.
//!
//! A call to `service.operation` is a request on the topic
//! `<service>.rpc.<operation>` whose body is the call's body and whose
//! headers carry the call's headers, its path parameters
//! (`accord-path-<name>`), its query string (`accord-query`) and a
//! correlation id. The reply carries the status (`accord-status`), the
//! content type and the body, and the same correlation id.
//!
//! A call too large for the broker (see [`crate::broker::limits`]) is not
//! sent: the caller gets the problem document an HTTP server would answer
//! it with, 431 for a header over the limit, 413 for the message as a
//! whole and 414 for the topic, so it is neither retried nor taken for a broken connection. A
//! reply too large for the broker is replaced by a 500 problem document
//! saying so, so the caller learns why rather than waiting out its timeout.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

use crate::broker::limits::{cap_text, MAX_REASON_BYTES};
use crate::broker::{
    BrokerError, Headers, Message, MessagePart, PendingRequest, RequestReply, Responder, TooLarge,
};
use crate::dispatch::Dispatcher;
use crate::error::{Problem, ProtocolError};
use crate::wire::{Call, Reply, Route};

use super::{Transport, TransportError};

/// Header: the path parameter `<name>`.
pub const PATH_PREFIX: &str = "accord-path-";
/// Header: the raw query string.
pub const QUERY: &str = "accord-query";
/// Header: the reply status.
pub const STATUS: &str = "accord-status";
/// Header: ties a reply to its request.
pub const CORRELATION_ID: &str = "accord-correlation-id";

/// The topic requests for `service.operation` are sent on.
pub fn request_topic(service: &str, operation: &str) -> String {
    format!("{service}.rpc.{operation}")
}

/// Sends request calls over a broker instead of HTTP.
#[derive(Debug, Clone)]
pub struct BrokerTransport<B> {
    broker: B,
}

impl<B: RequestReply> BrokerTransport<B> {
    /// A transport over `broker`.
    pub fn new(broker: B) -> Self {
        BrokerTransport { broker }
    }
}

fn protocol(reason: String) -> TransportError {
    TransportError::Protocol(ProtocolError {
        status: None,
        reason,
        body_excerpt: String::new(),
        retry_after: None,
    })
}

impl<B: RequestReply> Transport for BrokerTransport<B> {
    async fn send(
        &self,
        route: &'static Route,
        call: Call,
        timeout: Duration,
    ) -> Result<Reply, TransportError> {
        let (path_params, query, headers, body) = call.into_parts();
        let mut message = Message::new(request_topic(route.service, route.operation), body);
        message.headers.extend(
            headers
                .iter()
                .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))),
        );
        message.headers.extend(
            path_params
                .iter()
                .map(|(name, value)| (format!("{PATH_PREFIX}{name}"), value)),
        );
        if let Some(query) = query {
            message.headers.insert(QUERY, query);
        }
        let correlation = uuid::Uuid::new_v4().to_string();
        message.headers.insert(CORRELATION_ID, &correlation);
        let reply = match self.broker.request(message, timeout).await {
            Ok(reply) => reply,
            Err(BrokerError::TooLarge(too_large)) => return Ok(too_large_call(&too_large)),
            Err(BrokerError::Timeout(d)) => return Err(TransportError::Timeout(d)),
            Err(other) => return Err(TransportError::Connection(Box::new(other))),
        };
        if reply.header(CORRELATION_ID) != Some(correlation.as_str()) {
            return Err(protocol(format!(
                "the reply's correlation id {:?} does not match the request's {correlation:?}",
                reply.header(CORRELATION_ID)
            )));
        }
        let status = reply
            .header(STATUS)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| protocol("the reply has no valid `accord-status` header".to_owned()))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &reply.headers {
            if matches!(name.as_str(), STATUS | CORRELATION_ID | "content-type") {
                continue;
            }
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value),
            ) {
                headers.append(name, value);
            }
        }
        Ok(Reply {
            status,
            content_type: reply
                .header("content-type")
                .and_then(|ct| HeaderValue::from_str(ct).ok()),
            body: reply.payload,
            retry_after: None,
            headers: (!headers.is_empty()).then(|| Box::new(headers)),
        })
    }
}

/// Serves every request method of `dispatcher` from `broker` until the
/// returned handle is shut down.
pub async fn serve_requests<B: RequestReply>(
    broker: B,
    dispatcher: Dispatcher,
) -> Result<RequestServerHandle, BrokerError> {
    let service = dispatcher.descriptor().name.clone();
    let mut tasks = tokio::task::JoinSet::new();
    for route in dispatcher.routes() {
        let topic = request_topic(route.service, route.operation);
        let mut responder = broker.respond(&topic, &service).await?;
        let dispatcher = dispatcher.clone();
        let index = route.index;
        tasks.spawn(async move {
            let mut requests = tokio::task::JoinSet::new();
            while let Some(request) = responder.next().await {
                while requests.try_join_next().is_some() {}
                let dispatcher = dispatcher.clone();
                requests.spawn(async move {
                    let reply = dispatcher
                        .dispatch(index, call_from(request.message()))
                        .await;
                    let correlation = request.message().header(CORRELATION_ID).map(str::to_owned);
                    send_reply(request, reply, correlation).await;
                });
            }
            while requests.join_next().await.is_some() {}
        });
    }
    Ok(RequestServerHandle {
        tasks: Arc::new(tokio::sync::Mutex::new(tasks)),
    })
}

/// Requests served from a broker; dropping it keeps them served.
#[derive(Debug, Clone)]
pub struct RequestServerHandle {
    tasks: Arc<tokio::sync::Mutex<tokio::task::JoinSet<()>>>,
}

impl RequestServerHandle {
    /// Stops serving requests.
    pub async fn shutdown(self) {
        self.tasks.lock().await.shutdown().await;
    }
}

fn call_from(message: &Message) -> Call {
    let mut path_params = Vec::new();
    let mut headers = HeaderMap::new();
    let mut query = None;
    for (name, value) in &message.headers {
        if let Some(param) = name.strip_prefix(PATH_PREFIX) {
            path_params.push((Cow::Owned(param.to_owned()), value.to_owned()));
        } else if name == QUERY {
            query = Some(value.to_owned());
        } else if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value),
        ) {
            headers.append(name, value);
        }
    }
    Call::from_parts(path_params, query, headers, message.payload.clone())
}

/// The problem document a call too large for the broker is answered with,
/// as an HTTP server would: 431 for a header, 413 for the whole message,
/// 414 for the topic.
fn too_large_call(too_large: &TooLarge) -> Reply {
    let (status, title) = match too_large.part {
        MessagePart::Header(_) | MessagePart::Headers { .. } => {
            (431, "Request Header Fields Too Large")
        }
        MessagePart::Message => (413, "Content Too Large"),
        // The topic is the call's address, as a URI is over HTTP.
        MessagePart::Topic => (414, "URI Too Long"),
    };
    Reply::problem(
        &Problem::new(status, title).with_detail(format!("the call was not sent: {too_large}")),
    )
}

/// Sends `reply`; one too large for the broker is replaced by a problem
/// document saying so.
async fn send_reply<R: PendingRequest>(request: R, reply: Reply, correlation: Option<String>) {
    let message = reply_message(reply, correlation.clone());
    let instead = move |too_large: &TooLarge| {
        let problem = Problem::new(500, "Reply Too Large")
            .with_detail(format!("the reply could not be sent: {too_large}"));
        reply_message(Reply::problem(&problem), correlation)
    };
    if let Err(error) = request.reply_or(message, instead).await {
        let error = cap_text(&error.to_string(), MAX_REASON_BYTES).into_owned();
        tracing::warn!(%error, "could not send a reply");
    }
}

fn reply_message(reply: Reply, correlation: Option<String>) -> Message {
    let mut headers: Headers = reply
        .headers
        .iter()
        .flat_map(|h| h.iter())
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    headers.insert(STATUS, reply.status.to_string());
    if let Some(ct) = reply.content_type.as_ref().and_then(|ct| ct.to_str().ok()) {
        headers.insert("content-type", ct);
    }
    if let Some(correlation) = correlation {
        headers.insert(CORRELATION_ID, correlation);
    }
    Message {
        topic: String::new(),
        key: None,
        headers,
        payload: reply.body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn too_large(part: MessagePart) -> TooLarge {
        TooLarge {
            part,
            size: 200,
            limit: 100,
            limit_name: "a test limit".to_owned(),
        }
    }

    #[test]
    fn a_call_too_large_is_answered_as_an_http_server_would() {
        for (part, status) in [
            (MessagePart::Header("x-big".into()), 431),
            (
                MessagePart::Headers {
                    largest: "x-big".into(),
                },
                431,
            ),
            (MessagePart::Message, 413),
            (MessagePart::Topic, 414),
        ] {
            let reply = too_large_call(&too_large(part));
            assert_eq!(reply.status, status);
            let problem: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
            let detail = problem["detail"].as_str().unwrap();
            assert!(
                detail.starts_with("the call was not sent: ") && detail.contains("200 bytes"),
                "{detail}"
            );
        }
    }
}
