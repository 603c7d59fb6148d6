//! The chaos run against the in-process broker.

use accord::MemoryBroker;
use accord_conformance::{chaos, quiet_chaos_panics, ChaosConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_with_failures_panics_and_duplicates() {
    quiet_chaos_panics();
    let config = ChaosConfig::default();
    let report = chaos(&MemoryBroker::new(), "memory", config.clone()).await;
    println!("chaos on the memory broker: {report}");

    assert_eq!(report.events, 10_000);
    assert_eq!(report.published, report.events + report.duplicate_publishes);
    assert_eq!(
        report.handled + report.dead_lettered + report.duplicates_suppressed,
        report.published,
        "each message published ends handled, dead-lettered or suppressed: {report}"
    );
    assert_eq!(
        report.duplicates_suppressed, report.duplicate_publishes,
        "the memory broker redelivers nothing that was settled: {report}"
    );
    assert!(report.retried > 0 && report.dead_lettered > 0, "{report}");
    assert!(
        report.failed_attempts > 0 && report.panicked_attempts > 0,
        "{report}"
    );
}
