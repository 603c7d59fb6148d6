//! For the backends' tests: a member run as a process of its own would be,
//! whose tasks end with it.

use std::future::Future;

/// Runs `member` on a runtime of its own, on a thread of its own, and drops
/// the runtime as soon as `member` completes: every task it spawned ends
/// there, as a process's do when it exits. Panics where `member` panicked.
pub(crate) fn run<F, Fut>(member: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the member");
        runtime.block_on(member());
    })
    .join()
    .expect("the member's process did not panic");
}
