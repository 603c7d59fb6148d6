//! The chaos run against the in-process broker: with its default bounds,
//! and with bounds so tight that publishes keep waiting for room.

use accord::MemoryBroker;
use accord_conformance::{chaos, quiet_chaos_panics, ChaosConfig, ChaosReport};

fn check(report: &ChaosReport) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_with_failures_panics_and_duplicates() {
    quiet_chaos_panics();
    let report = chaos(&MemoryBroker::new(), "memory", ChaosConfig::default()).await;
    println!("chaos on the memory broker: {report}");
    check(&report);
}

/// A group and its dead letters hold at most 32 messages or 16 KiB here, so
/// the publisher keeps waiting for the subscriber (a run with no wait at
/// all fails within the first hundred events), and dead letters wait for
/// their reader: backpressure loses and duplicates nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_through_tight_bounds() {
    quiet_chaos_panics();
    let broker = MemoryBroker::builder()
        .max_messages(32)
        .max_bytes(16 * 1024)
        .build();
    let report = chaos(&broker, "memory-tight", ChaosConfig::default()).await;
    println!("chaos on a tightly bounded memory broker: {report}");
    check(&report);
}
