//! `GET /metrics`: accord's metrics in the Prometheus text format.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Latency buckets of the histograms, in seconds: from a millisecond on
/// loopback to the ten seconds of a slow dependency.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often the recorder's housekeeping runs (it bounds the memory of its
/// histograms); every few seconds is what its guide suggests.
const UPKEEP: Duration = Duration::from_secs(5);

/// The route: installs the Prometheus recorder for the process (once) and
/// renders what it recorded.
pub fn endpoint() -> Result<axum::routing::MethodRouter, Box<dyn std::error::Error>> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    let handle = match HANDLE.get() {
        Some(handle) => handle.clone(),
        None => {
            let handle = PrometheusBuilder::new()
                .set_buckets(BUCKETS)?
                .install_recorder()?;
            accord::observe::metrics::describe();
            let upkeep = handle.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(UPKEEP);
                loop {
                    every.tick().await;
                    upkeep.run_upkeep();
                }
            });
            HANDLE.get_or_init(|| handle).clone()
        }
    };
    Ok(axum::routing::get(move || {
        let text = handle.render();
        async move {
            (
                [(
                    axum::http::header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                text,
            )
        }
    }))
}
