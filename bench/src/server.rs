//! The two servers under load: accord's orders router and a hand-written
//! axum server with the same routes, types, JSON and work. Each runs in a
//! process of its own (`accord-bench serve accord|axum`), started by the
//! harness, and ends when its standard input closes.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use orders_contract::{
    NewOrder, Order, OrderError, OrderFilter, OrderId, OrderStats, OrdersServer, StatusChange,
};
use tokio::io::AsyncReadExt;

use crate::work::Work;

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ServerKind {
    /// `OrdersServer::into_router()`, served by `accord::http::serve`.
    Accord,
    /// A hand-written axum router.
    Axum,
    /// accord's router as `Accord`, with a Prometheus recorder installed
    /// for accord's metrics, rendered every second as a scrape would.
    AccordPrometheus,
}

impl ServerKind {
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Accord => "accord",
            ServerKind::Axum => "axum",
            ServerKind::AccordPrometheus => "accord-prometheus",
        }
    }
}

/// The orders service for accord: the shared work, nothing else.
#[derive(Debug, Default)]
pub struct BenchOrders {
    work: Arc<Work>,
}

impl OrdersServer for BenchOrders {
    async fn place_order(&self, order: NewOrder) -> Result<Order, OrderError> {
        self.work.place(order)
    }

    async fn get_order(&self, id: OrderId) -> Result<Order, OrderError> {
        self.work.get(id)
    }

    async fn list_orders(&self, _filter: OrderFilter) -> Result<Vec<Order>, OrderError> {
        Ok(Vec::new())
    }

    async fn set_status(&self, id: OrderId, _change: StatusChange) -> Result<Order, OrderError> {
        self.work.get(id)
    }

    async fn cancel_order(&self, _id: OrderId, _key: Option<String>) -> Result<(), OrderError> {
        Ok(())
    }

    async fn stats(&self) -> OrderStats {
        OrderStats::default()
    }

    async fn health(&self) {}
}

/// The hand-written server: `POST /orders` and `GET /orders/{id}`.
pub fn axum_router(work: Arc<Work>) -> Router {
    Router::new()
        .route("/orders", post(place_order))
        .route("/orders/{id}", get(get_order))
        .with_state(work)
}

async fn place_order(State(work): State<Arc<Work>>, Json(order): Json<NewOrder>) -> Response {
    match work.place(order) {
        Ok(order) => (StatusCode::CREATED, Json(order)).into_response(),
        Err(error) => error_response(&error),
    }
}

async fn get_order(State(work): State<Arc<Work>>, Path(id): Path<u64>) -> Response {
    match work.get(OrderId(id)) {
        Ok(order) => Json(order).into_response(),
        Err(error) => error_response(&error),
    }
}

fn error_response(error: &OrderError) -> Response {
    let status = match error {
        OrderError::NotFound { .. } => StatusCode::NOT_FOUND,
        OrderError::OutOfStock { .. } | OrderError::InvalidTransition { .. } => {
            StatusCode::CONFLICT
        }
        OrderError::Rejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
    };
    (status, Json(error)).into_response()
}

/// Serves `kind` on `addr`, prints `listening <addr>` and serves until
/// standard input closes.
pub fn serve(kind: ServerKind, addr: SocketAddr) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        println!("listening {}", listener.local_addr()?);
        let stdin_closed = async {
            let mut stdin = tokio::io::stdin();
            let mut buffer = [0u8; 64];
            while matches!(stdin.read(&mut buffer).await, Ok(n) if n > 0) {}
        };
        match kind {
            ServerKind::Accord => {
                let app = BenchOrders::default().into_router();
                accord::http::serve(listener, app, stdin_closed).await?;
            }
            ServerKind::AccordPrometheus => {
                let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
                    .install_recorder()
                    .context("cannot install the Prometheus recorder")?;
                accord::observe::metrics::describe();
                tokio::spawn(async move {
                    let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
                    loop {
                        every.tick().await;
                        handle.run_upkeep();
                        std::hint::black_box(handle.render());
                    }
                });
                let app = BenchOrders::default().into_router();
                accord::http::serve(listener, app, stdin_closed).await?;
            }
            ServerKind::Axum => {
                use axum::serve::ListenerExt;
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                axum::serve(listener, axum_router(Arc::new(Work::new())))
                    .with_graceful_shutdown(stdin_closed)
                    .await?;
            }
        }
        Ok(())
    })
}

/// A server process the harness started; ended on drop.
#[derive(Debug)]
pub struct ServerProcess {
    pub kind: ServerKind,
    pub addr: SocketAddr,
    child: std::process::Child,
}

impl ServerProcess {
    /// Starts `kind` on a free loopback port and waits until it listens.
    pub fn start(kind: ServerKind) -> Result<Self> {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let exe = std::env::current_exe().context("cannot find the benchmark executable")?;
        let mut child = Command::new(exe)
            .args(["serve", kind.name(), "127.0.0.1:0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start a server process")?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|a| a.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("the {} server did not start: {line:?}", kind.name());
        };
        Ok(ServerProcess { kind, addr, child })
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Closing standard input asks for a graceful stop; the kill makes
        // sure.
        drop(self.child.stdin.take());
        let _ = crate::process::wait_or_kill(&mut self.child, crate::process::STOP_WAIT);
    }
}
