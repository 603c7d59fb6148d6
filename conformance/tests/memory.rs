//! The conformance suite against the in-process broker, a fresh broker per
//! check, plus the whole suite against one shared broker.

use accord::MemoryBroker;

macro_rules! checks {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                accord_conformance::$check(&MemoryBroker::new(), "memory").await;
            }
        )*
    };
}

accord_conformance::for_each_check!(checks: events, ordered, requests);

/// Every check on one long-lived broker, as shared real brokers run them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_checks_on_one_shared_broker() {
    let broker = MemoryBroker::new();
    accord_conformance::run_all(|| broker.clone()).await;
}

/// Every check on a broker with tight bounds: the checks' traffic fits in
/// them, and nothing in the model depends on the default sizes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_checks_on_a_tightly_bounded_broker() {
    let broker = MemoryBroker::builder()
        .max_messages(64)
        // Room for the suite's largest event (600 KB) and its dead letter.
        .max_bytes(1024 * 1024)
        .unclaimed_max_messages(64)
        .unclaimed_max_bytes(1024 * 1024)
        .build();
    accord_conformance::run_all(|| broker.clone()).await;
}
