//! Pulling a member's messages from one consumer: the pull requests, their
//! permits, and recovery when a pull fails.
//!
//! A [`Puller`] is read by the member's [`next`](crate::broker::Subscription::next)
//! itself, as a stream of deliveries: the task that takes a delivery reads
//! it from async-nats' subscription of the pull, with no task of the
//! member's own in between (a hand-over through a channel and a task
//! switch per delivery saved). A pull request is sent, renewed after its
//! expiry or a reconnect, and recovered after a failure while a task waits
//! at the member; messages that arrive while every task is busy handling
//! wait in async-nats' subscription, as many as the member holds permits
//! for, no more.
//!
//! The member's pullers share `max_in_flight` permits: a pull request asks
//! for at most as many messages as the puller holds permits, and each
//! delivery keeps its permit until it is settled. So a member never holds
//! more than `max_in_flight` messages unsettled, counting those pulled and
//! not yet handed out, and whatever it cannot take stays with JetStream
//! for the other members.
//!
//! Once the member closes (or is dropped), a puller starts no new pull: it
//! ends after the one open, whose messages are released as they arrive.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::pull::Batch;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::Context;
use futures_util::StreamExt;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use super::subscription::{NatsDelivery, Origin};
use super::topology::{self, ConsumerSpec};
use crate::broker::reconnect::backoff;

/// How long a pull request waits for messages when each of the member's
/// consumers can hold a request open at once.
pub(super) const EXPIRES: Duration = Duration::from_secs(5);
/// How long a pull request waits when the member's consumers take turns
/// (fewer permits than topics), so no topic waits long for its turn.
pub(super) const SHARED_EXPIRES: Duration = Duration::from_millis(500);
/// How long past its expiry a pull request is waited for before the
/// puller concludes the server forgot it.
const EXPIRY_SLACK: Duration = Duration::from_secs(2);
/// The most messages one pull request asks for.
pub(crate) const MAX_BATCH: usize = 256;

/// One consumer a member pulls from.
pub(crate) struct Source {
    pub stream: Arc<str>,
    pub spec: ConsumerSpec,
    pub consumer: PullConsumer,
    /// The most messages one pull asks for (1 for a key partition, whose
    /// consumer lets one message out at a time anyway).
    pub max_batch: usize,
}

/// A member's reading of one consumer.
pub(super) struct Puller {
    js: Context,
    source: Source,
    origin: Arc<Origin>,
    permits: Arc<Semaphore>,
    reconnects: watch::Receiver<u64>,
    /// Becomes true once the member closes (or ends when it is dropped).
    closing: watch::Receiver<bool>,
    expires: Duration,
    /// Permits left for the member's other consumers when taking a batch.
    reserve: usize,
    /// A consumer whose last pull brought messages asks for as many as the
    /// member has room for; one whose last pull came back empty asks for
    /// one, leaving the room to the member's busier topics. A member's
    /// only consumer starts with a full batch, for the backlog; the others
    /// start small and grow with their first message.
    busy: bool,
    failures: u32,
    /// The pull request open, if any.
    open: Option<Box<Pull>>,
}

/// What a member's pullers share.
pub(super) struct Member {
    pub js: Context,
    pub origin: Arc<Origin>,
    /// The member's `max_in_flight` permits.
    pub permits: Arc<Semaphore>,
    pub reconnects: watch::Receiver<u64>,
    pub closing: watch::Receiver<bool>,
    /// How many consumers the member reads.
    pub consumers: usize,
}

/// One open pull request.
pub(super) struct Pull {
    messages: Batch,
    /// A permit for each message still to come.
    held: Vec<OwnedSemaphorePermit>,
    /// When the puller gives up waiting for the server to end the request.
    deadline: Pin<Box<Sleep>>,
    asked: Instant,
    pulled: usize,
}

/// How an open pull request ended.
enum Ended {
    /// The server ended it, or every message asked for arrived, or it
    /// expired, or the connection was re-established (the server may no
    /// longer know it).
    Done,
    Failed(String),
}

impl Puller {
    /// The reading of `source` by `member`.
    pub(super) fn new(member: &Member, source: Source) -> Self {
        // Fewer permits (all of them free while the member opens) than
        // consumers: the consumers take turns, each asking briefly so that
        // no topic waits long for its turn.
        let turns = member.permits.available_permits() < member.consumers;
        Puller {
            js: member.js.clone(),
            source,
            origin: member.origin.clone(),
            permits: member.permits.clone(),
            reconnects: member.reconnects.clone(),
            closing: member.closing.clone(),
            expires: if turns { SHARED_EXPIRES } else { EXPIRES },
            reserve: if turns { 0 } else { member.consumers - 1 },
            busy: member.consumers == 1,
            failures: 0,
            open: None,
        }
    }

    /// The deliveries of this consumer, one after the other, until the
    /// member closes and the last pull request has ended.
    pub(super) fn into_stream(self) -> impl futures_util::Stream<Item = NatsDelivery> + Send {
        // Boxed: the puller is moved into each step's future and back out.
        futures_util::stream::unfold(Box::new(self), |mut puller| async move {
            let delivery = puller.next_delivery().await?;
            Some((delivery, puller))
        })
    }

    /// The next delivery; `None` once the member is closing and the open
    /// pull (if any) has ended.
    async fn next_delivery(&mut self) -> Option<NatsDelivery> {
        loop {
            let Some(pull) = self.open.as_mut() else {
                self.open = Some(self.request().await?);
                continue;
            };
            let ended = tokio::select! {
                // Messages first: while the batch has one ready, neither the
                // deadline nor the reconnect count is polled for it (the
                // batch is at most `held` long, so they are not starved).
                biased;
                item = pull.messages.next() => match item {
                    Some(Ok(message)) => {
                        pull.pulled += 1;
                        let permit = pull.held.pop().expect("a pull asks for one message per permit");
                        if pull.held.is_empty() {
                            // Everything asked for arrived: the next call
                            // asks again.
                            let pulled = pull.pulled;
                            self.open = None;
                            self.answered(pulled);
                        }
                        return Some(NatsDelivery::new(
                            message,
                            permit,
                            &self.origin,
                            &self.source.stream,
                        ));
                    }
                    None => Ended::Done,
                    Some(Err(error)) => Ended::Failed(error.to_string()),
                },
                () = pull.deadline.as_mut() => Ended::Done,
                _ = self.reconnects.changed() => {
                    tracing::debug!(consumer = %self.source.spec.name, "reconnected; pulling again");
                    Ended::Done
                }
            };
            if !self.ended(ended).await {
                return None;
            }
        }
    }

    /// Sends a pull request for as many messages as the member has permits
    /// to spare (at least one, waiting for it); `None` when the member
    /// closes meanwhile.
    async fn request(&mut self) -> Option<Box<Pull>> {
        loop {
            let first = tokio::select! {
                biased;
                _ = self.closing.wait_for(|closing| *closing) => return None,
                permit = self.permits.clone().acquire_owned() => {
                    permit.expect("the permits are never closed")
                }
            };
            let spare = if self.busy {
                self.permits
                    .available_permits()
                    .saturating_sub(self.reserve)
                    .min(self.source.max_batch.saturating_sub(1))
            } else {
                0
            };
            // Sized once: grown a permit at a time, a full batch's was
            // reallocated eight times.
            let mut held = Vec::with_capacity(1 + spare);
            held.push(first);
            for _ in 0..spare {
                match self.permits.clone().try_acquire_owned() {
                    Ok(permit) => held.push(permit),
                    Err(_) => break,
                }
            }
            self.reconnects.mark_unchanged();
            let asked = Instant::now();
            // Sending the pull request waits while the connection's queue
            // is full (a server that stopped reading): it has the batch's
            // bound. Boxed: it is the rare step of a delivery's future.
            let limit = self.expires + EXPIRY_SLACK;
            let requested = Box::pin(
                self.source
                    .consumer
                    .batch()
                    .max_messages(held.len())
                    .expires(self.expires)
                    .messages(),
            );
            let error = match tokio::time::timeout(limit, requested).await {
                Ok(Ok(messages)) => {
                    return Some(Box::new(Pull {
                        messages,
                        held,
                        deadline: Box::pin(tokio::time::sleep(limit)),
                        asked,
                        pulled: 0,
                    }))
                }
                Ok(Err(error)) => error.to_string(),
                Err(_) => format!("the pull request was not sent within {limit:?}"),
            };
            drop(held);
            if !self.failed(&error).await {
                return None;
            }
        }
    }

    /// Closes the open pull request as it `ended`; false when the member
    /// closes while it waits to pull again after a failure (a member
    /// already closing sends no new request in any case: see `request`).
    async fn ended(&mut self, ended: Ended) -> bool {
        let pull = self.open.take().expect("an open pull ended");
        match ended {
            // A pull that ends empty long before it expires means the
            // server refused it (a deleted consumer, say): back off and
            // redeclare rather than ask again at once.
            Ended::Done if pull.pulled == 0 && pull.asked.elapsed() < self.expires / 2 => {
                drop(pull);
                self.failures += 1;
                tracing::debug!(
                    consumer = %self.source.spec.name,
                    "an empty pull ended early; trying again"
                );
                self.recover().await
            }
            Ended::Done => {
                self.answered(pull.pulled);
                true
            }
            Ended::Failed(error) => {
                drop(pull);
                self.failed(&error).await
            }
        }
    }

    /// Counts a pull request the server answered, with `pulled` messages.
    fn answered(&mut self, pulled: usize) {
        self.failures = 0;
        self.busy = pulled > 0;
    }

    /// Counts a failed pull and waits before the next; false when the
    /// member closes meanwhile.
    async fn failed(&mut self, error: &str) -> bool {
        self.failures += 1;
        tracing::warn!(
            group = %self.origin.group,
            consumer = %self.source.spec.name,
            stream = %self.source.stream,
            %error,
            "pulling from JetStream failed; trying again"
        );
        self.recover().await
    }

    /// Waits before pulling again, redeclaring the consumer in case it was
    /// deleted. Returns false when the member closes meanwhile.
    async fn recover(&mut self) -> bool {
        let delay = backoff(self.failures, EXPIRES);
        tokio::select! {
            biased;
            _ = self.closing.wait_for(|closing| *closing) => return false,
            () = tokio::time::sleep(delay) => {}
        }
        if self.failures >= 2 {
            match topology::declare_consumer(&self.js, &self.source.stream, &self.source.spec).await
            {
                Ok(consumer) => self.source.consumer = consumer,
                Err(error) => tracing::warn!(
                    consumer = %self.source.spec.name,
                    stream = %self.source.stream,
                    %error,
                    "could not redeclare the consumer"
                ),
            }
        }
        true
    }
}
