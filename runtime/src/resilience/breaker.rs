//! A circuit breaker: closed, open after a failure rate over a rolling
//! window with a minimum number of calls, half-open with a bounded number
//! of probes after a cool-down.
//!
//! It counts outcomes by [`RetryClass::counts_as_failure`]: timeouts,
//! connection failures and 5xx replies are failures; every other answer
//! (a success, a typed service error, a 4xx, a 429) shows a server that
//! answers, and counts as a success. Time is `tokio::time`, so tests run
//! it on paused time.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::RetryClass;
use crate::observe::metrics::{self, BreakerState};

/// How a [`CircuitBreaker`] decides to open and to close again.
///
/// | setting | default |
/// |---|---|
/// | failure rate that opens the circuit | 50 % ([`failure_rate`](Self::failure_rate)) |
/// | rolling window the rate is measured over | 10 s ([`window`](Self::window)) |
/// | fewest calls in the window before it may open | 20 ([`min_calls`](Self::min_calls)) |
/// | cool-down before probes are let through | 5 s ([`cool_down`](Self::cool_down)) |
/// | probes in flight while half-open, and successes that close it | 3 ([`probes`](Self::probes)) |
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerSettings {
    failure_rate: f64,
    window: Duration,
    min_calls: u32,
    cool_down: Duration,
    probes: u32,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            failure_rate: 0.5,
            window: Duration::from_secs(10),
            min_calls: 20,
            cool_down: Duration::from_secs(5),
            probes: 3,
        }
    }
}

impl BreakerSettings {
    /// Sets the share of failed calls in the window, from 0 to 1, at or
    /// above which the circuit opens.
    ///
    /// # Panics
    ///
    /// If `rate` is not more than 0 and at most 1.
    pub fn failure_rate(mut self, rate: f64) -> Self {
        assert!(
            rate > 0.0 && rate <= 1.0,
            "BreakerSettings::failure_rate must be more than 0 and at most 1"
        );
        self.failure_rate = rate;
        self
    }

    /// Sets the rolling window the failure rate is measured over; it moves
    /// in tenths of itself.
    ///
    /// # Panics
    ///
    /// If `window` is shorter than 10 ms.
    pub fn window(mut self, window: Duration) -> Self {
        assert!(
            window >= Duration::from_millis(10),
            "BreakerSettings::window must be at least 10 ms"
        );
        self.window = window;
        self
    }

    /// Sets the fewest calls in the window before the rate may open the
    /// circuit, so a few failures of a quiet client do not.
    ///
    /// # Panics
    ///
    /// If `calls` is zero.
    pub fn min_calls(mut self, calls: u32) -> Self {
        assert!(
            calls > 0,
            "BreakerSettings::min_calls must be more than zero"
        );
        self.min_calls = calls;
        self
    }

    /// Sets how long an open circuit fails calls at once before letting
    /// probes through.
    pub fn cool_down(mut self, cool_down: Duration) -> Self {
        self.cool_down = cool_down;
        self
    }

    /// Sets how many probes may be in flight while half-open; that many
    /// successes in a row close the circuit, one failure opens it again.
    ///
    /// # Panics
    ///
    /// If `probes` is zero.
    pub fn probes(mut self, probes: u32) -> Self {
        assert!(probes > 0, "BreakerSettings::probes must be more than zero");
        self.probes = probes;
        self
    }
}

/// The state of a circuit, as [`HttpTransport::circuit_state`](crate::HttpTransport::circuit_state)
/// reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls go through; outcomes are counted.
    Closed,
    /// Calls fail at once with [`CallError::CircuitOpen`](crate::CallError::CircuitOpen).
    Open {
        /// How long until probes are let through.
        retry_in: Duration,
    },
    /// A bounded number of probes go through; the others fail at once.
    HalfOpen,
}

impl fmt::Display for CircuitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CircuitState::Closed => f.write_str("closed"),
            CircuitState::Open { retry_in } => write!(f, "open, probes in {retry_in:?}"),
            CircuitState::HalfOpen => f.write_str("half-open"),
        }
    }
}

/// A call refused by an open circuit, without being sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitOpen {
    /// The target the circuit guards (a base URL).
    pub target: Arc<str>,
    /// How long until the circuit lets a probe through; zero while
    /// half-open with every probe slot taken.
    pub retry_in: Duration,
}

impl fmt::Display for CircuitOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.retry_in.is_zero() {
            write!(
                f,
                "the circuit to {} is half-open and its probes are in flight; the call was not sent",
                self.target
            )
        } else {
            write!(
                f,
                "the circuit to {} is open after repeated failures; the call was not sent, probes resume in {:?}",
                self.target, self.retry_in
            )
        }
    }
}

impl std::error::Error for CircuitOpen {}

/// The number of buckets the rolling window is cut into.
const BUCKETS: usize = 10;

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    calls: u32,
    failures: u32,
}

#[derive(Debug)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { in_flight: u32, successes: u32 },
}

#[derive(Debug)]
struct State {
    phase: Phase,
    /// Bumped at every transition, so an outcome from a call let through
    /// in an earlier phase is not counted in this one.
    generation: u64,
    buckets: [Bucket; BUCKETS],
    /// The bucket being written, and when it started.
    current: usize,
    current_start: Instant,
}

/// A circuit breaker for one target, shared by the clones of what holds it.
#[derive(Debug)]
pub struct CircuitBreaker {
    settings: BreakerSettings,
    target: Arc<str>,
    state: Mutex<State>,
    /// The state's generation shifted left by one, with the low bit set
    /// while the circuit is closed: a call through a closed circuit gets
    /// its permit from this alone, without the lock or the clock. Written
    /// under the lock at every transition.
    closed: AtomicU64,
}

/// Leave to send one call; hand it back with the outcome through
/// [`CircuitBreaker::record`]. Dropped unrecorded (a cancelled call), it
/// frees its probe slot without counting.
#[derive(Debug)]
pub struct BreakerPermit<'a> {
    breaker: &'a CircuitBreaker,
    generation: u64,
    probe: bool,
    recorded: bool,
}

impl Drop for BreakerPermit<'_> {
    fn drop(&mut self) {
        if self.probe && !self.recorded {
            let mut state = self.breaker.lock();
            if state.generation == self.generation {
                if let Phase::HalfOpen { in_flight, .. } = &mut state.phase {
                    *in_flight = in_flight.saturating_sub(1);
                }
            }
        }
    }
}

impl CircuitBreaker {
    /// A closed breaker guarding `target`.
    pub fn new(target: impl Into<Arc<str>>, settings: BreakerSettings) -> Self {
        let target = target.into();
        metrics::breaker_state(&target, BreakerState::Closed, false);
        CircuitBreaker {
            settings,
            target,
            state: Mutex::new(State {
                phase: Phase::Closed,
                generation: 0,
                buckets: [Bucket::default(); BUCKETS],
                current: 0,
                current_start: Instant::now(),
            }),
            closed: AtomicU64::new(closed_word(0, true)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent after every statement: a panic elsewhere
        // while it was held leaves nothing half-done.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The settings.
    pub fn settings(&self) -> &BreakerSettings {
        &self.settings
    }

    /// The current state.
    pub fn state(&self) -> CircuitState {
        let now = Instant::now();
        match self.lock().phase {
            Phase::Closed => CircuitState::Closed,
            Phase::Open { until } if until > now => CircuitState::Open {
                retry_in: until - now,
            },
            // The cool-down is over: the next call is a probe.
            Phase::Open { .. } | Phase::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// Leave to send a call, or why not.
    pub fn try_acquire(&self) -> Result<BreakerPermit<'_>, CircuitOpen> {
        let closed = self.closed.load(Ordering::Acquire);
        if closed & 1 == 1 {
            // Closed: a permit of this generation. Read just before a
            // transition, it is a call let through before it, whose
            // outcome `record` leaves out of the next phase.
            return Ok(BreakerPermit {
                breaker: self,
                generation: closed >> 1,
                probe: false,
                recorded: false,
            });
        }
        let now = Instant::now();
        let mut state = self.lock();
        let probe = match &mut state.phase {
            Phase::Closed => false,
            Phase::Open { until } if *until > now => {
                return Err(CircuitOpen {
                    target: self.target.clone(),
                    retry_in: *until - now,
                })
            }
            Phase::Open { .. } => {
                self.transition(
                    &mut state,
                    now,
                    Phase::HalfOpen {
                        in_flight: 1,
                        successes: 0,
                    },
                );
                true
            }
            Phase::HalfOpen { in_flight, .. } if *in_flight < self.settings.probes => {
                *in_flight += 1;
                true
            }
            Phase::HalfOpen { .. } => {
                return Err(CircuitOpen {
                    target: self.target.clone(),
                    retry_in: Duration::ZERO,
                })
            }
        };
        Ok(BreakerPermit {
            breaker: self,
            generation: state.generation,
            probe,
            recorded: false,
        })
    }

    /// Counts the outcome of the call `permit` let through.
    pub fn record(&self, mut permit: BreakerPermit<'_>, outcome: RetryClass) {
        permit.recorded = true;
        let failed = outcome.counts_as_failure();
        let now = Instant::now();
        let mut state = self.lock();
        if state.generation != permit.generation {
            return;
        }
        match &mut state.phase {
            Phase::Closed => {
                self.advance(&mut state, now);
                let current = state.current;
                let bucket = &mut state.buckets[current];
                bucket.calls += 1;
                bucket.failures += u32::from(failed);
                let (calls, failures) = state
                    .buckets
                    .iter()
                    .fold((0, 0), |(c, f), b| (c + b.calls, f + b.failures));
                if failed
                    && calls >= self.settings.min_calls
                    && f64::from(failures) >= self.settings.failure_rate * f64::from(calls)
                {
                    tracing::warn!(
                        target: "accord::circuit",
                        target_url = %self.target,
                        calls,
                        failures,
                        cool_down = ?self.settings.cool_down,
                        "circuit opened"
                    );
                    let until = now + self.settings.cool_down;
                    self.transition(&mut state, now, Phase::Open { until });
                }
            }
            Phase::HalfOpen {
                in_flight,
                successes,
            } => {
                *in_flight = in_flight.saturating_sub(1);
                if failed {
                    tracing::warn!(
                        target: "accord::circuit",
                        target_url = %self.target,
                        cool_down = ?self.settings.cool_down,
                        "circuit opened again: a probe failed"
                    );
                    let until = now + self.settings.cool_down;
                    self.transition(&mut state, now, Phase::Open { until });
                } else {
                    *successes += 1;
                    if *successes >= self.settings.probes {
                        tracing::info!(target: "accord::circuit", target_url = %self.target, "circuit closed");
                        self.transition(&mut state, now, Phase::Closed);
                    }
                }
            }
            Phase::Open { .. } => {}
        }
    }

    fn transition(&self, state: &mut State, now: Instant, phase: Phase) {
        if matches!(phase, Phase::HalfOpen { .. }) {
            tracing::info!(target: "accord::circuit", target_url = %self.target, "circuit half-open: sending probes");
        }
        let entered = match phase {
            Phase::Closed => BreakerState::Closed,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
            Phase::Open { .. } => BreakerState::Open,
        };
        metrics::breaker_state(&self.target, entered, true);
        let closed = matches!(phase, Phase::Closed);
        state.phase = phase;
        state.generation += 1;
        self.closed
            .store(closed_word(state.generation, closed), Ordering::Release);
        state.buckets = [Bucket::default(); BUCKETS];
        state.current = 0;
        state.current_start = now;
    }

    /// Moves the window to `now`, emptying the buckets it passed.
    fn advance(&self, state: &mut State, now: Instant) {
        let width = self.settings.window / BUCKETS as u32;
        let elapsed = now.saturating_duration_since(state.current_start);
        if elapsed < width {
            return;
        }
        let steps = (elapsed.as_nanos() / width.as_nanos().max(1)) as usize;
        for step in 1..=steps.min(BUCKETS) {
            state.buckets[(state.current + step) % BUCKETS] = Bucket::default();
        }
        state.current = (state.current + steps) % BUCKETS;
        state.current_start += width * steps as u32;
    }
}

/// What [`CircuitBreaker::closed`] holds for `generation`.
fn closed_word(generation: u64, closed: bool) -> u64 {
    (generation << 1) | u64::from(closed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAIL: RetryClass = RetryClass::Connection;
    const OK: RetryClass = RetryClass::Final;

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(
            "http://c.internal",
            BreakerSettings::default()
                .min_calls(4)
                .failure_rate(0.5)
                .window(Duration::from_secs(10))
                .cool_down(Duration::from_secs(5))
                .probes(2),
        )
    }

    fn call(breaker: &CircuitBreaker, outcome: RetryClass) {
        let permit = breaker
            .try_acquire()
            .expect("the circuit lets the call through");
        breaker.record(permit, outcome);
    }

    fn open(breaker: &CircuitBreaker) {
        for _ in 0..4 {
            call(breaker, FAIL);
        }
        assert!(matches!(breaker.state(), CircuitState::Open { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn stays_closed_below_the_minimum_number_of_calls() {
        let breaker = breaker();
        for _ in 0..3 {
            call(&breaker, FAIL);
        }
        assert_eq!(
            breaker.state(),
            CircuitState::Closed,
            "3 of 3 failed, but 4 are needed"
        );
        call(&breaker, FAIL);
        assert_eq!(
            breaker.state(),
            CircuitState::Open {
                retry_in: Duration::from_secs(5)
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stays_closed_below_the_failure_rate() {
        let breaker = breaker();
        for _ in 0..10 {
            call(&breaker, OK);
            call(&breaker, OK);
            call(&breaker, FAIL);
        }
        assert_eq!(
            breaker.state(),
            CircuitState::Closed,
            "a third failed, under half"
        );
        // Typed errors, 4xx and 429 are answers, not failures.
        for outcome in [
            RetryClass::Final,
            RetryClass::Throttled { retry_after: None },
        ] {
            for _ in 0..20 {
                call(&breaker, outcome);
            }
        }
        assert_eq!(breaker.state(), CircuitState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn counts_timeouts_connection_failures_and_5xx() {
        for outcome in [
            RetryClass::Timeout,
            RetryClass::Connection,
            RetryClass::of_status(503, None),
            RetryClass::of_status(500, None),
        ] {
            let breaker = breaker();
            for _ in 0..4 {
                call(&breaker, outcome);
            }
            assert!(
                matches!(breaker.state(), CircuitState::Open { .. }),
                "{outcome:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn old_failures_leave_the_window() {
        let breaker = breaker();
        for _ in 0..3 {
            call(&breaker, FAIL);
        }
        tokio::time::advance(Duration::from_secs(11)).await;
        call(&breaker, FAIL);
        assert_eq!(
            breaker.state(),
            CircuitState::Closed,
            "the first three failures are more than a window old"
        );
        tokio::time::advance(Duration::from_secs(5)).await;
        for _ in 0..3 {
            call(&breaker, FAIL);
        }
        assert!(
            matches!(breaker.state(), CircuitState::Open { .. }),
            "four failures within one window"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_circuit_fails_at_once_and_says_when_it_retries() {
        let breaker = breaker();
        open(&breaker);
        tokio::time::advance(Duration::from_secs(2)).await;
        let refused = breaker.try_acquire().unwrap_err();
        assert_eq!(refused.retry_in, Duration::from_secs(3));
        assert_eq!(&*refused.target, "http://c.internal");
        assert!(refused.to_string().contains("open"), "{refused}");
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_after_the_cool_down_with_bounded_probes() {
        let breaker = breaker();
        open(&breaker);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(breaker.state(), CircuitState::HalfOpen);
        let first = breaker.try_acquire().expect("a probe");
        let second = breaker.try_acquire().expect("a second probe");
        let third = breaker.try_acquire().unwrap_err();
        assert_eq!(third.retry_in, Duration::ZERO, "probes in flight");
        drop(second); // a cancelled probe frees its slot
        let second = breaker.try_acquire().expect("the freed slot");
        breaker.record(first, OK);
        assert_eq!(
            breaker.state(),
            CircuitState::HalfOpen,
            "one success of two"
        );
        breaker.record(second, OK);
        assert_eq!(breaker.state(), CircuitState::Closed);
        call(&breaker, FAIL);
        assert_eq!(breaker.state(), CircuitState::Closed, "a fresh window");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_opens_it_again() {
        let breaker = breaker();
        open(&breaker);
        tokio::time::advance(Duration::from_secs(5)).await;
        let probe = breaker.try_acquire().expect("a probe");
        let other = breaker.try_acquire().expect("a second probe");
        breaker.record(probe, RetryClass::Timeout);
        assert_eq!(
            breaker.state(),
            CircuitState::Open {
                retry_in: Duration::from_secs(5)
            }
        );
        // The other probe's outcome belongs to the phase that ended.
        breaker.record(other, OK);
        assert!(matches!(breaker.state(), CircuitState::Open { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn outcomes_of_calls_let_through_before_it_opened_are_ignored() {
        let breaker = breaker();
        let late = breaker.try_acquire().unwrap();
        open(&breaker);
        tokio::time::advance(Duration::from_secs(5)).await;
        let probe = breaker.try_acquire().unwrap();
        breaker.record(late, FAIL);
        assert_eq!(breaker.state(), CircuitState::HalfOpen);
        breaker.record(probe, OK);
        assert_eq!(breaker.state(), CircuitState::HalfOpen);
    }
}
