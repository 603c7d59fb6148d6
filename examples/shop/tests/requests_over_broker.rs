//! The shop answers its requests over a real broker and its client calls
//! it there: `shop --broker URL --serve-requests broker --call-over broker`,
//! run as a process against a NATS server and a RabbitMQ node of the
//! test's own (so no other run's request servers share its topics), and a
//! separate `orders` process called by a separate `client` process.

use std::process::Stdio;
use std::time::Duration;

use accord_faults::nats_server::{self, NatsServer};
use accord_faults::rabbit_server::{self, RabbitNode};
use accord_faults::support::runnable;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

mod common;

use common::shop;

/// What a client that placed the shop's orders over the broker prints.
fn assert_orders_placed_over_the_broker(out: &str) {
    for line in [
        "201: order 1 for",
        "409: out of stock: only 3 x melon left",
        "201: order 3 for 600 cents",
        r#"orders by status: {"cancelled": 1, "placed": 2}"#,
    ] {
        assert!(
            out.contains(line),
            "the client should print {line:?}:\n{out}"
        );
    }
}

async fn everything_over(url: &str) {
    let out = shop(&[
        "--broker",
        url,
        "--serve-requests",
        "broker",
        "--call-over",
        "broker",
    ])
    .await;
    assert!(
        out.contains("answering requests over the broker"),
        "the orders service should say it answers over the broker:\n{out}"
    );
    assert!(
        !out.contains("serving http://"),
        "with --serve-requests broker there is no HTTP server:\n{out}"
    );
    assert_orders_placed_over_the_broker(&out);
    assert!(out.contains("shop | done"), "the run should end:\n{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_nats() {
    if !runnable("NATS server", nats_server::available()) {
        return;
    }
    let server = NatsServer::start("shop-requests")
        .await
        .expect("starting a NATS server");
    let url = server.url();
    everything_over(&url).await;

    // The service in one process, the client in another.
    let mut orders = Command::new(env!("CARGO_BIN_EXE_shop"))
        .args(["--broker", &url, "orders", "--serve-requests", "broker"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting the orders service");
    let mut stdout = orders.stdout.take().expect("piped stdout");
    let mut ready = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = [0u8; 256];
        while !String::from_utf8_lossy(&ready).contains("answering requests over the broker") {
            let n = stdout
                .read(&mut buf)
                .await
                .expect("reading the orders service");
            assert!(n > 0, "the orders service ended before answering");
            ready.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("the orders service did not start answering over NATS within 20 s");
    let out = shop(&["--broker", &url, "client", "--call-over", "broker"]).await;
    assert_orders_placed_over_the_broker(&out);
    orders.kill().await.expect("stopping the orders service");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_rabbitmq() {
    if !runnable("RabbitMQ node", rabbit_server::available()) {
        return;
    }
    let node = RabbitNode::start("shop-requests")
        .await
        .expect("starting a RabbitMQ node");
    everything_over(&node.url()).await;
}
