//! The broker capabilities, one trait each, and the declared guarantees.
//!
//! A backend implements the capabilities its broker offers, and only
//! those; code asks for the capability it uses:
//!
//! | capability | trait | used by |
//! |---|---|---|
//! | publish with confirm | [`Publish`] | generated publishers, [`EventPublisher`](crate::events::EventPublisher) |
//! | subscribe with durable groups and dead letters | [`Subscribe`] | conformance checks, custom consumers |
//! | delayed retry of a delivery | [`Retry`] on its deliveries | [`Subscriber`](crate::Subscriber), generated subscribers ([`ConsumeEvents`]) |
//! | request/reply | [`RequestReply`] | [`BrokerTransport`](crate::transport::broker::BrokerTransport), [`serve_requests`](crate::transport::broker::serve_requests) |
//! | browsing and removing dead letters | [`DeadLetters`] | the `accord dead-letters` CLI, [`replay_dead_letters`](super::dead_letters::replay_dead_letters) |
//!
//! What a backend guarantees beyond what the traits say (per-key order,
//! publish-side dedupe) it declares in [`Capabilities`], which
//! [`Subscribe::capabilities`] returns. [`Broker`] names a backend that
//! offers every capability.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::{BrokerError, DeadLetter, EventEnvelope, Message, SubscribeOptions, TooLarge};

/// What a backend guarantees to its groups beyond the traits it implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Messages with the same key are delivered to a group that subscribes
    /// [`KeyOrder::ByKey`](super::KeyOrder::ByKey) one at a time, in publish order, also across
    /// retries and members leaving. A backend without it refuses such a
    /// subscription with [`BrokerError::Rejected`].
    pub per_key_order: bool,
    /// A publish repeating the event id (`ce-id`) of an earlier one, within
    /// the broker's duplicate window, is accepted but not delivered again
    /// (JetStream's `Nats-Msg-Id`). Without it, the repeat is delivered and
    /// the subscriber's dedupe store skips it.
    pub dedupes_publishes: bool,
}

/// Publishing with confirm: the capability a generated publisher needs.
pub trait Publish: Clone + Send + Sync + 'static {
    /// Publishes `message`; returns once the broker has accepted it.
    fn publish(&self, message: Message) -> impl Future<Output = Result<(), BrokerError>> + Send;

    /// Publishes an event in the CloudEvents envelope; returns once the
    /// broker has accepted it. What a generated publisher calls.
    ///
    /// The default publishes [`EventEnvelope::to_message`]; a backend
    /// overrides it to encode the envelope straight into its own headers.
    /// Either way the event arrives as the same [`Message`].
    fn publish_event(
        &self,
        event: EventEnvelope<'_>,
    ) -> impl Future<Output = Result<(), BrokerError>> + Send {
        self.publish(event.to_message())
    }
}

/// Subscribing with durable groups, and reading a group's dead letters.
pub trait Subscribe: Clone + Send + Sync + 'static {
    /// A group membership, yielding deliveries.
    type Subscription: Subscription;

    /// What this backend guarantees to its groups beyond the common model.
    fn capabilities(&self) -> Capabilities;

    /// Joins a group, declaring it (durably) if it does not exist.
    fn subscribe(
        &self,
        options: SubscribeOptions,
    ) -> impl Future<Output = Result<Self::Subscription, BrokerError>> + Send;

    /// Consumes `group`'s dead letters: each carries the
    /// [`DEAD_LETTER_REASON`](super::DEAD_LETTER_REASON),
    /// [`DEAD_LETTER_ATTEMPTS`](super::DEAD_LETTER_ATTEMPTS),
    /// [`DEAD_LETTER_TOPIC`](super::DEAD_LETTER_TOPIC) and
    /// [`DEAD_LETTER_GROUP`](super::DEAD_LETTER_GROUP) headers.
    fn dead_letters(
        &self,
        group: &str,
    ) -> impl Future<Output = Result<Self::Subscription, BrokerError>> + Send;
}

/// Browsing a group's dead letters and removing them, without consuming
/// them: what the `accord dead-letters` tools and
/// [`replay_dead_letters`](super::dead_letters::replay_dead_letters) need.
///
/// A backend needs four operations over its dead-letter store, each
/// bounded by its arguments; positions are the backend's own (see
/// [`DeadLetter::position`]). Replay needs nothing more from a backend than
/// this and [`Publish`].
pub trait DeadLetters: Clone + Send + Sync + 'static {
    /// Whether `group` is known to the broker: it subscribed at least once
    /// (or has dead letters). Lets the tools tell a mistyped group from
    /// one with no dead letters.
    fn group_exists(&self, group: &str) -> impl Future<Output = Result<bool, BrokerError>> + Send;

    /// How many dead letters `group` holds.
    fn count_dead_letters(
        &self,
        group: &str,
    ) -> impl Future<Output = Result<u64, BrokerError>> + Send;

    /// Up to `limit` (capped at [`MAX_PAGE`](super::dead_letters::MAX_PAGE))
    /// dead letters of `group` at positions after `after`, oldest first,
    /// left where they are. `after` 0 starts at the oldest.
    fn list_dead_letters(
        &self,
        group: &str,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DeadLetter>, BrokerError>> + Send;

    /// Removes `letters`, as listed, from `group`'s dead letters; returns
    /// how many were removed (one already gone is not counted).
    fn remove_dead_letters(
        &self,
        group: &str,
        letters: &[DeadLetter],
    ) -> impl Future<Output = Result<u64, BrokerError>> + Send;

    /// Removes every dead letter of `group`; returns how many.
    fn purge_dead_letters(
        &self,
        group: &str,
    ) -> impl Future<Output = Result<u64, BrokerError>> + Send;
}

/// Request/reply: the capability [`BrokerTransport`] and
/// [`serve_requests`] need.
///
/// [`BrokerTransport`]: crate::transport::broker::BrokerTransport
/// [`serve_requests`]: crate::transport::broker::serve_requests
pub trait RequestReply: Clone + Send + Sync + 'static {
    /// A request server's membership, yielding requests.
    type Responder: Responder;

    /// Sends a request on `message.topic` and waits up to `timeout` for the
    /// reply.
    fn request(
        &self,
        message: Message,
        timeout: Duration,
    ) -> impl Future<Output = Result<Message, BrokerError>> + Send;

    /// Serves requests sent on `topic`; the members of `group` share them.
    fn respond(
        &self,
        topic: &str,
        group: &str,
    ) -> impl Future<Output = Result<Self::Responder, BrokerError>> + Send;
}

/// A backend whose groups' deliveries can be retried after a delay: what
/// the [`Subscriber`](crate::Subscriber) runtime and generated subscribers
/// run on. Every [`Subscribe`] whose deliveries implement [`Retry`] is one.
pub trait ConsumeEvents: Subscribe<Subscription: Subscription<Delivery: Retry>> {}

impl<B> ConsumeEvents for B where B: Subscribe<Subscription: Subscription<Delivery: Retry>> {}

/// A backend offering every capability: publish, subscribe with delayed
/// retry, and request/reply.
pub trait Broker: Publish + ConsumeEvents + RequestReply {}

impl<B> Broker for B where B: Publish + ConsumeEvents + RequestReply {}

/// A group membership.
pub trait Subscription: Send + 'static {
    /// A delivery of this backend.
    type Delivery: Delivery;

    /// The next delivery; `None` once the subscription is closed. Waits
    /// while `max_in_flight` deliveries are unsettled.
    fn next(&mut self) -> impl Future<Output = Option<Self::Delivery>> + Send;

    /// Stops taking deliveries and completes once the broker has what the
    /// member owes it: the settlements of its deliveries (which may still
    /// be settled meanwhile; those dropped unsettled are released as on
    /// any drop) and, where the broker keeps group memberships (a Kafka
    /// consumer group), its leaving, so that a member joining afterwards
    /// joins a group without this one. A process may exit once it returns.
    ///
    /// Dropping a subscription does the same in the background. The
    /// default does that: a backend whose drop leaves nothing pending has
    /// nothing to wait for. A backend that waits says for how long at
    /// most.
    fn close(self) -> impl Future<Output = ()> + Send
    where
        Self: Sized,
    {
        drop(self);
        std::future::ready(())
    }
}

/// One delivery of a message to a group member. Settle it exactly once;
/// dropping it unsettled releases it for redelivery.
pub trait Delivery: Send + 'static {
    /// The message, shared: a subscriber keeps it, without copying it, for
    /// the handler's [`Context`](crate::Context) while the handler runs.
    fn message(&self) -> &Arc<Message>;

    /// Which delivery of this message to this group this is, from 1.
    fn attempt(&self) -> u32;

    /// The message was handled.
    fn ack(self) -> impl Future<Output = Result<(), BrokerError>> + Send;

    /// Give up on the message: move it to the group's dead letters with
    /// `reason`, stored on one line and cut to [`MAX_REASON_BYTES`](super::MAX_REASON_BYTES). When
    /// the dead letter cannot be stored, the error says why and the message
    /// stays with the group, to be delivered again.
    fn dead_letter(self, reason: &str) -> impl Future<Output = Result<(), BrokerError>> + Send;
}

/// A delivery that can be delivered again after a delay.
pub trait Retry: Delivery {
    /// Deliver the message again after `delay`.
    fn retry(self, delay: Duration) -> impl Future<Output = Result<(), BrokerError>> + Send;

    /// [`dead_letter`](Delivery::dead_letter), except that when the dead
    /// letter cannot be stored the message is delivered again only after
    /// `retry_after`, as [`retry`](Retry::retry) would, so that a dead
    /// letter the broker keeps refusing is tried again with backoff rather
    /// than in a tight loop. `Ok` means the dead letter was stored.
    ///
    /// The default calls `dead_letter`, which suits a backend whose dead
    /// letters cannot be refused.
    fn dead_letter_or_retry(
        self,
        reason: &str,
        retry_after: Duration,
    ) -> impl Future<Output = Result<(), BrokerError>> + Send
    where
        Self: Sized,
    {
        let _ = retry_after;
        self.dead_letter(reason)
    }
}

/// A request server's membership.
pub trait Responder: Send + 'static {
    /// A request of this backend.
    type Request: PendingRequest;

    /// The next request; `None` once closed.
    fn next(&mut self) -> impl Future<Output = Option<Self::Request>> + Send;
}

/// A request waiting for its reply.
pub trait PendingRequest: Send + 'static {
    /// The request.
    fn message(&self) -> &Message;

    /// Sends the reply to the requester.
    fn reply(self, reply: Message) -> impl Future<Output = Result<(), BrokerError>> + Send;

    /// Sends `reply`; when it is over a size limit of the broker, sends
    /// what `instead` makes of the [`TooLarge`] error (a short reply saying
    /// so) and returns that error, so the requester learns why rather than
    /// waiting out its timeout.
    ///
    /// The default sends `reply`, which suits a backend without size
    /// limits.
    fn reply_or<F>(
        self,
        reply: Message,
        instead: F,
    ) -> impl Future<Output = Result<(), BrokerError>> + Send
    where
        Self: Sized,
        F: FnOnce(&TooLarge) -> Message + Send,
    {
        drop(instead);
        self.reply(reply)
    }
}
