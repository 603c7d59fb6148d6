//! accord's generated client against bare hyper-util and reqwest clients,
//! 64 requests in flight, against the hand-written axum server. The three
//! clients take turns in short slices within each run, so that each run's
//! ratio compares them under the same state of the machine.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use orders_contract::{NewOrder, Order, OrderId, OrdersClient};
use tokio::time::Instant;

use crate::report::{Better, Comparison, Report, Unit};
use crate::server::{ServerKind, ServerProcess};
use crate::turns::{self, SLICES};
use crate::work::{new_order, GET_ID};
use crate::Plan;

const SECTION: &str = "HTTP client: accord's generated client vs bare clients (64 in flight)";

/// Requests in flight.
const IN_FLIGHT: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Post,
    Get,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Accord,
    Hyper,
    Reqwest,
}

#[derive(Debug, Clone)]
enum Client {
    Accord(OrdersClient),
    Hyper(
        hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
        Arc<str>,
    ),
    Reqwest(reqwest::Client, Arc<str>),
}

impl Client {
    fn new(kind: Kind, base: &str) -> Result<Self> {
        Ok(match kind {
            Kind::Accord => Client::Accord(OrdersClient::new(base)?),
            Kind::Hyper => {
                let mut connector = HttpConnector::new();
                connector.set_nodelay(true);
                let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                    .build(connector);
                Client::Hyper(client, base.into())
            }
            Kind::Reqwest => Client::Reqwest(
                reqwest::Client::builder().tcp_nodelay(true).build()?,
                base.into(),
            ),
        })
    }

    /// One request; the decoded order.
    async fn call(&self, op: Op, order: &NewOrder) -> Result<Order> {
        match self {
            Client::Accord(client) => Ok(match op {
                Op::Post => client.place_order(order).await?,
                Op::Get => client.get_order(&OrderId(GET_ID)).await?,
            }),
            Client::Hyper(client, base) => {
                let request = match op {
                    Op::Post => http::Request::post(format!("{base}/orders"))
                        .header(http::header::CONTENT_TYPE, "application/json")
                        .body(Full::new(Bytes::from(serde_json::to_vec(order)?)))?,
                    Op::Get => http::Request::get(format!("{base}/orders/{GET_ID}"))
                        .body(Full::new(Bytes::new()))?,
                };
                let response = client.request(request).await?;
                if !response.status().is_success() {
                    bail!("hyper-util: status {}", response.status());
                }
                let body = response.into_body().collect().await?.to_bytes();
                Ok(serde_json::from_slice(&body)?)
            }
            Client::Reqwest(client, base) => {
                let request = match op {
                    Op::Post => client.post(format!("{base}/orders")).json(order),
                    Op::Get => client.get(format!("{base}/orders/{GET_ID}")),
                };
                Ok(request.send().await?.error_for_status()?.json().await?)
            }
        }
    }
}

pub fn run(plan: &Plan, report: &mut Report) -> Result<()> {
    let server = ServerProcess::start(ServerKind::Axum)?;
    let runtime = crate::runtime()?;
    let kinds = [Kind::Accord, Kind::Hyper, Kind::Reqwest];
    let slice = plan.client_measure / SLICES;
    let mut results: HashMap<(Op, Kind), Vec<f64>> = HashMap::new();
    runtime.block_on(async {
        let url = server.url();
        // Every client made and warmed once, each with its connections
        // open when it is measured.
        let mut clients = Vec::new();
        for kind in kinds {
            let client = Client::new(kind, &url)?;
            for op in [Op::Post, Op::Get] {
                calls(&client, op, plan.client_warmup).await?;
            }
            clients.push((kind, client));
        }
        for run in 0..plan.runs {
            for op in [Op::Post, Op::Get] {
                let mut made = vec![0u64; kinds.len()];
                for i in turns::order(kinds.len(), run, SLICES) {
                    made[i] += calls(&clients[i].1, op, slice).await?;
                }
                for (i, (kind, _)) in clients.iter().enumerate() {
                    let rate = made[i] as f64 / (slice * SLICES).as_secs_f64();
                    eprintln!("  run {run} {op:?} {kind:?}: {rate:.0} req/s");
                    results.entry((op, *kind)).or_default().push(rate);
                }
            }
        }
        anyhow::Ok(())
    })?;
    for op in [Op::Post, Op::Get] {
        let what = match op {
            Op::Post => "POST /orders: req/s",
            Op::Get => "GET /orders/{id}: req/s",
        };
        for (kind, baseline, goal) in [
            (Kind::Hyper, "hyper-util", Some(0.95)),
            (Kind::Reqwest, "reqwest", None),
        ] {
            report.comparisons.push(Comparison {
                section: SECTION,
                what: what.to_owned(),
                baseline,
                unit: Unit::PerSecond,
                better: Better::Higher,
                accord: results[&(op, Kind::Accord)].clone(),
                base: results[&(op, kind)].clone(),
                goal,
            });
        }
    }
    Ok(())
}

/// The calls `client` completes within `time`, [`IN_FLIGHT`] at once: each
/// task sends one call at a time and stops at the first to end after
/// `time`, which is not counted.
async fn calls(client: &Client, op: Op, time: Duration) -> Result<u64> {
    let end = Instant::now() + time;
    let mut tasks = Vec::with_capacity(IN_FLIGHT);
    for _ in 0..IN_FLIGHT {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let order = new_order();
            let mut made = 0u64;
            loop {
                let placed = client.call(op, &order).await?;
                std::hint::black_box(placed);
                if Instant::now() >= end {
                    break;
                }
                made += 1;
            }
            anyhow::Ok(made)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += tokio::time::timeout(time + Duration::from_secs(30), task)
            .await
            .context("a client task hung")???;
    }
    Ok(total)
}
