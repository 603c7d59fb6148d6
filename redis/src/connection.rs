//! The connection to Redis: made on first use, so a store can be built
//! while Redis is down, then kept by redis-rs's connection manager, which
//! reconnects by itself.
//!
//! Every wait is bounded: a connection attempt by the connect timeout, a
//! command by the response timeout. After a failed attempt the next one
//! waits a backoff, from [`RECONNECT_BACKOFF_FIRST`] doubling up to
//! [`RECONNECT_BACKOFF_MAX`]; calls in between fail at once instead of
//! each waiting for a connection that is unlikely to come.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::{redact, RedisDedupeError};
use crate::options::RedisDedupeOptions;

/// The wait after the first failed connection attempt: 100 ms.
pub const RECONNECT_BACKOFF_FIRST: Duration = Duration::from_millis(100);

/// The longest wait between connection attempts: 5 seconds.
pub const RECONNECT_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// How many times the connection manager tries to reconnect a lost
/// connection before a command fails; the next command starts again.
const RECONNECT_RETRIES: usize = 3;

/// A connection to one Redis, made on first use.
pub(crate) struct Connection {
    client: redis::Client,
    url: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    manager: Option<ConnectionManager>,
    failures: u32,
    retry_at: Option<Instant>,
    last_error: String,
}

impl Connection {
    /// A connection to `url`, not made yet.
    pub(crate) fn new(
        url: &str,
        options: &RedisDedupeOptions,
    ) -> Result<Connection, RedisDedupeError> {
        let client = redis::Client::open(url).map_err(|e| RedisDedupeError::InvalidUrl {
            url: redact(url),
            reason: e.to_string(),
        })?;
        Ok(Connection {
            client,
            url: redact(url),
            connect_timeout: options.connect_timeout,
            response_timeout: options.response_timeout,
            state: Mutex::new(State::default()),
        })
    }

    /// The URL, without its password.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The longest wait for an answer to one command.
    pub(crate) fn response_timeout(&self) -> Duration {
        self.response_timeout
    }

    /// The connection, made now if it was not; within the connect
    /// timeout.
    pub(crate) async fn get(&self) -> Result<ConnectionManager, RedisDedupeError> {
        // Calls that arrive while another makes the connection wait for
        // its outcome, no longer than an attempt may take.
        let mut state = tokio::time::timeout(self.connect_timeout, self.state.lock())
            .await
            .map_err(|_| self.timed_out("connection"))?;
        if let Some(manager) = &state.manager {
            return Ok(manager.clone());
        }
        if let Some(retry_at) = state.retry_at {
            let now = Instant::now();
            if now < retry_at {
                return Err(RedisDedupeError::Backoff {
                    url: self.url.clone(),
                    last_error: state.last_error.clone(),
                    retry_in: retry_at - now,
                });
            }
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.response_timeout))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_max_delay(RECONNECT_BACKOFF_MAX);
        let attempt = ConnectionManager::new_with_config(self.client.clone(), config);
        let error = match tokio::time::timeout(self.connect_timeout, attempt).await {
            Ok(Ok(manager)) => {
                *state = State {
                    manager: Some(manager.clone()),
                    ..State::default()
                };
                return Ok(manager);
            }
            Ok(Err(error)) => self.failed(&error),
            Err(_) => self.timed_out("connection"),
        };
        state.failures = state.failures.saturating_add(1);
        state.retry_at = Some(Instant::now() + backoff(state.failures));
        state.last_error = error.to_string();
        Err(error)
    }

    /// `error` from Redis or the connection, with the address.
    pub(crate) fn failed(&self, error: &redis::RedisError) -> RedisDedupeError {
        RedisDedupeError::Redis {
            url: self.url.clone(),
            reason: error.to_string(),
        }
    }

    /// No `what` within its timeout.
    pub(crate) fn timed_out(&self, what: &'static str) -> RedisDedupeError {
        let after = if what == "connection" {
            self.connect_timeout
        } else {
            self.response_timeout
        };
        RedisDedupeError::TimedOut {
            url: self.url.clone(),
            what,
            after,
        }
    }
}

/// The wait after `failures` failed attempts in a row.
fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    RECONNECT_BACKOFF_FIRST
        .saturating_mul(1 << doublings)
        .min(RECONNECT_BACKOFF_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_its_bound() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(3), Duration::from_millis(400));
        assert_eq!(backoff(7), RECONNECT_BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX), RECONNECT_BACKOFF_MAX);
    }
}
