//! Retries of idempotent calls: exponential backoff with full jitter, at
//! least the server's `Retry-After`, never past the call's deadline, and
//! within a retry budget shared by every call to the target.
//!
//! The budget is tower's [`TpsBudget`]: each call deposits, each retry
//! withdraws, and a retry is allowed while the deposits of the last window
//! times the retry ratio, plus a small reserve per second, cover it. Under
//! a failing server the extra load retries add is so bounded to that ratio
//! instead of multiplying every call by the number of attempts.

use std::time::Duration;

use tower::retry::budget::{Budget, TpsBudget};

/// How idempotent calls are retried.
///
/// | setting | default |
/// |---|---|
/// | attempts per call, the first included | 3 ([`max_attempts`](Self::max_attempts)) |
/// | first backoff, doubled at each retry, full jitter | 50 ms ([`backoff`](Self::backoff)) |
/// | longest backoff | 2 s ([`backoff`](Self::backoff)) |
/// | retries as a share of recent calls | 20 % ([`budget`](Self::budget)) |
/// | retries allowed on top, per second | 10 ([`budget`](Self::budget)) |
/// | how long a call counts for the budget | 10 s ([`budget`](Self::budget)) |
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetrySettings {
    max_attempts: u32,
    base: Duration,
    max_backoff: Duration,
    ratio: f32,
    min_per_sec: u32,
    ttl: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_attempts: 3,
            base: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            ratio: 0.2,
            min_per_sec: 10,
            ttl: Duration::from_secs(10),
        }
    }
}

impl RetrySettings {
    /// Sets how many times a call is sent at most, the first included.
    ///
    /// # Panics
    ///
    /// If `attempts` is zero.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        assert!(
            attempts > 0,
            "RetrySettings::max_attempts must be more than zero"
        );
        self.max_attempts = attempts;
        self
    }

    /// Sets the backoff: the `n`th retry waits a random time up to
    /// `base * 2^(n-1)`, at most `max`, and at least the server's
    /// `Retry-After` when the reply carried one.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base = base;
        self.max_backoff = max.max(base);
        self
    }

    /// Sets the retry budget: retries may add at most `ratio` (0 to 1) of
    /// the calls made in the last `ttl` (1 to 60 s), plus `min_per_sec`
    /// retries per second so a quiet client can still retry.
    ///
    /// # Panics
    ///
    /// If `ratio` is not within 0 to 1 or `ttl` not within 1 to 60 s.
    pub fn budget(mut self, ratio: f32, min_per_sec: u32, ttl: Duration) -> Self {
        assert!(
            (0.0..=1.0).contains(&ratio),
            "RetrySettings::budget's ratio must be within 0 and 1"
        );
        assert!(
            (Duration::from_secs(1)..=Duration::from_secs(60)).contains(&ttl),
            "RetrySettings::budget's ttl must be within 1 and 60 seconds"
        );
        self.ratio = ratio;
        self.min_per_sec = min_per_sec;
        self.ttl = ttl;
        self
    }
}

/// The retry policy of one target: its settings and its budget.
pub(crate) struct RetryPolicy {
    settings: RetrySettings,
    budget: TpsBudget,
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl RetryPolicy {
    pub(crate) fn new(settings: RetrySettings) -> Self {
        RetryPolicy {
            settings,
            budget: TpsBudget::new(settings.ttl, settings.min_per_sec, settings.ratio),
        }
    }

    /// Counts a new call for the budget.
    pub(crate) fn deposit(&self) {
        self.budget.deposit();
    }

    /// How long to wait before attempt `attempt` + 1 (`attempt` counted
    /// from 1), or `None` when no retry is allowed: the attempts are used
    /// up, the wait would end past `left`, or the budget is spent.
    pub(crate) fn next_delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        left: Duration,
    ) -> Option<Duration> {
        if attempt >= self.settings.max_attempts {
            return None;
        }
        let delay =
            backoff(&self.settings, attempt, fastrand::f64()).max(retry_after.unwrap_or_default());
        // A retry that could not even start before the deadline is no retry.
        if delay >= left {
            return None;
        }
        self.budget.withdraw().then_some(delay)
    }
}

/// The jittered backoff before retry `attempt` (from 1): `unit` (0 to 1)
/// of `base * 2^(attempt-1)`, at most the longest backoff.
fn backoff(settings: &RetrySettings, attempt: u32, unit: f64) -> Duration {
    let ceiling = settings
        .base
        .saturating_mul(1 << (attempt - 1).min(20))
        .min(settings.max_backoff);
    ceiling.mul_f64(unit.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_longest_with_full_jitter() {
        let settings = RetrySettings::default();
        assert_eq!(backoff(&settings, 1, 1.0), Duration::from_millis(50));
        assert_eq!(backoff(&settings, 2, 1.0), Duration::from_millis(100));
        assert_eq!(backoff(&settings, 3, 0.5), Duration::from_millis(100));
        assert_eq!(backoff(&settings, 10, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(&settings, 40, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(&settings, 1, 0.0), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_at_the_attempts_the_deadline_and_the_budget() {
        let policy = RetryPolicy::new(RetrySettings::default().max_attempts(3).budget(
            0.5,
            0,
            Duration::from_secs(1),
        ));
        let left = Duration::from_secs(10);
        assert_eq!(policy.next_delay(1, None, left), None, "no deposit yet");
        for _ in 0..4 {
            policy.deposit();
        }
        assert!(policy.next_delay(1, None, left).is_some());
        assert!(policy.next_delay(2, None, left).is_some());
        assert_eq!(
            policy.next_delay(1, None, left),
            None,
            "4 calls pay for 2 retries"
        );
        for _ in 0..4 {
            policy.deposit();
        }
        assert_eq!(policy.next_delay(3, None, left), None, "3 attempts at most");
        let retry_after = Some(Duration::from_secs(2));
        assert_eq!(
            policy.next_delay(1, retry_after, Duration::from_secs(1)),
            None,
            "Retry-After past the deadline"
        );
        assert_eq!(
            policy.next_delay(1, retry_after, left),
            Some(Duration::from_secs(2)),
            "the server's Retry-After is longer than the backoff"
        );
    }
}
