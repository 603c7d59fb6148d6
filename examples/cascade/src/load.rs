//! A steady, open-loop load on the shopfront: each operation is called at a
//! fixed rate whatever the answers take, as independent users would, and
//! every call is recorded with its start, latency and outcome.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use accord::resilience::DefenceSettings;
use accord::{CallError, HttpTransport};
use tokio::task::JoinSet;

use crate::contract::{Cause, QuoteError, ShopfrontClient};

/// How long a user waits for the shopfront before giving up.
pub const USER_TIMEOUT: Duration = Duration::from_secs(10);

/// One of the shopfront's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `catalog`: answered by A alone.
    Catalog,
    /// `quote`: A asks B, which asks C.
    Quote,
}

/// How a call failed, as its user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    /// The shopfront answered that a service down the chain failed, and how.
    Downstream(CauseKind),
    /// No answer within [`USER_TIMEOUT`].
    Timeout,
    /// The connection to the shopfront failed.
    Connection,
    /// Any other answer that is not a success.
    Other,
}

/// [`Cause`], ordered, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CauseKind {
    CircuitOpen,
    BulkheadFull,
    Timeout,
    Failed,
}

impl From<Cause> for CauseKind {
    fn from(cause: Cause) -> Self {
        match cause {
            Cause::CircuitOpen => CauseKind::CircuitOpen,
            Cause::BulkheadFull => CauseKind::BulkheadFull,
            Cause::Timeout => CauseKind::Timeout,
            Cause::Failed => CauseKind::Failed,
        }
    }
}

impl Failure {
    fn of(error: &CallError<QuoteError>) -> Failure {
        match error {
            CallError::Service(QuoteError::Unavailable { cause, .. }) => {
                Failure::Downstream((*cause).into())
            }
            CallError::Timeout(_) => Failure::Timeout,
            CallError::Connection(_) => Failure::Connection,
            _ => Failure::Other,
        }
    }

    /// A short name for the terminal and the report.
    pub fn name(self) -> &'static str {
        match self {
            Failure::Downstream(CauseKind::CircuitOpen) => "circuit open",
            Failure::Downstream(CauseKind::BulkheadFull) => "bulkhead full",
            Failure::Downstream(CauseKind::Timeout) => "deadline passed down the chain",
            Failure::Downstream(CauseKind::Failed) => "failed down the chain",
            Failure::Timeout => "user gave up (10 s)",
            Failure::Connection => "connection to A failed",
            Failure::Other => "other",
        }
    }
}

/// One call of the load.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub op: Op,
    /// When it started, from the start of the run.
    pub at: Duration,
    pub latency: Duration,
    pub outcome: Result<(), Failure>,
}

/// The calls recorded so far.
#[derive(Debug, Clone, Default)]
pub struct Samples(Arc<Mutex<Vec<Sample>>>);

impl Samples {
    fn push(&self, sample: Sample) {
        self.0.lock().expect("samples poisoned").push(sample);
    }

    /// The samples that started in `from..to`.
    pub fn between(&self, from: Duration, to: Duration) -> Vec<Sample> {
        self.0
            .lock()
            .expect("samples poisoned")
            .iter()
            .filter(|s| s.at >= from && s.at < to)
            .copied()
            .collect()
    }

    /// Every sample.
    pub fn all(&self) -> Vec<Sample> {
        self.0.lock().expect("samples poisoned").clone()
    }
}

/// A client of the shopfront for the load: no defences of its own, so it
/// shows what the shopfront does, and [`USER_TIMEOUT`].
pub fn user_client(shopfront_url: &str) -> anyhow::Result<ShopfrontClient<HttpTransport>> {
    let transport = HttpTransport::builder(shopfront_url)
        .defences(DefenceSettings::off())
        .build()?;
    Ok(ShopfrontClient::with_transport(transport).with_timeout(USER_TIMEOUT))
}

/// Calls `op` `rate` times a second, each call in a task of its own, until
/// `until`; then waits for the calls in flight (at most [`USER_TIMEOUT`]
/// and a second more, as each call has that timeout).
pub async fn drive(
    client: ShopfrontClient<HttpTransport>,
    op: Op,
    rate: u32,
    start: Instant,
    until: Instant,
    samples: Samples,
) {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let skus: Vec<&'static str> = crate::services::skus().collect();
    let mut calls = JoinSet::new();
    let mut n = 0usize;
    loop {
        let now = tick.tick().await;
        if now.into_std() >= until {
            break;
        }
        let client = client.clone();
        let samples = samples.clone();
        let sku = skus[n % skus.len()];
        n += 1;
        calls.spawn(async move {
            let started = Instant::now();
            let outcome = match op {
                Op::Catalog => client.catalog().await.map(drop).map_err(|e| match e {
                    CallError::Timeout(_) => Failure::Timeout,
                    CallError::Connection(_) => Failure::Connection,
                    _ => Failure::Other,
                }),
                Op::Quote => client
                    .quote(&sku.to_owned())
                    .await
                    .map(drop)
                    .map_err(|e| Failure::of(&e)),
            };
            samples.push(Sample {
                op,
                at: started - start,
                latency: started.elapsed(),
                outcome,
            });
        });
        while calls.try_join_next().is_some() {}
    }
    let drained = async { while calls.join_next().await.is_some() {} };
    if tokio::time::timeout(USER_TIMEOUT + Duration::from_secs(1), drained)
        .await
        .is_err()
    {
        // Every call has its own timeout, so this is a bug in the client.
        panic!("calls of {op:?} still in flight {USER_TIMEOUT:?} after the load stopped");
    }
}
