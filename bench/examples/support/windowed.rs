//! Publishing with a window of publishes in flight, as the `accord-bench`
//! broker sections do: shared by the examples that count a publish's cost.

use anyhow::Result;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;

/// Publishes in flight at once.
pub const WINDOW: usize = 1024;

/// Keeps [`WINDOW`] publishes in flight until `count` are confirmed.
///
/// Says on standard error how large one publish's future is: each of the
/// window's publishes is allocated at that size and moved into place, so
/// the window holds `WINDOW` times it.
pub async fn windowed<F, Fut>(count: u64, mut publish: F) -> Result<()>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    eprintln!(
        "one publish's future: {} bytes ({} KiB for the window of {WINDOW})",
        std::mem::size_of::<Fut>(),
        std::mem::size_of::<Fut>() * WINDOW / 1024
    );
    let mut next = 0;
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < WINDOW && next < count {
            in_flight.push(publish(next));
            next += 1;
        }
        match in_flight.next().await {
            Some(result) => result?,
            None => return Ok(()),
        }
    }
}
