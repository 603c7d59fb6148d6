//! The shop process serves accord's metrics on `GET /metrics`: after a few
//! orders placed over HTTP, the counters and histograms a user looks for
//! are there with the counts the orders caused.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use orders_contract::{
    CustomerId, Delivery, Line, NewOrder, OrderError, OrderId, OrdersClient, Payment,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a step may take before it counts as a hang.
const STEP: Duration = Duration::from_secs(20);

/// The shop serving on a free loopback port, and its base URL.
async fn start_shop() -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shop"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "accord=error")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the shop binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(STEP, async {
        while let Some(line) = lines.next_line().await.expect("the shop's stdout reads") {
            if let Some((_, url)) = line.split_once("serving ") {
                return url.trim().to_owned();
            }
        }
        panic!("the shop exited without saying where it serves");
    })
    .await
    .unwrap_or_else(|_| panic!("the shop did not say where it serves within {STEP:?}"));
    // Keep reading its output so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

fn order(customer: &str) -> NewOrder {
    NewOrder {
        customer_id: CustomerId(customer.into()),
        lines: vec![Line {
            sku: "apple".into(),
            quantity: 1,
        }],
        delivery: Delivery::Pickup {
            store: "central".into(),
        },
        payment: Payment::Credit,
        discounts: Vec::new(),
        gift_note: None,
        labels: Default::default(),
    }
}

/// One sample of the text format: its metric name, labels and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the samples of a Prometheus text exposition (label values here
/// hold no commas or quotes).
fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').expect("a label is key=value");
                    (key.to_owned(), value.trim_matches('"').to_owned())
                })
                .collect();
            Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().expect("a sample's value is a number"),
            }
        })
        .collect()
}

/// The value of the one sample named `name` with (at least) `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<_> = samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert!(
        found.len() <= 1,
        "more than one {name} {labels:?}: {found:?}"
    );
    found.first().map(|s| s.value)
}

async fn scrape(http: &reqwest::Client, url: &str) -> (String, String) {
    let response = tokio::time::timeout(STEP, http.get(format!("{url}/metrics")).send())
        .await
        .unwrap_or_else(|_| panic!("GET /metrics did not answer within {STEP:?}"))
        .expect("GET /metrics is answered");
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (content_type, response.text().await.expect("the body reads"))
}

#[tokio::test]
async fn metrics_count_what_the_orders_caused() {
    let (mut shop, url) = start_shop().await;
    let client = OrdersClient::new(&url).unwrap();
    let http = reqwest::Client::new();

    // Two orders placed; mallory's notification fails on every attempt
    // (three), so it is retried twice, then dead-lettered.
    for customer in ["alice", "mallory"] {
        tokio::time::timeout(STEP, client.place_order(&order(customer)))
            .await
            .unwrap_or_else(|_| panic!("placing {customer}'s order did not finish within {STEP:?}"))
            .expect("the order is placed");
    }
    // An order that does not exist: a 404.
    let missing = tokio::time::timeout(STEP, client.get_order(&OrderId(999)))
        .await
        .expect("getting a missing order did not finish in time");
    assert!(
        matches!(
            missing,
            Err(accord::CallError::Service(OrderError::NotFound { .. }))
        ),
        "{missing:?}"
    );

    let events = |s: &[Sample], group: &str, outcome: &str| {
        value(
            s,
            "accord_events_total",
            &[
                ("service", "orders"),
                ("operation", "order_placed"),
                ("group", group),
                ("outcome", outcome),
            ],
        )
    };
    // The subscribers work after the replies: wait for them to settle.
    let waited = tokio::time::timeout(STEP, async {
        loop {
            let (content_type, text) = scrape(&http, &url).await;
            let s = samples(&text);
            if events(&s, "inventory", "handled") == Some(2.0)
                && events(&s, "notifications", "dead_lettered") == Some(1.0)
            {
                return (content_type, text);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let Ok((content_type, text)) = waited else {
        let (_, text) = scrape(&http, &url).await;
        panic!("the groups did not settle both events within {STEP:?}; /metrics says:\n{text}");
    };
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let s = samples(&text);

    // Requests, by status class, and their latency histogram.
    let place = [("service", "orders"), ("operation", "place_order")];
    let with = |extra: (&'static str, &'static str)| {
        let mut labels = place.to_vec();
        labels.push(extra);
        labels
    };
    assert_eq!(
        value(&s, "accord_requests_total", &with(("status_class", "2xx"))),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(
            &s,
            "accord_requests_total",
            &[
                ("service", "orders"),
                ("operation", "get_order"),
                ("status_class", "4xx")
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(text.contains("# TYPE accord_request_duration_seconds histogram"));
    assert_eq!(
        value(&s, "accord_request_duration_seconds_count", &place),
        Some(2.0)
    );
    assert_eq!(
        value(
            &s,
            "accord_request_duration_seconds_bucket",
            &with(("le", "+Inf"))
        ),
        Some(2.0)
    );
    let sum = value(&s, "accord_request_duration_seconds_sum", &place).unwrap();
    assert!(sum > 0.0 && sum < 2.0 * STEP.as_secs_f64(), "{sum}");

    // Publishes.
    let published = [("service", "orders"), ("operation", "order_placed")];
    assert_eq!(
        value(
            &s,
            "accord_events_published_total",
            &[
                ("service", "orders"),
                ("operation", "order_placed"),
                ("outcome", "ok")
            ]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &s,
            "accord_event_publish_duration_seconds_count",
            &published
        ),
        Some(2.0)
    );

    // Each group's deliveries by outcome, and how long its handler ran.
    assert_eq!(events(&s, "notifications", "handled"), Some(1.0));
    assert_eq!(events(&s, "notifications", "retried"), Some(2.0));
    assert_eq!(events(&s, "inventory", "retried"), None);
    let handling = |group: &str| {
        value(
            &s,
            "accord_event_handling_duration_seconds_count",
            &[("operation", "order_placed"), ("group", group)],
        )
    };
    assert_eq!(handling("inventory"), Some(2.0));
    // alice once, mallory three times.
    assert_eq!(handling("notifications"), Some(4.0));

    // Nothing per order or per customer is a label.
    assert!(
        !text.contains("mallory") && !text.contains("alice"),
        "{text}"
    );

    shop.kill().await.expect("the shop stops");
}
