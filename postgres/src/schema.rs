//! The tables, created by embedded migrations with a version table of
//! their own.
//!
//! The applied versions are recorded in [`VERSION_TABLE`], per table (an
//! outbox or inbox under a name of the application's choice), not in
//! sqlx's `_sqlx_migrations`: the application's own `sqlx::migrate!`
//! migrations live there, numbered from 1 as these are, and sqlx would
//! take ours for its own (the same version numbers with other checksums)
//! or report them as "previously applied but missing". Our versions and
//! the application's never meet.
//!
//! Every migration runs in one transaction holding
//! `pg_advisory_xact_lock`, so that several processes starting at once
//! apply each migration exactly once; the others wait, then find nothing
//! left to do. Running them again is a no-op.

use sqlx::{PgPool, Row};

use crate::{Error, Inbox, Outbox};

/// The table recording which migrations were applied to which accord
/// table: `component` (`outbox:<table>` or `inbox:<table>`), `version`,
/// `description`, `applied_at`.
pub const VERSION_TABLE: &str = "accord_schema_versions";

/// The advisory lock every accord migration holds (a one-key lock, which
/// PostgreSQL keeps apart from the two-key locks the relay takes).
const MIGRATION_LOCK: i64 = 0x6163_636f_7264_6d67; // "accordmg"

/// One step of a table's schema; `{table}` in a statement is replaced by
/// the quoted table name and `{name}` by the bare one.
#[derive(Debug)]
pub(crate) struct Migration {
    pub(crate) version: i32,
    pub(crate) description: &'static str,
    pub(crate) statements: &'static [&'static str],
}

/// Creates or brings up to date the default outbox (`accord_outbox`,
/// [`crate::DEFAULT_PARTITIONS`] partitions) and inbox (`accord_inbox`)
/// tables. Idempotent, and safe to call from several processes at once.
pub async fn migrate(pool: &PgPool) -> Result<(), Error> {
    Outbox::new(pool.clone()).migrate().await?;
    Inbox::new(pool.clone()).migrate().await
}

/// Applies those of `migrations` (in ascending version order) that
/// `component` has not had yet; returns how many it applied.
pub(crate) async fn apply(
    pool: &PgPool,
    component: &str,
    table: &str,
    migrations: &[Migration],
) -> Result<usize, Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!(
        "CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (
            component text NOT NULL,
            version integer NOT NULL,
            description text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (component, version)
        )"
    ))
    .execute(&mut *tx)
    .await?;
    let applied: i32 = sqlx::query(&format!(
        "SELECT coalesce(max(version), 0) AS v FROM {VERSION_TABLE} WHERE component = $1"
    ))
    .bind(component)
    .fetch_one(&mut *tx)
    .await?
    .try_get("v")?;
    let known = migrations.last().map_or(0, |m| m.version);
    if applied > known {
        return Err(Error::Schema(format!(
            "`{component}` is at schema version {applied}, but this accord-postgres knows versions up to {known}; upgrade it"
        )));
    }
    let mut count = 0;
    for migration in migrations.iter().filter(|m| m.version > applied) {
        for statement in migration.statements {
            let sql = statement
                .replace("{table}", &format!("\"{table}\""))
                .replace("{name}", table);
            sqlx::query(&sql).execute(&mut *tx).await?;
        }
        sqlx::query(&format!(
            "INSERT INTO {VERSION_TABLE} (component, version, description) VALUES ($1, $2, $3)"
        ))
        .bind(component)
        .bind(migration.version)
        .bind(migration.description)
        .execute(&mut *tx)
        .await?;
        count += 1;
    }
    tx.commit().await?;
    if count > 0 {
        tracing::info!(component, applied = count, "accord tables migrated");
    }
    Ok(count)
}

/// The outbox table's migrations.
pub(crate) const OUTBOX: &[Migration] = &[Migration {
    version: 1,
    description: "the outbox table and its index of unsent rows",
    statements: &[
        "CREATE TABLE {table} (
            seq bigserial PRIMARY KEY,
            event_id text NOT NULL,
            topic text NOT NULL,
            key text,
            partition smallint NOT NULL,
            headers jsonb NOT NULL,
            payload bytea NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            sent_at timestamptz,
            attempts integer NOT NULL DEFAULT 0,
            last_error text,
            failed_at timestamptz
        )",
        "CREATE INDEX \"{name}_unsent\" ON {table} (partition, seq)
            WHERE sent_at IS NULL AND failed_at IS NULL",
        "CREATE INDEX \"{name}_sent\" ON {table} (sent_at) WHERE sent_at IS NOT NULL",
    ],
}];

/// The inbox table's migrations.
pub(crate) const INBOX: &[Migration] = &[Migration {
    version: 1,
    description: "the inbox table of claimed and handled event ids",
    statements: &[
        "CREATE TABLE {table} (
            group_name text NOT NULL,
            event_id text NOT NULL,
            state text NOT NULL CHECK (state IN ('claimed', 'handled')),
            claimed_until timestamptz,
            completed_at timestamptz,
            PRIMARY KEY (group_name, event_id)
        )",
        // What pruning orders by: when a row was handled, or when its
        // claim expired.
        "CREATE INDEX \"{name}_age\" ON {table} ((coalesce(completed_at, claimed_until)))",
    ],
}];
