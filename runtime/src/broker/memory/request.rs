//! Request/reply over the memory broker: each responder has a bounded
//! queue of requests, and requests go round robin over the live ones.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::queue::message_size;
use super::MemoryBroker;
use crate::broker::{BrokerError, Message, PendingRequest, Responder};

impl MemoryBroker {
    pub(super) async fn send_request(
        &self,
        message: Message,
        timeout: Duration,
    ) -> Result<Message, BrokerError> {
        let deadline = Instant::now() + timeout;
        let topic = message.topic.clone();
        let limits = self.limits();
        let size = message_size(&message);
        if size > limits.max_bytes {
            return Err(BrokerError::Rejected(format!(
                "a request of {size} bytes on `{topic}` is larger than the {} bytes the memory \
                 broker takes in one message (raise `MemoryBroker::builder().max_bytes`)",
                limits.max_bytes
            )));
        }
        let (reply_tx, reply_rx) = oneshot::channel();
        let request = MemoryRequest {
            message,
            reply: reply_tx,
        };
        // Every responder's queue is full: wait for room in the next one in
        // turn, within the request's timeout.
        if let Some((request, busy)) = self.hand_over(&topic, request)? {
            match tokio::time::timeout_at(deadline, busy.send(request)).await {
                Err(_) => return Err(BrokerError::Timeout(timeout)),
                Ok(Err(_)) => return Err(BrokerError::NoResponders(topic)),
                Ok(Ok(())) => {}
            }
        }
        match tokio::time::timeout_at(deadline, reply_rx).await {
            Err(_) => Err(BrokerError::Timeout(timeout)),
            Ok(Err(_)) => Err(BrokerError::Rejected(format!(
                "the server on `{topic}` dropped the request without replying"
            ))),
            Ok(Ok(reply)) => Ok(reply),
        }
    }

    /// Gives `request` to the next live responder on `topic` with room;
    /// when all are full, hands it back with the responder to wait for.
    fn hand_over(
        &self,
        topic: &str,
        request: MemoryRequest,
    ) -> Result<Option<(MemoryRequest, mpsc::Sender<MemoryRequest>)>, BrokerError> {
        let mut state = self.lock();
        if state.closed {
            return Err(BrokerError::Closed);
        }
        let no_responders = || BrokerError::NoResponders(topic.to_owned());
        let responders = state.responders.get_mut(topic).ok_or_else(no_responders)?;
        responders.retain(|r| !r.is_closed());
        let mut request = request;
        for _ in 0..responders.len() {
            // Round robin: the one tried goes to the back.
            responders.rotate_left(1);
            let responder = responders.last().expect("not empty");
            match responder.try_send(request) {
                Ok(()) => return Ok(None),
                Err(mpsc::error::TrySendError::Full(back))
                | Err(mpsc::error::TrySendError::Closed(back)) => request = back,
            }
        }
        let next = responders.first().cloned().ok_or_else(no_responders)?;
        Ok(Some((request, next)))
    }

    pub(super) fn add_responder(&self, topic: &str) -> Result<MemoryResponder, BrokerError> {
        let (tx, rx) = mpsc::channel(self.limits().responder_backlog);
        let mut state = self.lock();
        if state.closed {
            return Err(BrokerError::Closed);
        }
        let responders = state.responders.entry(topic.to_owned()).or_default();
        responders.retain(|r| !r.is_closed());
        responders.push(tx);
        Ok(MemoryResponder { requests: rx })
    }
}

/// A request server on a [`MemoryBroker`].
#[derive(Debug)]
pub struct MemoryResponder {
    requests: mpsc::Receiver<MemoryRequest>,
}

impl Responder for MemoryResponder {
    type Request = MemoryRequest;

    async fn next(&mut self) -> Option<MemoryRequest> {
        loop {
            let request = self.requests.recv().await?;
            // A request whose caller stopped waiting needs no answer.
            if !request.reply.is_closed() {
                return Some(request);
            }
        }
    }
}

/// A request waiting for its reply on a [`MemoryBroker`].
#[derive(Debug)]
pub struct MemoryRequest {
    message: Message,
    reply: oneshot::Sender<Message>,
}

impl PendingRequest for MemoryRequest {
    fn message(&self) -> &Message {
        &self.message
    }

    async fn reply(self, reply: Message) -> Result<(), BrokerError> {
        self.reply.send(reply).map_err(|_| BrokerError::Closed)
    }
}
