//! Events: typed publishing, the subscriber runtime and its reliability
//! (retries with backoff, dead letters, dedupe, graceful shutdown).
//!
//! Generated code builds on [`EventPublisher`] (`{Trait}Publisher`) and on
//! [`EventHandlers`] (`{Trait}Subscriber::into_event_handlers`), which
//! [`Subscriber`] runs against any broker whose deliveries can be retried
//! ([`ConsumeEvents`](crate::broker::ConsumeEvents)); [`EventPublisher`] needs
//! only [`Publish`](crate::broker::Publish).

pub mod dedupe;
mod delivered;
pub mod envelope;
mod intercept;
mod publisher;
mod subscriber;
mod takers;

pub use dedupe::{Begin, DedupeStore, MemoryDedupe};
pub(crate) use delivered::Delivered;
pub use envelope::EventId;
pub use intercept::{EventCall, EventRun, EventService};
pub use publisher::{key_text, EventPublisher, EventRoute, PublishError};
pub use subscriber::{
    event_handler, Backoff, EventHandler, EventHandlers, Subscriber, SubscriberHandle,
    SubscriberStats,
};
