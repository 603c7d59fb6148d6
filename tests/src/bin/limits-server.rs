//! The orders service on a loopback port, as a process of its own, for the
//! shutdown tests of `tests/http_limits.rs`: it prints `listening ADDR`,
//! serves until SIGINT, then shuts down gracefully and exits.
//!
//! `limits-server [--header-read-ms N] [--grace-ms N]` sets the
//! header-read timeout and the shutdown grace period; the rest keeps its
//! defaults.

use std::io::Write;
use std::time::Duration;

use accord::http::ServeOptions;
use orders_contract::OrdersServer;
use orders_server::InMemoryOrders;

fn millis(flag: &str, value: Option<String>) -> Duration {
    let value = value.unwrap_or_else(|| panic!("{flag} needs a number of milliseconds"));
    let millis = value
        .parse()
        .unwrap_or_else(|e| panic!("{flag} {value:?} is not a number of milliseconds: {e}"));
    Duration::from_millis(millis)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut options = ServeOptions::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        options = match flag.as_str() {
            "--header-read-ms" => options.header_read_timeout(millis(&flag, args.next())),
            "--grace-ms" => options.shutdown_grace(millis(&flag, args.next())),
            other => panic!("unknown argument {other:?}: expected --header-read-ms or --grace-ms"),
        };
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening {}", listener.local_addr()?)?;
    stdout.flush()?;
    options
        .serve(listener, InMemoryOrders::new().into_router(), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
