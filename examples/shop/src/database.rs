//! The shop on PostgreSQL (`--database postgres://...`): orders and stock
//! in tables of its own, each event written to the outbox in the same
//! transaction as the order, a relay publishing the outbox, and the
//! subscriber groups deduplicating through the inbox.
//!
//! The shop's tables (`shop_orders`, `shop_stock`, `shop_cancellations`)
//! are created when missing; the outbox and inbox tables by
//! accord-postgres's migrations (docs/outbox.md).

use std::sync::Arc;
use std::time::Duration;

use accord::broker::Publish;
use accord::events::DedupeStore;
use accord_postgres::{Outbox, PgDedupe, Relay, RelayHandle, RelayOptions, Staged};
use orders_contract::{
    NewOrder, Order, OrderCancelled, OrderError, OrderFilter, OrderId, OrderPlaced, OrderStats,
    OrderStatus, OrdersPublisher, OrdersServer, StatusChange,
};
use orders_server::{price, status_name, transition_allowed, CATALOGUE};
use sqlx::postgres::{PgConnection, PgPoolOptions};
use sqlx::{PgPool, Row};

use crate::say;

/// The most connections the shop opens to PostgreSQL.
const MAX_CONNECTIONS: u32 = 8;

/// The longest wait for a free connection (or a new one) before a call
/// fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The shop's tables, created when missing; the stock starts as the
/// catalogue says.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS shop_orders (
        id bigserial PRIMARY KEY,
        customer_id text NOT NULL,
        status text NOT NULL,
        body jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )",
    "CREATE TABLE IF NOT EXISTS shop_stock (sku text PRIMARY KEY, units bigint NOT NULL)",
    "CREATE TABLE IF NOT EXISTS shop_cancellations (
        key text PRIMARY KEY,
        order_id bigint NOT NULL
    )",
];

/// The shop's database: a connection pool, the outbox and the inbox.
#[derive(Clone)]
pub struct Database {
    pool: PgPool,
    outbox: Outbox,
    dedupe: Arc<PgDedupe>,
}

impl Database {
    /// Connects to `url` and creates what is missing: the shop's tables,
    /// the outbox and the inbox.
    pub async fn connect(url: &str) -> Result<Database, Box<dyn std::error::Error>> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(|e| format!("cannot connect to the database {url:?}: {e}"))?;
        let mut tx = pool.begin().await?;
        // Several shop processes may start at once on one database.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('shop schema'))")
            .execute(&mut *tx)
            .await?;
        for statement in SCHEMA {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        for (sku, _, units) in CATALOGUE {
            sqlx::query(
                "INSERT INTO shop_stock (sku, units) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(sku)
            .bind(i64::from(*units))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let outbox = Outbox::new(pool.clone());
        outbox.migrate().await?;
        let dedupe = PgDedupe::new(pool.clone());
        dedupe.migrate().await?;
        Ok(Database {
            pool,
            outbox,
            dedupe: Arc::new(dedupe),
        })
    }

    /// The orders service on this database.
    pub fn orders(&self) -> DbOrders {
        DbOrders {
            pool: self.pool.clone(),
            outbox: self.outbox.clone(),
        }
    }

    /// The inbox the subscriber groups deduplicate through: shared by
    /// every member of a group, in every process, across restarts.
    pub fn dedupe(&self) -> Arc<dyn DedupeStore> {
        self.dedupe.clone()
    }

    /// Starts a relay publishing the outbox on `broker`.
    pub fn relay<B: Publish>(&self, broker: B) -> RelayHandle {
        say("relay", "publishing the outbox");
        Relay::new(&self.outbox, broker, RelayOptions::default()).spawn()
    }

    /// How many events wait in the outbox.
    pub async fn pending(&self) -> Result<i64, Box<dyn std::error::Error>> {
        Ok(self.outbox.pending().await?)
    }
}

/// The orders service storing orders in PostgreSQL; each event is written
/// to the outbox in the transaction that changes the order, so that an
/// order is never saved without its event, nor an event published for an
/// order that was not saved.
pub struct DbOrders {
    pool: PgPool,
    outbox: Outbox,
}

/// A failed database call: accord answers the request with a 500 problem
/// document (the contract's errors are the business's, not the
/// database's), and the transaction rolls back.
fn db<T>(result: Result<T, impl std::fmt::Display>) -> T {
    result.unwrap_or_else(|e| panic!("the orders database failed: {e}"))
}

fn decode(body: serde_json::Value) -> Order {
    db(serde_json::from_value(body))
}

/// The order `id`, locked for update within the transaction on `conn`.
async fn locked(conn: &mut PgConnection, id: OrderId) -> Result<Order, OrderError> {
    let id_value = i64::try_from(id.0).map_err(|_| OrderError::NotFound { id })?;
    let row = db(
        sqlx::query("SELECT body FROM shop_orders WHERE id = $1 FOR UPDATE")
            .bind(id_value)
            .fetch_optional(&mut *conn)
            .await,
    );
    row.map(|row| decode(row.get("body")))
        .ok_or(OrderError::NotFound { id })
}

async fn store(conn: &mut PgConnection, order: &Order) {
    db(
        sqlx::query("UPDATE shop_orders SET status = $2, body = $3 WHERE id = $1")
            .bind(order.id.0 as i64)
            .bind(status_name(order.status))
            .bind(db(serde_json::to_value(order)))
            .execute(&mut *conn)
            .await,
    );
}

impl DbOrders {
    /// Writes what `staged` recorded to the outbox on `conn` and commits.
    async fn commit_with(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
        staged: &Staged,
    ) -> usize {
        let written = db(self.outbox.write(&mut tx, staged).await);
        db(tx.commit().await);
        written
    }
}

impl OrdersServer for DbOrders {
    async fn place_order(&self, order: NewOrder) -> Result<Order, OrderError> {
        let mut tx = db(self.pool.begin().await);
        let skus: Vec<&str> = order.lines.iter().map(|l| l.sku.as_str()).collect();
        let rows = db(sqlx::query(
            "SELECT sku, units FROM shop_stock WHERE sku = ANY($1) FOR UPDATE",
        )
        .bind(&skus)
        .fetch_all(&mut *tx)
        .await);
        let stock: Vec<(String, i64)> = rows
            .iter()
            .map(|row| (row.get("sku"), row.get("units")))
            .collect();
        let total = price(&order, |sku| {
            stock
                .iter()
                .find(|(s, _)| s == sku)
                .map_or(0, |(_, units)| u32::try_from(*units).unwrap_or(u32::MAX))
        })?;
        for line in &order.lines {
            db(
                sqlx::query("UPDATE shop_stock SET units = units - $2 WHERE sku = $1")
                    .bind(&line.sku)
                    .bind(i64::from(line.quantity))
                    .execute(&mut *tx)
                    .await,
            );
        }
        let id: i64 = db(sqlx::query(
            "INSERT INTO shop_orders (customer_id, status, body) VALUES ($1, 'placed', 'null') RETURNING id",
        )
        .bind(&order.customer_id.0)
        .fetch_one(&mut *tx)
        .await)
        .get("id");
        let placed = Order {
            id: OrderId(id as u64),
            status: OrderStatus::Placed,
            details: order,
            total_cents: total,
        };
        store(&mut tx, &placed).await;
        let staged = Staged::new();
        let event = OrderPlaced {
            order_id: placed.id,
            customer_id: placed.details.customer_id.clone(),
            lines: placed.details.lines.clone(),
            total_cents: placed.total_cents,
        };
        let event_id = db(OrdersPublisher::new(staged.clone())
            .order_placed(&event)
            .await);
        self.commit_with(tx, &staged).await;
        say(
            "orders",
            &format!(
                "order {id} saved with orders.placed ({event_id}) in the outbox, one transaction"
            ),
        );
        Ok(placed)
    }

    async fn get_order(&self, id: OrderId) -> Result<Order, OrderError> {
        let id_value = i64::try_from(id.0).map_err(|_| OrderError::NotFound { id })?;
        let row = db(sqlx::query("SELECT body FROM shop_orders WHERE id = $1")
            .bind(id_value)
            .fetch_optional(&self.pool)
            .await);
        row.map(|row| decode(row.get("body")))
            .ok_or(OrderError::NotFound { id })
    }

    async fn list_orders(&self, filter: OrderFilter) -> Result<Vec<Order>, OrderError> {
        let rows = db(sqlx::query(
            "SELECT body FROM shop_orders
             WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR customer_id = $2)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(filter.status.map(status_name))
        .bind(filter.customer_id.as_deref())
        .bind(i64::from(filter.limit.unwrap_or(50)))
        .fetch_all(&self.pool)
        .await);
        Ok(rows
            .into_iter()
            .map(|row| decode(row.get("body")))
            .collect())
    }

    async fn set_status(&self, id: OrderId, change: StatusChange) -> Result<Order, OrderError> {
        let mut tx = db(self.pool.begin().await);
        let mut order = locked(&mut tx, id).await?;
        if !transition_allowed(order.status, change.status) {
            return Err(OrderError::InvalidTransition {
                from: order.status,
                to: change.status,
            });
        }
        order.status = change.status;
        store(&mut tx, &order).await;
        db(tx.commit().await);
        Ok(order)
    }

    async fn cancel_order(&self, id: OrderId, key: Option<String>) -> Result<(), OrderError> {
        let mut tx = db(self.pool.begin().await);
        if let Some(key) = &key {
            let done = db(sqlx::query(
                "SELECT order_id FROM shop_cancellations WHERE key = $1 FOR UPDATE",
            )
            .bind(key)
            .fetch_optional(&mut *tx)
            .await);
            if done.is_some_and(|row| row.get::<i64, _>("order_id") as u64 == id.0) {
                // The same cancellation again: done already, no second event.
                return Ok(());
            }
        }
        let mut order = locked(&mut tx, id).await?;
        if order.status == OrderStatus::Shipped {
            return Err(OrderError::InvalidTransition {
                from: order.status,
                to: OrderStatus::Cancelled,
            });
        }
        order.status = OrderStatus::Cancelled;
        store(&mut tx, &order).await;
        if let Some(key) = &key {
            db(sqlx::query(
                "INSERT INTO shop_cancellations (key, order_id) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET order_id = EXCLUDED.order_id",
            )
            .bind(key)
            .bind(id.0 as i64)
            .execute(&mut *tx)
            .await);
        }
        let staged = Staged::new();
        let event = OrderCancelled {
            order_id: id,
            reason: Some("customer request".into()),
        };
        db(OrdersPublisher::new(staged.clone())
            .order_cancelled(&event)
            .await);
        self.commit_with(tx, &staged).await;
        say(
            "orders",
            &format!(
                "order {} cancelled with orders.cancelled in the outbox, one transaction",
                id.0
            ),
        );
        Ok(())
    }

    async fn stats(&self) -> OrderStats {
        let rows = db(
            sqlx::query("SELECT status, count(*) AS n FROM shop_orders GROUP BY status")
                .fetch_all(&self.pool)
                .await,
        );
        let mut stats = OrderStats::default();
        for row in rows {
            let n = row.get::<i64, _>("n") as u64;
            *stats.by_status.entry(row.get("status")).or_default() += n;
            stats.total += n;
        }
        stats
    }

    async fn health(&self) {}
}
