//! A fixed number of HTTP calls, one at a time, for counting instructions
//! per call with callgrind (BENCHMARKS.md, Analysis): the difference
//! between two runs of different lengths, divided by the difference in
//! calls, leaves out start-up and connection set-up.
//!
//! ```text
//! http_count serve accord|axum 127.0.0.1:0        # until standard input closes
//! http_count client accord|hyper get|post URL N   # N calls in a row
//! http_count load accord|hyper get|post URL S K   # K in flight for S seconds
//! ```
//!
//! `load` runs as the benchmark's client section does (a multi-thread
//! runtime, K tasks each sending one call at a time) and prints the calls
//! made, so that `perf stat` or `/proc` can divide the CPU time, the user's
//! and the kernel's, of the client and the server by the calls.
//!
//! The client side: `valgrind --tool=callgrind http_count client ...`
//! against a server not under callgrind, on a one-thread runtime (with two
//! workers the count moves by thousands with how often they park); the
//! server side the other way round, with the bare hyper client sending.

#![allow(dead_code)]

#[path = "../src/work.rs"]
mod work;

#[path = "../src/server.rs"]
mod server;

#[path = "../src/process.rs"]
mod process;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use orders_contract::{Order, OrderId, OrdersClient};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["serve", kind, addr] => {
            let kind = match *kind {
                "accord" => server::ServerKind::Accord,
                "axum" => server::ServerKind::Axum,
                other => bail!("unknown server {other:?}: expected accord or axum"),
            };
            server::serve(kind, addr.parse().context("the address")?)
        }
        ["client", kind, op, url, n] => {
            let n: usize = n.parse().context("the number of calls")?;
            let post = match *op {
                "get" => false,
                "post" => true,
                other => bail!("unknown operation {other:?}: expected get or post"),
            };
            // One thread: the calls, the connection and the timers take turns
            // on it in the same order every run, so the count repeats.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                match *kind {
                    "accord" => accord_calls(url, post, n).await,
                    "hyper" => hyper_calls(url, post, n).await,
                    other => bail!("unknown client {other:?}: expected accord or hyper"),
                }
            })
        }
        ["load", kind, op, url, seconds, in_flight] => {
            let post = match *op {
                "get" => false,
                "post" => true,
                other => bail!("unknown operation {other:?}: expected get or post"),
            };
            let time = seconds
                .parse()
                .ok()
                .and_then(|s: f64| std::time::Duration::try_from_secs_f64(s).ok())
                .filter(|time| !time.is_zero())
                .with_context(|| {
                    format!("SECONDS is {seconds:?}: expected a positive number, such as 3 or 0.5")
                })?;
            let in_flight: usize =
                in_flight.parse().ok().filter(|&n| n > 0).with_context(|| {
                    format!(
                        "IN_FLIGHT is {in_flight:?}: expected a whole number above 0, such as 64"
                    )
                })?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let calls = runtime.block_on(load(kind, url, post, time, in_flight))?;
            println!("{calls} calls, {:.0}/s", calls as f64 / time.as_secs_f64());
            Ok(())
        }
        _ => bail!(
            "usage: http_count serve accord|axum ADDR | client accord|hyper get|post URL N \
             | load accord|hyper get|post URL SECONDS IN_FLIGHT"
        ),
    }
}

/// `in_flight` tasks calling for `time`; the calls they made.
async fn load(
    kind: &str,
    url: &str,
    post: bool,
    time: std::time::Duration,
    in_flight: usize,
) -> Result<u64> {
    let end = tokio::time::Instant::now() + time;
    let client = match kind {
        "accord" => Caller::Accord(OrdersClient::new(url)?),
        "hyper" => Caller::Hyper(bare_client()),
        other => bail!("unknown client {other:?}: expected accord or hyper"),
    };
    let mut tasks = Vec::new();
    for _ in 0..in_flight {
        let (client, url) = (client.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            let order = work::new_order();
            let mut calls = 0u64;
            while tokio::time::Instant::now() < end {
                let placed = match &client {
                    Caller::Accord(client) if post => client.place_order(&order).await?,
                    Caller::Accord(client) => client.get_order(&OrderId(work::GET_ID)).await?,
                    Caller::Hyper(client) => hyper_call(client, &url, post, &order).await?,
                };
                std::hint::black_box(placed);
                calls += 1;
            }
            anyhow::Ok(calls)
        }));
    }
    let mut calls = 0;
    for task in tasks {
        calls += tokio::time::timeout(time + std::time::Duration::from_secs(30), task)
            .await
            .context("a client task hung")???;
    }
    Ok(calls)
}

async fn accord_calls(url: &str, post: bool, n: usize) -> Result<()> {
    let client = OrdersClient::new(url)?;
    let order = work::new_order();
    for _ in 0..n {
        let placed: Order = if post {
            client.place_order(&order).await?
        } else {
            client.get_order(&OrderId(work::GET_ID)).await?
        };
        std::hint::black_box(placed);
    }
    Ok(())
}

/// The client of one side of `load`.
#[derive(Clone)]
enum Caller {
    Accord(OrdersClient),
    Hyper(BareClient),
}

type BareClient = hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>;

/// The bare hyper-util client, with TCP_NODELAY as accord's.
fn bare_client() -> BareClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector)
}

async fn hyper_calls(url: &str, post: bool, n: usize) -> Result<()> {
    let client = bare_client();
    let order = work::new_order();
    for _ in 0..n {
        let placed = hyper_call(&client, url, post, &order).await?;
        std::hint::black_box(placed);
    }
    Ok(())
}

/// One call through the bare hyper-util client.
async fn hyper_call(
    client: &BareClient,
    url: &str,
    post: bool,
    order: &orders_contract::NewOrder,
) -> Result<Order> {
    let request = if post {
        http::Request::post(format!("{url}/orders"))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(serde_json::to_vec(order)?)))?
    } else {
        http::Request::get(format!("{url}/orders/{}", work::GET_ID))
            .body(Full::new(Bytes::new()))?
    };
    let response = client.request(request).await?;
    if !response.status().is_success() {
        bail!("status {}", response.status());
    }
    let body = response.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&body)?)
}
