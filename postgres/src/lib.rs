//! accord events with PostgreSQL: a transactional outbox, the relay that
//! publishes it, and an inbox that suppresses duplicates across a group's
//! members and across restarts.
//!
//! A service that writes to its database and then publishes an event can
//! crash between the two, or publish for a write that then rolls back. The
//! outbox makes "row written" and "event published" one commit: a generated
//! publisher publishes into a [`Staged`] recorder, [`Outbox::write`] inserts
//! what it recorded in the caller's transaction, and a [`Relay`] publishes
//! the committed rows to the broker.
//!
//! ```no_run
//! # use accord::broker::{Message, Publish};
//! # async fn place(pool: sqlx::PgPool, outbox: accord_postgres::Outbox)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! use accord_postgres::Staged;
//!
//! let mut tx = pool.begin().await?;
//! sqlx::query("INSERT INTO orders (id) VALUES ($1)")
//!     .bind(42_i64)
//!     .execute(&mut *tx)
//!     .await?;
//! let staged = Staged::new();
//! // OrdersPublisher::new(staged.clone()).order_placed(&event).await?;
//! # staged.publish(Message::new("orders.placed", "{}").with_header("ce-id", "1")).await?;
//! outbox.write(&mut tx, &staged).await?;
//! tx.commit().await?; // rolled back instead: nothing is ever published
//! # Ok(()) }
//! ```
//!
//! On the consuming side, [`PgDedupe`] is a
//! [`DedupeStore`](accord::events::DedupeStore) shared by every member of
//! a group, and [`Inbox::claim`] records "handled" in the handler's own
//! transaction, so that a handler writing to the same database has its
//! effect exactly once.
//!
//! The tables are created by embedded migrations ([`migrate`],
//! [`Outbox::migrate`], [`Inbox::migrate`]); docs/outbox.md describes
//! them, the guarantees and the failure cases.

mod bounded;
mod dedupe;
mod error;
mod inbox;
mod names;
mod outbox;
pub mod relay;
mod schema;
mod staged;

pub use bounded::DEFAULT_STATEMENT_TIMEOUT;
pub use dedupe::{PgDedupe, DEFAULT_CLAIM_TTL, DEFAULT_HANDLED_RETENTION};
pub use error::Error;
pub use inbox::{Inbox, DEFAULT_INBOX_TABLE};
pub use names::MAX_TABLE_NAME_LEN;
pub use outbox::{partition_of, Outbox, DEFAULT_OUTBOX_TABLE, DEFAULT_PARTITIONS};
pub use relay::{Relay, RelayHandle, RelayOptions, RelayStats};
pub use schema::{migrate, VERSION_TABLE};
pub use staged::{Staged, DEFAULT_STAGED_MAX_BYTES, DEFAULT_STAGED_MAX_MESSAGES};
