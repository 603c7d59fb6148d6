//! accord against other Rust RPC frameworks, end to end: the same two
//! calls (place an order, get an order by id) from a client to a server,
//! 64 calls in flight, through
//!
//! - accord: the generated `OrdersClient` (HTTP/1.1, JSON, a pool of
//!   connections) to `OrdersServer::into_router()` served by
//!   `accord::http::serve`;
//! - tonic: gRPC unary calls with protobuf messages equivalent to the
//!   contract's types ([`grpc`]), over one HTTP/2 connection (one channel
//!   shared by every task, as tonic is used), and again over a channel per
//!   task (64 connections, as many as accord's pool opens);
//! - tarpc: its serde transport over one TCP connection, JSON frames of the
//!   contract's own types ([`tarpc_json`]).
//!
//! Every server does the same work ([`crate::work`]) per call, and every
//! client ends with the contract's `Order`. The servers run in a process of
//! their own (`accord-bench peers-serve`), as a service would, so the
//! client's and the server's runtimes do not share worker threads. Each
//! framework's clients are connected and warmed once; within each run the
//! frameworks take turns in short slices ([`crate::turns`]), one at a time.

mod grpc;
mod tarpc_json;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use orders_contract::{NewOrder, Order, OrderId, OrdersClient, OrdersServer};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::report::{Better, Comparison, Report, Unit};
use crate::server::BenchOrders;
use crate::stats::quantile;
use crate::turns::{self, SLICES};
use crate::work::{new_order, GET_ID};
use crate::Plan;

const SECTION: &str =
    "RPC peers: accord over HTTP vs tonic (gRPC) and tarpc, end to end (64 in flight)";

/// Calls in flight.
const IN_FLIGHT: usize = 64;

/// The total of [`new_order`]: 3 apples and a pear.
const PLACED_TOTAL: u64 = 3 * 50 + 70;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Place,
    Get,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Accord,
    /// One channel (one HTTP/2 connection) shared by every task, as
    /// tonic's documentation uses it.
    Tonic,
    /// A channel per task: as many connections as accord's pool opens.
    TonicPerTask,
    Tarpc,
}

/// Where the server process listens, per framework.
#[derive(Debug, Clone, Copy)]
struct Addrs {
    accord: SocketAddr,
    tonic: SocketAddr,
    tarpc: SocketAddr,
}

/// A client of one framework; its clones share its connections.
// One per task: the size does not matter, and boxing accord's client
// alone would give it an indirection the others do not have.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
enum Caller {
    Accord(OrdersClient),
    Tonic(grpc::OrdersClient<tonic::transport::Channel>),
    Tarpc(tarpc_json::TarpcOrdersClient),
}

impl Caller {
    async fn connect(kind: Kind, addrs: &Addrs) -> Result<Self> {
        Ok(match kind {
            Kind::Accord => Caller::Accord(OrdersClient::new(&format!("http://{}", addrs.accord))?),
            Kind::Tonic | Kind::TonicPerTask => {
                let channel =
                    tonic::transport::Endpoint::from_shared(format!("http://{}", addrs.tonic))?
                        .tcp_nodelay(true)
                        .connect()
                        .await
                        .context("cannot connect to the tonic server")?;
                Caller::Tonic(grpc::OrdersClient::new(channel))
            }
            Kind::Tarpc => Caller::Tarpc(
                tarpc_json::connect(addrs.tarpc)
                    .await
                    .context("cannot connect to the tarpc server")?,
            ),
        })
    }

    /// One call; the contract's order it returns.
    async fn call(&mut self, op: Op, order: &NewOrder) -> Result<Order> {
        Ok(match (self, op) {
            (Caller::Accord(client), Op::Place) => client.place_order(order).await?,
            (Caller::Accord(client), Op::Get) => client.get_order(&OrderId(GET_ID)).await?,
            (Caller::Tonic(client), Op::Place) => {
                let placed = client
                    .place_order(grpc::to_new_order(order.clone()))
                    .await?;
                grpc::from_order(placed.into_inner())?
            }
            (Caller::Tonic(client), Op::Get) => {
                let found = client
                    .get_order(grpc::GetOrderRequest { id: GET_ID })
                    .await?;
                grpc::from_order(found.into_inner())?
            }
            (Caller::Tarpc(client), Op::Place) => client
                .place_order(tarpc::context::current(), order.clone())
                .await?
                .map_err(|error| anyhow::anyhow!("tarpc: {error:?}"))?,
            (Caller::Tarpc(client), Op::Get) => client
                .get_order(tarpc::context::current(), OrderId(GET_ID))
                .await?
                .map_err(|error| anyhow::anyhow!("tarpc: {error:?}"))?,
        })
    }
}

/// What one framework did over one measured period.
#[derive(Debug, Clone, Copy)]
struct Measured {
    calls_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

pub fn run(plan: &Plan, report: &mut Report) -> Result<()> {
    let server = PeerServers::start()?;
    let runtime = crate::runtime()?;
    let kinds = [Kind::Accord, Kind::Tonic, Kind::TonicPerTask, Kind::Tarpc];
    let slice = plan.client_measure / SLICES;
    let mut results: HashMap<(Op, Kind), Vec<Measured>> = HashMap::new();
    runtime.block_on(async {
        let mut sides = Vec::with_capacity(kinds.len());
        for kind in kinds {
            let clients = connect(kind, &server.addrs).await?;
            for op in [Op::Place, Op::Get] {
                slice_calls(kind, &clients, op, plan.client_warmup).await?;
            }
            sides.push((kind, clients));
        }
        for run in 0..plan.runs {
            for op in [Op::Place, Op::Get] {
                let mut latencies = vec![Vec::new(); sides.len()];
                for i in turns::order(sides.len(), run, SLICES) {
                    let (kind, clients) = &sides[i];
                    latencies[i].extend(slice_calls(*kind, clients, op, slice).await?);
                }
                for ((kind, _), mut latencies) in sides.iter().zip(latencies) {
                    let measured = Measured {
                        calls_per_second: latencies.len() as f64 / (slice * SLICES).as_secs_f64(),
                        p50_ms: quantile(&mut latencies, 0.50) as f64 / 1e6,
                        p99_ms: quantile(&mut latencies, 0.99) as f64 / 1e6,
                    };
                    eprintln!(
                        "  run {run} {op:?} {kind:?}: {:.0} calls/s, p50 {:.3} ms, p99 {:.3} ms",
                        measured.calls_per_second, measured.p50_ms, measured.p99_ms
                    );
                    results.entry((op, *kind)).or_default().push(measured);
                }
            }
        }
        anyhow::Ok(())
    })?;
    drop(server);

    let figures = |op: Op, kind: Kind, of: fn(&Measured) -> f64| -> Vec<f64> {
        results[&(op, kind)].iter().map(of).collect()
    };
    type Figure = (&'static str, Unit, Better, fn(&Measured) -> f64);
    let metrics: [Figure; 3] = [
        ("calls/s", Unit::PerSecond, Better::Higher, |m| {
            m.calls_per_second
        }),
        ("p50", Unit::Millis, Better::Lower, |m| m.p50_ms),
        ("p99", Unit::Millis, Better::Lower, |m| m.p99_ms),
    ];
    for op in [Op::Place, Op::Get] {
        let call = match op {
            Op::Place => "place order",
            Op::Get => "get order by id",
        };
        for (name, unit, better, of) in metrics {
            for (kind, baseline) in [
                (Kind::Tonic, "tonic"),
                (Kind::TonicPerTask, "tonic, 64 connections"),
                (Kind::Tarpc, "tarpc"),
            ] {
                let goal = (kind == Kind::Tonic && better == Better::Higher).then_some(1.0);
                report.comparisons.push(Comparison {
                    section: SECTION,
                    what: format!("{call}: {name}"),
                    baseline,
                    unit,
                    better,
                    accord: figures(op, Kind::Accord, of),
                    base: figures(op, kind, of),
                    goal,
                });
            }
        }
    }
    report.observations.push(observation());
    Ok(())
}

/// The sizes on the wire and the peers' versions, for the report.
fn observation() -> String {
    use prost::Message as _;
    let lock =
        std::fs::read_to_string(crate::workspace_root().join("Cargo.lock")).unwrap_or_default();
    let json = crate::work::new_order_json().len();
    let protobuf = grpc::to_new_order(new_order()).encoded_len();
    format!(
        "RPC peers: the order is {json} bytes of JSON (accord's body, tarpc's argument) and \
         {protobuf} bytes of protobuf (tonic's message); tonic {}, prost {}, tarpc {} \
         (Cargo.lock).",
        crate::locked_version(&lock, "tonic"),
        crate::locked_version(&lock, "prost"),
        crate::locked_version(&lock, "tarpc"),
    )
}

/// The [`IN_FLIGHT`] clients of `kind`: clones of one, or, for
/// [`Kind::TonicPerTask`], one connection each.
async fn connect(kind: Kind, addrs: &Addrs) -> Result<Vec<Caller>> {
    let shared = Caller::connect(kind, addrs).await?;
    let mut clients = Vec::with_capacity(IN_FLIGHT);
    for _ in 0..IN_FLIGHT {
        clients.push(match kind {
            Kind::TonicPerTask => Caller::connect(kind, addrs).await?,
            _ => shared.clone(),
        });
    }
    Ok(clients)
}

/// The latencies, in nanoseconds, of the calls `clients` complete within
/// `time`, one at a time each: a client stops at its first call to end
/// after `time`, which is not counted.
async fn slice_calls(kind: Kind, clients: &[Caller], op: Op, time: Duration) -> Result<Vec<u64>> {
    let end = Instant::now() + time;
    let mut tasks = Vec::with_capacity(clients.len());
    for client in clients {
        let mut client = client.clone();
        tasks.push(tokio::spawn(async move {
            let order = new_order();
            // One latency per call of the slice: bounded by the slice's
            // length times the rate one task reaches.
            let mut latencies: Vec<u64> = Vec::new();
            loop {
                let sent = Instant::now();
                let answer = client.call(op, &order).await?;
                let now = Instant::now();
                let expected = match op {
                    Op::Place => answer.total_cents == PLACED_TOTAL,
                    Op::Get => answer.id == OrderId(GET_ID),
                };
                if !expected {
                    bail!("{kind:?} answered {op:?} with {answer:?}");
                }
                if now >= end {
                    break;
                }
                latencies.push(u64::try_from((now - sent).as_nanos()).unwrap_or(u64::MAX));
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(
            tokio::time::timeout(time + Duration::from_secs(30), task)
                .await
                .context("a client task hung")???,
        );
    }
    Ok(latencies)
}

/// The process serving all three frameworks; ended on drop.
#[derive(Debug)]
struct PeerServers {
    addrs: Addrs,
    child: std::process::Child,
}

impl PeerServers {
    /// Starts `accord-bench peers-serve` and waits until it listens.
    fn start() -> Result<Self> {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let exe = std::env::current_exe().context("cannot find the benchmark executable")?;
        let mut child = Command::new(exe)
            .arg("peers-serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start the peers' server process")?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let Some(addrs) = parse_listening(&line) else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the peers' server process did not start: {line:?}");
        };
        Ok(PeerServers { addrs, child })
    }
}

impl Drop for PeerServers {
    fn drop(&mut self) {
        // Closing standard input asks for a stop; the kill makes sure.
        drop(self.child.stdin.take());
        let _ = crate::process::wait_or_kill(&mut self.child, crate::process::STOP_WAIT);
    }
}

/// The line the server process prints once it listens.
fn listening_line(addrs: &Addrs) -> String {
    format!(
        "listening accord={} tonic={} tarpc={}",
        addrs.accord, addrs.tonic, addrs.tarpc
    )
}

fn parse_listening(line: &str) -> Option<Addrs> {
    let mut words = line.trim().strip_prefix("listening ")?.split(' ');
    let mut next = |name: &str| -> Option<SocketAddr> {
        words
            .next()?
            .strip_prefix(name)?
            .strip_prefix('=')?
            .parse()
            .ok()
    };
    Some(Addrs {
        accord: next("accord")?,
        tonic: next("tonic")?,
        tarpc: next("tarpc")?,
    })
}

/// `accord-bench peers-serve`: serves accord's router, the tonic service and
/// the tarpc service on three loopback ports, prints where, and stops when
/// standard input closes.
pub fn serve() -> Result<()> {
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        let accord = TcpListener::bind("127.0.0.1:0").await?;
        let tonic = TcpListener::bind("127.0.0.1:0").await?;
        let tarpc = TcpListener::bind("127.0.0.1:0").await?;
        let addrs = Addrs {
            accord: accord.local_addr()?,
            tonic: tonic.local_addr()?,
            tarpc: tarpc.local_addr()?,
        };
        let stdin_closed = async {
            let mut stdin = tokio::io::stdin();
            let mut buffer = [0u8; 64];
            while matches!(stdin.read(&mut buffer).await, Ok(n) if n > 0) {}
        };
        // The select below ends the process's servers when standard input
        // closes; accord's own shutdown signal is not needed.
        let accord = accord::http::serve(
            accord,
            BenchOrders::default().into_router(),
            std::future::pending(),
        );
        let incoming = tonic::transport::server::TcpIncoming::from(tonic).with_nodelay(Some(true));
        let tonic = tonic::transport::Server::builder()
            .add_service(grpc::OrdersServer::new(grpc::GrpcOrders::default()))
            .serve_with_incoming(incoming);
        let tarpc = tarpc_json::serve(tarpc);
        println!("{}", listening_line(&addrs));
        tokio::select! {
            () = stdin_closed => Ok(()),
            served = accord => served.context("accord's server stopped"),
            served = tonic => served.context("the tonic server stopped"),
            served = tarpc => served.context("the tarpc server stopped"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_addresses_the_server_prints() {
        let addrs = Addrs {
            accord: "127.0.0.1:1000".parse().unwrap(),
            tonic: "127.0.0.1:1001".parse().unwrap(),
            tarpc: "127.0.0.1:1002".parse().unwrap(),
        };
        let read = parse_listening(&format!("{}\n", listening_line(&addrs))).unwrap();
        assert_eq!(
            (read.accord, read.tonic, read.tarpc),
            (addrs.accord, addrs.tonic, addrs.tarpc)
        );
        assert!(parse_listening("listening accord=127.0.0.1:1000\n").is_none());
    }

    /// Each framework answers both calls with the shared work's result.
    #[test]
    fn every_framework_places_and_gets_an_order() {
        let runtime = crate::runtime().unwrap();
        runtime.block_on(async {
            let listeners = [
                TcpListener::bind("127.0.0.1:0").await.unwrap(),
                TcpListener::bind("127.0.0.1:0").await.unwrap(),
                TcpListener::bind("127.0.0.1:0").await.unwrap(),
            ];
            let [accord, tonic, tarpc] = listeners;
            let addrs = Addrs {
                accord: accord.local_addr().unwrap(),
                tonic: tonic.local_addr().unwrap(),
                tarpc: tarpc.local_addr().unwrap(),
            };
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let accord = tokio::spawn(accord::http::serve(
                accord,
                BenchOrders::default().into_router(),
                async {
                    let _ = stopped.await;
                },
            ));
            let tonic = tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(grpc::OrdersServer::new(grpc::GrpcOrders::default()))
                    .serve_with_incoming(tonic::transport::server::TcpIncoming::from(tonic)),
            );
            let tarpc = tokio::spawn(tarpc_json::serve(tarpc));
            for kind in [Kind::Accord, Kind::Tonic, Kind::TonicPerTask, Kind::Tarpc] {
                let mut client =
                    tokio::time::timeout(Duration::from_secs(10), Caller::connect(kind, &addrs))
                        .await
                        .unwrap()
                        .unwrap();
                let order = new_order();
                let placed =
                    tokio::time::timeout(Duration::from_secs(10), client.call(Op::Place, &order))
                        .await
                        .unwrap()
                        .unwrap();
                assert_eq!(placed.total_cents, PLACED_TOTAL, "{kind:?}");
                assert_eq!(placed.details, order, "{kind:?}");
                assert!(placed.id.0 > crate::work::STORED, "{kind:?}");
                let found =
                    tokio::time::timeout(Duration::from_secs(10), client.call(Op::Get, &order))
                        .await
                        .unwrap()
                        .unwrap();
                assert_eq!(found.id, OrderId(GET_ID), "{kind:?}");
            }
            let _ = stop.send(());
            tonic.abort();
            tarpc.abort();
            let _ = tokio::time::timeout(Duration::from_secs(10), accord).await;
        });
    }
}
