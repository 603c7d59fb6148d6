//! The defences of a client's synchronous calls against a target that is
//! slow or failing, so its trouble does not spread to the caller:
//!
//! - a [circuit breaker](CircuitBreaker) fails calls at once while the
//!   target keeps failing, and lets a few probes through after a cool-down;
//! - [retries](RetrySettings) of idempotent calls back off with jitter,
//!   honour `Retry-After`, stay within the call's deadline and within a
//!   budget that bounds the extra load they add;
//! - a [bulkhead](BulkheadSettings) bounds the calls in flight to the
//!   target, and a call beyond it waits only briefly.
//!
//! A transport that has [`Defences`] hands them to the client through
//! [`Transport::defences`](crate::Transport::defences); the client applies
//! them around each call. [`HttpTransport`](crate::HttpTransport) holds one
//! set per transport, shared by its clones and by every client built on
//! them: one breaker, one budget and one bulkhead per base URL.

mod breaker;
mod bulkhead;
mod retry;

use std::sync::Arc;

pub use self::breaker::{
    BreakerPermit, BreakerSettings, CircuitBreaker, CircuitOpen, CircuitState,
};
pub(crate) use self::bulkhead::{Acquired, Bulkhead};
pub use self::bulkhead::{BulkheadFull, BulkheadSettings};
pub(crate) use self::retry::RetryPolicy;
pub use self::retry::RetrySettings;

/// Which defences guard the calls to one target; each can be turned off
/// with `None`. [`Default`] turns all three on with their defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DefenceSettings {
    /// The circuit breaker.
    pub breaker: Option<BreakerSettings>,
    /// Retries of idempotent calls. Off, an idempotent call is still sent
    /// once more after a connection failure, within its time.
    pub retries: Option<RetrySettings>,
    /// The bulkhead.
    pub bulkhead: Option<BulkheadSettings>,
}

impl Default for DefenceSettings {
    fn default() -> Self {
        DefenceSettings {
            breaker: Some(BreakerSettings::default()),
            retries: Some(RetrySettings::default()),
            bulkhead: Some(BulkheadSettings::default()),
        }
    }
}

impl DefenceSettings {
    /// No breaker, no retry policy, no bulkhead.
    pub fn off() -> Self {
        DefenceSettings {
            breaker: None,
            retries: None,
            bulkhead: None,
        }
    }
}

/// The defences of one target, shared by every client that calls it.
#[derive(Debug)]
pub struct Defences {
    pub(crate) breaker: Option<CircuitBreaker>,
    pub(crate) retries: Option<RetryPolicy>,
    pub(crate) bulkhead: Option<Bulkhead>,
}

impl Defences {
    /// The defences for `target` (a name for errors and tracing, such as a
    /// base URL).
    pub fn new(target: impl Into<Arc<str>>, settings: DefenceSettings) -> Self {
        let target = target.into();
        Defences {
            breaker: settings
                .breaker
                .map(|s| CircuitBreaker::new(target.clone(), s)),
            retries: settings.retries.map(RetryPolicy::new),
            bulkhead: settings.bulkhead.map(|s| Bulkhead::new(target, s)),
        }
    }

    /// The breaker's state; `None` without a breaker.
    pub fn circuit_state(&self) -> Option<CircuitState> {
        self.breaker.as_ref().map(CircuitBreaker::state)
    }

    /// The calls in flight through the bulkhead; `None` without one.
    pub fn in_flight(&self) -> Option<usize> {
        self.bulkhead.as_ref().map(Bulkhead::in_flight)
    }
}
