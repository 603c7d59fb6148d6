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

accord_conformance::for_each_check!(checks);

/// Every check on one long-lived broker, as shared real brokers run them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_checks_on_one_shared_broker() {
    let broker = MemoryBroker::new();
    accord_conformance::run_all(|| broker.clone()).await;
}
