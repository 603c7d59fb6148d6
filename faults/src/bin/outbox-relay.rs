//! An outbox relay process for the fault tests: runs
//! `accord_postgres::Relay` over one outbox table, publishing to NATS, so
//! a test can kill it with SIGKILL in the middle of a stream.
//!
//! ```text
//! outbox-relay <postgres-url> <table> <partitions> <nats-url>
//! ```
//!
//! Prints `ready` once the relay runs, then, at most every 100 ms and only
//! when they change, `owns <n>` (the partitions it owns) and
//! `published <n>` (the events the broker confirmed so far). It runs until
//! it is killed.

use std::io::Write;
use std::time::Duration;

use accord::broker::nats::NatsBroker;
use accord_faults::outbox::relay_options;
use accord_postgres::{Outbox, Relay};
use sqlx::postgres::PgPoolOptions;

const USAGE: &str = "usage: outbox-relay <postgres-url> <table> <partitions> <nats-url>";

fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [postgres, table, partitions, nats] = args.as_slice() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let partitions: u16 = partitions
        .parse()
        .unwrap_or_else(|_| panic!("{USAGE}: the partition count is a number"));
    // The relay holds one connection of its own; the pool lends one to the
    // listener for the writes' notifications.
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect(postgres)
        .await
        .unwrap_or_else(|e| panic!("connecting to {postgres}: {e}"));
    let outbox = Outbox::new(pool)
        .table(table)
        .unwrap_or_else(|e| panic!("outbox table {table}: {e}"))
        .partitions(partitions);
    let broker = NatsBroker::connect(nats)
        .await
        .unwrap_or_else(|e| panic!("connecting to {nats}: {e}"));
    let relay = Relay::new(&outbox, broker, relay_options()).spawn();
    say("ready");
    let (mut owned, mut published) = (0, 0);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stats = relay.stats();
        if stats.owned_partitions() != owned {
            owned = stats.owned_partitions();
            say(&format!("owns {owned}"));
        }
        if stats.published() != published {
            published = stats.published();
            say(&format!("published {published}"));
        }
    }
}
