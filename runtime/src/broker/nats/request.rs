//! Request/reply over core NATS: requests go to an inbox, the responders
//! of one group form a NATS queue group.

use std::fmt;
use std::time::Duration;

use async_nats::client::RequestErrorKind;
use futures_util::StreamExt;

use super::headers::{self, Bound};
use super::{names, NatsBroker};
use crate::broker::limits::TooLarge;
use crate::broker::{BrokerError, Message, PendingRequest, RequestReply, Responder};

/// The longest a new request server waits for the NATS server to have
/// its subscription: 10 s.
const SUBSCRIBE_FLUSH: Duration = Duration::from_secs(10);

impl RequestReply for NatsBroker {
    type Responder = NatsResponder;

    async fn request(&self, message: Message, timeout: Duration) -> Result<Message, BrokerError> {
        names::check_subject_length(&message.topic)?;
        let headers = headers::to_nats(&message, Some(self.inner.options.max_header_bytes))?;
        self.check_size(&headers, message.payload.len(), Bound::Core)?;
        let request = async_nats::Request::new()
            .payload(message.payload.clone())
            .headers(headers)
            .timeout(None);
        // async-nats would time only the wait for the reply, not the
        // hand-over to its connection, which waits while the connection's
        // queue is full (a server that stopped reading): one timer here
        // bounds the whole request instead.
        let sent = self
            .inner
            .client
            .send_request(message.topic.clone(), request);
        let Ok(outcome) = tokio::time::timeout(timeout, sent).await else {
            return Err(BrokerError::Timeout(timeout));
        };
        match outcome {
            Ok(reply) => Ok(headers::from_nats(
                reply.subject.as_str(),
                reply.headers.as_ref(),
                reply.payload,
            )),
            Err(error) => Err(match error.kind() {
                RequestErrorKind::NoResponders => BrokerError::NoResponders(message.topic),
                RequestErrorKind::TimedOut => BrokerError::Timeout(timeout),
                RequestErrorKind::InvalidSubject | RequestErrorKind::MaxPayloadExceeded => {
                    BrokerError::Rejected(format!("a request on `{}`: {error}", message.topic))
                }
                RequestErrorKind::Other => {
                    BrokerError::Connection(format!("a request on `{}`: {error}", message.topic))
                }
            }),
        }
    }

    async fn respond(&self, topic: &str, group: &str) -> Result<NatsResponder, BrokerError> {
        let subscriber = self
            .inner
            .client
            .queue_subscribe(topic.to_owned(), names::group_token(group))
            .await
            .map_err(|e| BrokerError::Rejected(format!("serving requests on `{topic}`: {e}")))?;
        // Once the server has the subscription, requests find it.
        match tokio::time::timeout(SUBSCRIBE_FLUSH, self.inner.client.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(BrokerError::Connection(format!(
                    "serving requests on `{topic}`: {e}"
                )))
            }
            Err(_) => {
                return Err(BrokerError::Connection(format!(
                    "serving requests on `{topic}`: the NATS server did not confirm the \
                     subscription within {SUBSCRIBE_FLUSH:?}; it may be stalled or overloaded, \
                     or the connection may be cut without a reset: try again once it answers"
                )))
            }
        }
        Ok(NatsResponder {
            subscriber,
            broker: self.clone(),
            topic: topic.to_owned(),
        })
    }
}

/// A request server on a [`NatsBroker`]: a member of a NATS queue group.
pub struct NatsResponder {
    subscriber: async_nats::Subscriber,
    broker: NatsBroker,
    topic: String,
}

impl fmt::Debug for NatsResponder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsResponder")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl Responder for NatsResponder {
    type Request = NatsRequest;

    async fn next(&mut self) -> Option<NatsRequest> {
        loop {
            let message = self.subscriber.next().await?;
            // A plain publish on the topic expects no reply.
            let Some(reply) = message.reply else {
                continue;
            };
            return Some(NatsRequest {
                message: headers::from_nats(
                    message.subject.as_str(),
                    message.headers.as_ref(),
                    message.payload,
                ),
                reply,
                broker: self.broker.clone(),
            });
        }
    }
}

/// A request waiting for its reply on a [`NatsBroker`].
pub struct NatsRequest {
    message: Message,
    reply: async_nats::Subject,
    broker: NatsBroker,
}

impl fmt::Debug for NatsRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsRequest")
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl PendingRequest for NatsRequest {
    fn message(&self) -> &Message {
        &self.message
    }

    async fn reply(self, reply: Message) -> Result<(), BrokerError> {
        let headers = self.encode_reply(&reply)?;
        self.send_reply(headers, reply.payload).await
    }

    async fn reply_or<F>(self, reply: Message, instead: F) -> Result<(), BrokerError>
    where
        F: FnOnce(&TooLarge) -> Message + Send,
    {
        match self.encode_reply(&reply) {
            Ok(headers) => self.send_reply(headers, reply.payload).await,
            Err(BrokerError::TooLarge(too_large)) => {
                let fallback = instead(&too_large);
                let headers = self.encode_reply(&fallback)?;
                self.send_reply(headers, fallback.payload).await?;
                Err(BrokerError::TooLarge(too_large))
            }
            Err(error) => Err(error),
        }
    }
}

impl NatsRequest {
    /// The headers of `reply`, refused when it is over a limit.
    fn encode_reply(&self, reply: &Message) -> Result<async_nats::HeaderMap, BrokerError> {
        let broker = &self.broker;
        let headers = headers::to_nats(reply, Some(broker.inner.options.max_header_bytes))?;
        broker.check_size(&headers, reply.payload.len(), Bound::Core)?;
        Ok(headers)
    }

    async fn send_reply(
        &self,
        headers: async_nats::HeaderMap,
        payload: bytes::Bytes,
    ) -> Result<(), BrokerError> {
        self.broker
            .inner
            .client
            .publish_with_headers(self.reply.clone(), headers, payload)
            .await
            .map_err(|e| BrokerError::Connection(format!("sending a reply: {e}")))
    }
}
