//! Where the orders service answers its requests: over HTTP, over the
//! broker (request/reply), or both; and how the client reaches it.

use std::net::SocketAddr;

use accord::broker::Broker;
use accord::transport::broker::RequestServerHandle;
use clap::ValueEnum;
use orders_contract::OrdersServer;

use crate::say;

/// Where the orders service answers requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServeOver {
    /// HTTP only, on `--listen`.
    Http,
    /// The broker only: request/reply on `orders.rpc.<operation>`.
    Broker,
    /// HTTP and the broker, from one service (one set of orders).
    Both,
}

/// How the client calls the orders service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CallOver {
    /// HTTP, at `--orders-url`.
    Http,
    /// The broker given with `--broker`.
    Broker,
}

/// Why requests cannot go over a broker without request/reply.
pub const NO_REQUESTS: &str = "this broker offers no request/reply (see docs/kafka.md); \
                               serve and call requests over HTTP (--serve-requests http, --call-over http)";

/// The orders service, running until [`Served::shutdown`].
pub struct Served {
    http: Option<HttpServer>,
    broker: Option<RequestServerHandle>,
}

struct HttpServer {
    address: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

impl Served {
    /// Where it answers over HTTP, if it does.
    pub fn http_address(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(|http| http.address)
    }

    /// Stops answering; requests in flight over HTTP finish first.
    pub async fn shutdown(self) -> Result<(), Box<dyn std::error::Error>> {
        if let Some(handle) = self.broker {
            handle.shutdown().await;
        }
        if let Some(http) = self.http {
            let _ = http.stop.send(());
            http.task.await??;
        }
        Ok(())
    }
}

/// Starts `service`, answering over `over`; HTTP listens on `listen`.
///
/// `requests` is the broker that carries requests, `None` where the events'
/// broker offers no request/reply (Kafka): then only HTTP is possible.
pub async fn serve_orders<S: OrdersServer, R: Broker>(
    service: S,
    requests: Option<R>,
    over: ServeOver,
    listen: &str,
) -> Result<Served, Box<dyn std::error::Error>> {
    // One service behind both, so an order placed over one is seen over
    // the other.
    let dispatcher = service.into_dispatcher();
    let mut served = Served {
        http: None,
        broker: None,
    };
    if matches!(over, ServeOver::Broker | ServeOver::Both) {
        let requests = requests.ok_or(NO_REQUESTS)?;
        served.broker = Some(accord::serve_requests(requests, dispatcher.clone()).await?);
        say(
            "orders",
            "answering requests over the broker on orders.rpc.<operation>",
        );
    }
    if matches!(over, ServeOver::Http | ServeOver::Both) {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let address = listener.local_addr()?;
        let router = accord::HttpServer::new(dispatcher)
            .into_router()
            .route("/metrics", crate::metrics::endpoint()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            accord::http::serve(listener, router, async {
                let _ = stopped.await;
            })
            .await
            .map_err(|e| e.to_string())
        });
        say("orders", &format!("serving http://{address}"));
        served.http = Some(HttpServer {
            address,
            stop,
            task,
        });
    }
    Ok(served)
}
