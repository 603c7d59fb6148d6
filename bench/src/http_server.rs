//! accord's orders router against the hand-written axum server, under wrk.

use std::collections::HashMap;

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use orders_contract::Order;

use crate::report::{Better, Comparison, Metric, Report, Unit};
use crate::server::{ServerKind, ServerProcess};
use crate::work::{new_order_json, GET_ID};
use crate::wrk::{self, WrkResult};
use crate::Plan;

const SECTION: &str =
    "HTTP server: accord's router vs hand-written axum (wrk, one thread, at least 5 runs of 3 s)";
const RECORDER: &str =
    "HTTP server: accord's router with a Prometheus metrics recorder vs without \
     (wrk, one thread, at least 5 runs of 3 s)";

/// The fewest runs of each scenario (but with `--quick`): a server's rate
/// swings with the load of the machine, and with three runs one swing can
/// carry a ratio's spread across its goal.
const MIN_RUNS: usize = 5;

/// How long each run measures (but with `--quick`). With [`MIN_RUNS`], three
/// servers and four scenarios, the section takes a little over three
/// minutes.
const MEASURE: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Post,
    Get,
}

pub fn run(plan: &Plan, report: &mut Report) -> Result<()> {
    let accord = ServerProcess::start(ServerKind::Accord)?;
    let axum = ServerProcess::start(ServerKind::Axum)?;
    let recorded = ServerProcess::start(ServerKind::AccordPrometheus)?;
    same_answers(&accord, &axum)?;

    let dir = plan.scratch.join("http-server");
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("post.lua");
    std::fs::write(&script, wrk::post_script(&new_order_json()))?;

    let (runs, measure) = if plan.quick {
        (plan.runs, plan.http_measure)
    } else {
        (plan.runs.max(MIN_RUNS), MEASURE)
    };
    let scenarios = [(Op::Post, 64), (Op::Get, 64), (Op::Post, 1), (Op::Get, 1)];
    let mut results: HashMap<(Op, usize, ServerKind), Vec<WrkResult>> = HashMap::new();
    for run in 0..runs {
        for (i, &(op, connections)) in scenarios.iter().enumerate() {
            // Each server goes first in turn.
            let mut order = [&accord, &axum, &recorded];
            order.rotate_left((run + i) % 3);
            for server in order {
                let (url, script) = match op {
                    Op::Post => (format!("{}/orders", server.url()), Some(script.as_path())),
                    Op::Get => (format!("{}/orders/{GET_ID}", server.url()), None),
                };
                // Warmed once per scenario: a later run follows one of the
                // same scenario, so the server is warm already.
                if run == 0 {
                    wrk::run(&url, connections, plan.http_warmup, script)?;
                }
                let result = wrk::run(&url, connections, measure, script)?;
                eprintln!(
                    "  run {run} {op:?} c{connections} {}: {:.0} req/s p50 {:.3} ms p99 {:.3} ms",
                    server.kind.name(),
                    result.requests_per_second,
                    result.p50,
                    result.p99
                );
                results
                    .entry((op, connections, server.kind))
                    .or_default()
                    .push(result);
            }
        }
    }

    for (op, connections) in scenarios {
        let what = match op {
            Op::Post => "POST /orders",
            Op::Get => "GET /orders/{id}",
        };
        let conns = if connections == 1 {
            "1 connection".to_owned()
        } else {
            format!("{connections} connections")
        };
        let series = |kind, f: fn(&WrkResult) -> f64| -> Vec<f64> {
            results[&(op, connections, kind)].iter().map(f).collect()
        };
        let metrics = [
            Metric {
                name: "req/s",
                unit: Unit::PerSecond,
                better: Better::Higher,
                value: |r: &WrkResult| r.requests_per_second,
                goal: Some(0.97),
            },
            Metric {
                name: "p50",
                unit: Unit::Millis,
                better: Better::Lower,
                value: |r| r.p50,
                goal: None,
            },
            Metric {
                name: "p99",
                unit: Unit::Millis,
                better: Better::Lower,
                value: |r| r.p99,
                goal: Some(1.1),
            },
        ];
        for metric in &metrics {
            if metric.goal.is_none() {
                continue;
            }
            report.comparisons.push(Comparison {
                section: RECORDER,
                what: format!("{what}, {conns}: {}", metric.name),
                baseline: "accord, no recorder",
                unit: metric.unit,
                better: metric.better,
                accord: series(ServerKind::AccordPrometheus, metric.value),
                base: series(ServerKind::Accord, metric.value),
                goal: metric.goal,
            });
        }
        for metric in metrics {
            report.comparisons.push(Comparison {
                section: SECTION,
                what: format!("{what}, {conns}: {}", metric.name),
                baseline: "axum",
                unit: metric.unit,
                better: metric.better,
                accord: series(ServerKind::Accord, metric.value),
                base: series(ServerKind::Axum, metric.value),
                goal: metric.goal,
            });
        }
    }
    Ok(())
}

/// Both servers answer the benchmark's requests alike: the same status and
/// the same JSON, but for the new order's id.
fn same_answers(accord: &ServerProcess, axum: &ServerProcess) -> Result<()> {
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut posted = Vec::new();
        let mut got = Vec::new();
        for server in [accord, axum] {
            let response = client
                .post(format!("{}/orders", server.url()))
                .header("content-type", "application/json")
                .body(new_order_json())
                .send()
                .await
                .with_context(|| format!("POST to the {} server", server.kind.name()))?;
            ensure!(
                response.status().as_u16() == 201,
                "{} answered POST with {}",
                server.kind.name(),
                response.status()
            );
            let mut order: Order = response.json().await?;
            order.id.0 = 0;
            posted.push(serde_json::to_value(order)?);
            let response = client
                .get(format!("{}/orders/{GET_ID}", server.url()))
                .send()
                .await?;
            ensure!(
                response.status().as_u16() == 200,
                "{} answered GET with {}",
                server.kind.name(),
                response.status()
            );
            got.push(response.text().await?);
        }
        ensure!(
            posted[0] == posted[1],
            "the servers place orders differently: {posted:?}"
        );
        ensure!(
            got[0] == got[1],
            "the servers answer GET differently: {got:?}"
        );
        Ok(())
    })
}
