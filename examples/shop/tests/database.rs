//! `shop --database postgres://...`: orders stored in PostgreSQL, each event
//! written to the outbox with its order and published by the relay, the
//! subscriber groups deduplicating through the inbox; run as a process
//! against a database of the test's own.

use sqlx::{Connection, PgConnection, Row};

mod common;

use common::shop;

/// The server the test creates its database on.
fn server_url() -> String {
    std::env::var("ACCORD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database of the test's own, dropped at the end.
struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    async fn create() -> Option<TestDatabase> {
        let server = server_url();
        let mut admin = match PgConnection::connect(&server).await {
            Ok(admin) => admin,
            Err(e) if std::env::var_os("CI").is_some() => {
                panic!("CI needs PostgreSQL at {server}: {e}")
            }
            Err(e) => {
                println!("skipped: no PostgreSQL at {server}: {e}");
                return None;
            }
        };
        let name = format!("shop_test_{}", std::process::id());
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut admin)
            .await
            .expect("dropping a leftover test database");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("creating the test database");
        let (base, _) = server.rsplit_once('/').expect("a database URL");
        Some(TestDatabase {
            url: format!("{base}/{name}"),
            name,
        })
    }

    async fn drop_it(self) {
        let mut admin = PgConnection::connect(&server_url())
            .await
            .expect("connecting to drop the test database");
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await
        .expect("dropping the test database");
    }
}

async fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

#[tokio::test]
async fn orders_and_their_events_commit_together_and_the_relay_publishes_them() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let out = shop(&["--database", &database.url]).await;
    for line in [
        "orders, outbox and inbox in PostgreSQL",
        "order 1 saved with orders.placed (",
        "409: out of stock: only 3 x melon left",
        "order 1 cancelled with orders.cancelled in the outbox, one transaction",
        r#"orders by status: {"cancelled": 1, "placed": 2}"#,
        "inventory: 4 handled, 0 retried, 0 dead-lettered",
        "notifications: 3 handled, 2 retried, 1 dead-lettered",
        "published 4 events from the outbox; 0 waiting",
    ] {
        assert!(out.contains(line), "the shop should print {line:?}:\n{out}");
    }

    let mut conn = PgConnection::connect(&database.url)
        .await
        .expect("connecting to the test database");
    // Three orders saved (the one out of stock was not), three placed and
    // one cancelled event in the outbox, every one of them sent.
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM shop_orders").await,
        3
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) FROM accord_outbox WHERE topic = 'orders.placed'"
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) FROM accord_outbox WHERE sent_at IS NULL"
        )
        .await,
        0,
        "every event in the outbox was published"
    );
    // The melons of order 3 came out of the stock in the same transaction.
    assert_eq!(
        count(
            &mut conn,
            "SELECT units FROM shop_stock WHERE sku = 'melon'"
        )
        .await,
        1
    );
    // The inbox remembers what each group settled: four events for the
    // inventory, four for the notifications (one of them dead-lettered).
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM accord_inbox").await,
        8,
        "each group's settled events are in the inbox"
    );

    // A second run on the same database: the orders are still there, and
    // the stock the first run took stays taken.
    let again = shop(&["--database", &database.url]).await;
    assert!(
        again.contains("409: out of stock: only 1 x melon left"),
        "the second run should see the stock the first one left:\n{again}"
    );
    // Orders 4 and 5 placed, order 4 cancelled.
    assert!(
        again.contains(r#"orders by status: {"cancelled": 2, "placed": 3}"#),
        "the second run should count both runs' orders:\n{again}"
    );
    assert!(
        again.contains("published 3 events from the outbox; 0 waiting"),
        "the second run should publish its own three events:\n{again}"
    );
    conn.close().await.ok();
    database.drop_it().await;
}
