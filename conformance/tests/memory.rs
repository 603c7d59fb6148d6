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

checks!(
    fan_out_to_groups,
    competition_within_group,
    per_key_order,
    redelivery_after_retry,
    redelivery_after_release,
    redelivery_after_ack_wait,
    dead_letter_after_last_attempt,
    no_loss_when_member_dropped_mid_handler,
    dedupe_through_subscriber,
    subscriber_retries_then_dead_letters,
    request_reply,
    shutdown_draining,
    generated_contract_round_trip,
);

/// Every check on one long-lived broker, as shared real brokers run them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_checks_on_one_shared_broker() {
    let broker = MemoryBroker::new();
    accord_conformance::run_all(|| broker.clone()).await;
}
