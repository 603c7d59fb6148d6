//! What can go wrong talking to Redis, said with the address.

use std::fmt;
use std::time::Duration;

/// Why a [`RedisDedupe`](crate::RedisDedupe) could not do what it was
/// asked.
///
/// The [`DedupeStore`](accord::events::DedupeStore) methods never return
/// it: they log it and fall back (see the crate documentation).
/// [`RedisDedupe::new`](crate::RedisDedupe::new) and
/// [`RedisDedupe::ping`](crate::RedisDedupe::ping) do, so that a service
/// can refuse to start without its store.
#[derive(Debug)]
pub enum RedisDedupeError {
    /// The URL is not a Redis URL.
    InvalidUrl {
        /// The URL, without its password.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Redis could not be reached, or refused a command.
    Redis {
        /// The URL, without its password.
        url: String,
        /// What Redis or the connection said.
        reason: String,
    },
    /// Redis did not answer in time.
    TimedOut {
        /// The URL, without its password.
        url: String,
        /// What was waited for.
        what: &'static str,
        /// How long.
        after: Duration,
    },
    /// Connecting failed a moment ago; the next attempt waits for a
    /// backoff instead of trying on every call.
    Backoff {
        /// The URL, without its password.
        url: String,
        /// Why the last attempt failed.
        last_error: String,
        /// How long until the next attempt.
        retry_in: Duration,
    },
}

impl fmt::Display for RedisDedupeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisDedupeError::InvalidUrl { url, reason } => {
                write!(
                    f,
                    "`{url}` is not a Redis URL (redis://host:port/db): {reason}"
                )
            }
            RedisDedupeError::Redis { url, reason } => write!(f, "Redis at {url}: {reason}"),
            RedisDedupeError::TimedOut { url, what, after } => {
                write!(f, "Redis at {url}: no {what} within {after:?}")
            }
            RedisDedupeError::Backoff {
                url,
                last_error,
                retry_in,
            } => write!(
                f,
                "Redis at {url} could not be reached ({last_error}); next attempt in {retry_in:?}"
            ),
        }
    }
}

impl std::error::Error for RedisDedupeError {}

/// `url` with any password replaced by `***`, fit for logs and errors.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            // A user name is kept; anything else in the user info may be
            // a secret.
            let user = userinfo.split_once(':').map_or("", |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            redact("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
        assert_eq!(
            redact("redis://app:s3cret@cache:6379/2"),
            "redis://app:***@cache:6379/2"
        );
        assert_eq!(
            redact("rediss://:s3cret@cache:6380"),
            "rediss://:***@cache:6380"
        );
        assert_eq!(redact("redis://s3cret@cache"), "redis://:***@cache");
    }
}
