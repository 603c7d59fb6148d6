//! librdkafka calls that wait for the broker, run without holding up the
//! other tasks of the thread that makes them.
//!
//! A member's reading task makes a few calls that block until the broker
//! answers: reading committed offsets and watermarks, a synchronous commit
//! before a handover or a rebalance, the group's state before joining
//! again. Each is bounded by its own timeout
//! ([`KafkaOptions::admin_timeout`], the heartbeat interval), but for that
//! long a tokio worker thread would run nothing else: on a two-core
//! machine, half the process's handlers, HTTP requests and timers would
//! wait on a slow coordinator.
//!
//! [`KafkaOptions::admin_timeout`]: super::super::KafkaOptions::admin_timeout

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `call`, which blocks until a broker answers or its own timeout
/// passes. On a multi-thread runtime the worker's other tasks are handed
/// to another thread first (`block_in_place`); the reading task itself
/// waits for the answer either way, as it needs it to go on. A
/// current-thread runtime has no other thread to hand them to, and the
/// call blocks it, as any blocking call would.
pub(super) fn blocking<R>(call: impl FnOnce() -> R) -> R {
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(call),
        _ => call(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// One worker thread: without the hand-over, a blocking call would
    /// stop every other task of the runtime.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn other_tasks_run_while_a_call_waits_for_the_broker() {
        let ticks = Arc::new(AtomicU32::new(0));
        let ticker = tokio::spawn({
            let ticks = ticks.clone();
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        // Let the ticker start.
        tokio::time::sleep(Duration::from_millis(30)).await;
        let caller = tokio::spawn({
            let ticks = ticks.clone();
            async move {
                blocking(|| {
                    let before = ticks.load(Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(300));
                    ticks.load(Ordering::Relaxed) - before
                })
            }
        });
        let during = tokio::time::timeout(Duration::from_secs(5), caller)
            .await
            .expect("the blocking call returned within 5 s")
            .expect("the calling task did not panic");
        ticker.abort();
        assert!(
            during >= 10,
            "the other task ticked {during} times in 300 ms (every 10 ms when it runs)"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_current_thread_runtime_runs_the_call_in_place() {
        assert_eq!(blocking(|| 7), 7);
    }

    #[test]
    fn outside_a_runtime_the_call_runs_in_place() {
        assert_eq!(blocking(|| "answer"), "answer");
    }
}
