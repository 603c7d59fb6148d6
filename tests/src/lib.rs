//! Shared helpers for accord's cross-crate tests: servers on loopback ports
//! with a shutdown handle, a raw HTTP client for requests the typed client
//! would never send, and the orders scenarios that run unchanged over every
//! request transport.

pub mod certs;
pub mod hops;
pub mod raw;
pub mod scenarios;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use orders_contract::{
    NewOrder, Order, OrderError, OrderFilter, OrderId, OrderStats, OrdersClient, OrdersServer,
    StatusChange,
};
use orders_server::InMemoryOrders;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long any single step of a test may take before it counts as a hang.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it takes longer than [`DEADLINE`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(DEADLINE, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not finish within {DEADLINE:?}"),
    }
}

/// Binds a listener on a free loopback port.
pub async fn bind_loopback() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0")
}

/// An HTTP server on a loopback port, running in the background.
///
/// Dropping it stops the server at once; [`TestServer::shutdown`] stops it
/// gracefully.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl TestServer {
    /// Serves `router` with [`accord::http::serve`].
    pub async fn start(router: Router) -> TestServer {
        let listener = bind_loopback().await;
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(accord::http::serve(listener, router, async move {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Serves `router` and counts the TCP connections it accepts.
    pub async fn start_counting(router: Router) -> (TestServer, ConnectionCounter) {
        use axum::serve::ListenerExt;
        let listener = bind_loopback().await;
        let addr = listener.local_addr().expect("local address");
        let counter = ConnectionCounter::default();
        let count = counter.0.clone();
        let listener = listener.tap_io(move |_| {
            count.fetch_add(1, Ordering::SeqCst);
        });
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
        });
        let server = TestServer {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        };
        (server, counter)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Signals the server to stop accepting connections and finish the
    /// requests in flight; returns at once.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Shuts down gracefully and waits until the server has stopped.
    pub async fn shutdown(mut self) -> io::Result<()> {
        self.begin_shutdown();
        let task = self.task.take().expect("the server task is present");
        within("the server's graceful shutdown", task)
            .await
            .expect("the server task did not panic")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// How many connections a [`TestServer::start_counting`] server accepted.
#[derive(Debug, Clone, Default)]
pub struct ConnectionCounter(Arc<AtomicUsize>);

impl ConnectionCounter {
    /// The connections accepted so far.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the orders service saw of each cancellation: the order and the
/// idempotency key, in arrival order.
pub type CancelLog = Arc<Mutex<Vec<(OrderId, Option<String>)>>>;

/// [`InMemoryOrders`] that also records each cancellation it is asked for.
#[derive(Debug, Default)]
pub struct RecordingOrders {
    inner: InMemoryOrders,
    cancels: CancelLog,
}

impl RecordingOrders {
    /// A fresh service and the log of its cancellations.
    pub fn new() -> (RecordingOrders, CancelLog) {
        let service = RecordingOrders::default();
        let log = service.cancels.clone();
        (service, log)
    }
}

impl OrdersServer for RecordingOrders {
    async fn place_order(&self, order: NewOrder) -> Result<Order, OrderError> {
        self.inner.place_order(order).await
    }

    async fn get_order(&self, id: OrderId) -> Result<Order, OrderError> {
        self.inner.get_order(id).await
    }

    async fn list_orders(&self, filter: OrderFilter) -> Result<Vec<Order>, OrderError> {
        self.inner.list_orders(filter).await
    }

    async fn set_status(&self, id: OrderId, change: StatusChange) -> Result<Order, OrderError> {
        self.inner.set_status(id, change).await
    }

    async fn cancel_order(&self, id: OrderId, key: Option<String>) -> Result<(), OrderError> {
        self.cancels
            .lock()
            .expect("cancel log poisoned")
            .push((id, key.clone()));
        self.inner.cancel_order(id, key).await
    }

    async fn stats(&self) -> OrderStats {
        self.inner.stats().await
    }

    async fn health(&self) {
        self.inner.health().await
    }
}

/// A fresh orders service and a typed client of it.
#[derive(Debug)]
pub struct OrdersEnv<T> {
    /// The client under test.
    pub client: OrdersClient<T>,
    /// The cancellations the service received.
    pub cancels: CancelLog,
    server: Option<TestServer>,
}

impl<T> OrdersEnv<T> {
    /// The HTTP server, when the client talks to one.
    pub fn server(&self) -> Option<&TestServer> {
        self.server.as_ref()
    }

    /// The cancellations received so far.
    pub fn cancels(&self) -> Vec<(OrderId, Option<String>)> {
        self.cancels.lock().expect("cancel log poisoned").clone()
    }
}

/// A fresh orders service served over loopback HTTP, and a client of it.
pub async fn orders_over_http() -> OrdersEnv<accord::HttpTransport> {
    let (service, cancels) = RecordingOrders::new();
    let server = TestServer::start(service.into_router()).await;
    let client = OrdersClient::new(&server.url()).expect("a valid base URL");
    OrdersEnv {
        client,
        cancels,
        server: Some(server),
    }
}

/// A fresh orders service behind an in-process transport, and a client of it.
pub fn orders_in_process() -> OrdersEnv<accord::InProcess> {
    let (service, cancels) = RecordingOrders::new();
    let client = OrdersClient::with_transport(accord::InProcess::new(service.into_dispatcher()));
    OrdersEnv {
        client,
        cancels,
        server: None,
    }
}
