//! Serves the in-memory orders service over HTTP.
//!
//! `cargo run -p orders-server -- [ADDR]` (default 127.0.0.1:8080). Stop it
//! with Ctrl-C; requests in flight finish first.

use orders_contract::OrdersServer;
use orders_server::InMemoryOrders;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let app = InMemoryOrders::new().into_router();
    tracing::info!(
        "orders service on http://{}; OpenAPI at /openapi.json",
        listener.local_addr()?
    );
    accord::http::serve(listener, app, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down; finishing requests in flight");
    })
    .await
}
