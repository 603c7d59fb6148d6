//! Starting again after a broker failure, with a capped, jittered
//! exponential backoff: written once for every backend's consumers,
//! responders and connections.
//!
//! A consumer whose stream ended (the connection dropped, the broker
//! cancelled it) starts again through [`Restarts::after`]: a success resets
//! the count, a failure waits the next delay of [`backoff`] (or until the
//! broker handle is closed) before the caller tries again.

use std::time::Duration;

#[cfg(any(feature = "amqp", test))]
use tokio::sync::watch;

#[cfg(any(feature = "amqp", test))]
use super::BrokerError;

/// The first delay after a failure.
pub(crate) const FIRST_DELAY: Duration = Duration::from_millis(100);

/// The delay before attempt `failures + 1`: exponential from
/// [`FIRST_DELAY`], capped at `max`, with jitter (between half and all of
/// it) so that clients do not reconnect in step.
pub(crate) fn backoff(failures: u32, max: Duration) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    let full = FIRST_DELAY.saturating_mul(1 << exponent).min(max);
    full.mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// What to do after one start attempt.
#[cfg(any(feature = "amqp", test))]
#[derive(Debug)]
pub(crate) enum Next<T> {
    /// It started: use this.
    Started(T),
    /// It failed and the backoff delay has passed: try again.
    TryAgain,
    /// The broker handle was closed (or the start said so): stop.
    Closed,
}

/// Counts the failed start attempts of one consumer, responder or link.
#[cfg(any(feature = "amqp", test))]
#[derive(Debug)]
pub(crate) struct Restarts {
    failures: u32,
    max_delay: Duration,
    what: String,
}

#[cfg(any(feature = "amqp", test))]
impl Restarts {
    /// Restarts of `what` (named in the log lines), the delay capped at
    /// `max_delay`.
    pub(crate) fn new(what: impl Into<String>, max_delay: Duration) -> Self {
        Restarts {
            failures: 0,
            max_delay,
            what: what.into(),
        }
    }

    /// Takes the outcome of a start attempt: a success resets the count
    /// (saying so when it ends a run of failures); a failure waits its
    /// backoff delay, or until `closed` turns true.
    pub(crate) async fn after<T>(
        &mut self,
        attempt: Result<T, BrokerError>,
        closed: &mut watch::Receiver<bool>,
    ) -> Next<T> {
        match attempt {
            Ok(started) => {
                if self.failures > 0 {
                    tracing::info!(what = %self.what, attempts = self.failures + 1, "started again");
                }
                self.failures = 0;
                Next::Started(started)
            }
            Err(BrokerError::Closed) => Next::Closed,
            Err(error) => {
                self.failures = self.failures.saturating_add(1);
                let delay = backoff(self.failures, self.max_delay);
                tracing::warn!(what = %self.what, %error, ?delay, "cannot start; trying again");
                tokio::select! {
                    _ = closed.wait_for(|closed| *closed) => Next::Closed,
                    () = tokio::time::sleep(delay) => Next::TryAgain,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_grows_to_its_cap_with_jitter() {
        let max = Duration::from_secs(5);
        for failures in 1..40 {
            let delay = backoff(failures, max);
            let full = FIRST_DELAY
                .saturating_mul(1 << failures.saturating_sub(1).min(16))
                .min(max);
            assert!(
                delay >= full / 2 && delay <= full,
                "attempt {failures}: {delay:?}"
            );
        }
        assert!(backoff(1, max) <= FIRST_DELAY);
        assert!(backoff(30, max) >= max / 2);
    }

    #[tokio::test]
    async fn a_failure_waits_and_a_success_resets() {
        let (_open, mut closed) = watch::channel(false);
        let mut restarts = Restarts::new("test", Duration::from_secs(1));
        let before = tokio::time::Instant::now();
        let next = restarts
            .after::<()>(Err(BrokerError::Connection("down".into())), &mut closed)
            .await;
        assert!(matches!(next, Next::TryAgain));
        assert_eq!(restarts.failures, 1);
        assert!(before.elapsed() >= FIRST_DELAY / 2);
        assert!(matches!(
            restarts.after(Ok(7), &mut closed).await,
            Next::Started(7)
        ));
        assert_eq!(restarts.failures, 0);
    }

    #[tokio::test]
    async fn closing_ends_the_wait() {
        let (close, mut closed) = watch::channel(false);
        let mut restarts = Restarts::new("test", Duration::from_secs(3600));
        for _ in 0..20 {
            restarts.failures = restarts.failures.saturating_add(1);
        }
        let wait = restarts.after::<()>(Err(BrokerError::Connection("down".into())), &mut closed);
        let closer = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            close.send_replace(true);
        };
        let (next, ()) = tokio::join!(wait, closer);
        assert!(matches!(next, Next::Closed));
        assert!(matches!(
            restarts
                .after::<()>(Err(BrokerError::Closed), &mut closed)
                .await,
            Next::Closed
        ));
    }
}
