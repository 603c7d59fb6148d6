//! The one rule for whether a failed call may be sent again.
//!
//! Every decision to send a call again, the client's own resend of an
//! idempotent call after a connection failure and any retry policy or
//! circuit breaker built on top, reads
//! [`CallError::retry_class`](crate::CallError::retry_class) rather than
//! matching on error variants itself, so a `text/plain` 500 from a proxy and a 500 problem document
//! from the service count the same.
//!
//! The rule, by what the caller observed:
//!
//! | observed | class | retryable | counts as a failure |
//! |---|---|---|---|
//! | no complete reply within the timeout | [`Timeout`](RetryClass::Timeout) | yes | yes |
//! | the connection could not be made or broke | [`Connection`](RetryClass::Connection) | yes | yes |
//! | a 5xx reply, problem document or not | [`ServerError`](RetryClass::ServerError) | yes | yes |
//! | a 429 reply, problem document or not | [`Throttled`](RetryClass::Throttled) | yes, after `Retry-After` | no |
//! | not sent: the circuit is open or the bulkhead full | [`NotSent`](RetryClass::NotSent) | later, not at once | no |
//! | a typed service error, whatever its status | [`Final`](RetryClass::Final) | no | no |
//! | any other reply (2xx, 3xx, 4xx), a reply that breaks the contract without a 5xx or 429 status, an argument that cannot be encoded | [`Final`](RetryClass::Final) | no | no |
//!
//! A typed service error is the service's deliberate answer: a caller that
//! wants to try again on one of its variants decides so on the typed value.
//! A 429 shows a healthy server protecting itself, so it is retryable but
//! does not count against the server's health. "Retryable" says only that
//! the same call may get a different answer: only an idempotent operation
//! may be sent again safely, and a retry loop backs off.

use std::time::{Duration, SystemTime};

/// The longest `Retry-After` a client reports by default: 5 minutes. A
/// server cannot make a caller that honours it wait longer; see
/// [`HttpTransport::max_retry_after`](crate::HttpTransport::max_retry_after).
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(5 * 60);

/// How a failed call counts for sending it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryClass {
    /// Sending the same call again would get the same answer: a typed
    /// service error, a 4xx other than 429, a success or redirect that
    /// breaks the contract, or an argument that cannot be encoded.
    Final,
    /// The connection could not be made, or broke before the reply arrived;
    /// the call may or may not have reached the server.
    Connection,
    /// No complete reply within the client's timeout; the call may have
    /// run.
    Timeout,
    /// The server, or a proxy in front of it, answered with a 5xx status,
    /// in a problem document or not.
    ServerError {
        /// The status received.
        status: u16,
        /// The reply's `Retry-After`, if it carried one (usually with 503).
        retry_after: Option<Duration>,
    },
    /// The server answered 429 Too Many Requests.
    Throttled {
        /// The reply's `Retry-After`, if it carried one.
        retry_after: Option<Duration>,
    },
    /// The client's own defences kept the call from being sent: the circuit
    /// to the target is open, or the bulkhead is full. A later call may go
    /// through; the client does not retry it itself.
    NotSent {
        /// When the circuit lets a call through again, if it is open.
        retry_after: Option<Duration>,
    },
}

impl RetryClass {
    /// The class of a reply with `status` that is not a typed service
    /// error.
    pub fn of_status(status: u16, retry_after: Option<Duration>) -> RetryClass {
        match status {
            429 => RetryClass::Throttled { retry_after },
            500..=599 => RetryClass::ServerError {
                status,
                retry_after,
            },
            _ => RetryClass::Final,
        }
    }

    /// Whether sending the same call again may get a different answer.
    pub fn is_retryable(self) -> bool {
        !matches!(self, RetryClass::Final)
    }

    /// Whether the failure says the server or the way to it is unhealthy,
    /// which is what a circuit breaker or a retry budget counts: timeouts,
    /// connection failures and 5xx replies.
    pub fn counts_as_failure(self) -> bool {
        matches!(
            self,
            RetryClass::Timeout | RetryClass::Connection | RetryClass::ServerError { .. }
        )
    }

    /// How long the server asked the caller to wait first, if it said.
    pub fn retry_after(self) -> Option<Duration> {
        match self {
            RetryClass::ServerError { retry_after, .. }
            | RetryClass::Throttled { retry_after }
            | RetryClass::NotSent { retry_after } => retry_after,
            _ => None,
        }
    }
}

/// Reads a `Retry-After` value (RFC 9110, section 10.2.3): a number of
/// seconds or an HTTP date, as a wait from `now`, at most `max`. A date in
/// the past is no wait; a value that is neither is `None`.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime, max: Duration) -> Option<Duration> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More seconds than a u64 holds is still "longer than `max`".
        Duration::from_secs(value.parse().unwrap_or(u64::MAX))
    } else {
        let date = httpdate::parse_http_date(value).ok()?;
        date.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{CallError, EncodeError, NoError, Problem, ProtocolError};

    #[test]
    fn statuses_are_classified_once() {
        assert_eq!(
            RetryClass::of_status(503, Some(Duration::from_secs(2))),
            RetryClass::ServerError {
                status: 503,
                retry_after: Some(Duration::from_secs(2))
            }
        );
        assert_eq!(
            RetryClass::of_status(429, None),
            RetryClass::Throttled { retry_after: None }
        );
        for status in [200, 201, 204, 302, 400, 404, 409, 422, 499, 600] {
            assert_eq!(
                RetryClass::of_status(status, None),
                RetryClass::Final,
                "{status}"
            );
        }
        for status in [500, 502, 503, 504, 599] {
            let class = RetryClass::of_status(status, None);
            assert!(
                class.is_retryable() && class.counts_as_failure(),
                "{status}"
            );
        }
        let throttled = RetryClass::of_status(429, Some(Duration::from_secs(1)));
        assert!(throttled.is_retryable());
        assert!(!throttled.counts_as_failure(), "a 429 is a healthy server");
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(1)));
        assert!(RetryClass::Timeout.counts_as_failure());
        assert!(RetryClass::Connection.counts_as_failure());
        assert!(!RetryClass::Final.is_retryable());
        assert!(!RetryClass::Final.counts_as_failure());
    }

    #[test]
    fn retry_after_is_seconds_or_a_date_and_capped() {
        let max = Duration::from_secs(300);
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let parse = |value| parse_retry_after(value, now, max);
        assert_eq!(parse("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse("86400"), Some(max), "capped");
        assert_eq!(parse("99999999999999999999999"), Some(max));
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:50:37 GMT"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse("Sun, 06 Nov 1994 08:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse("Mon, 07 Nov 1994 08:49:37 GMT"), Some(max));
        for bad in ["", "-1", "1.5", "soon", "+3"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    fn protocol(status: Option<u16>) -> CallError<NoError> {
        CallError::Protocol(ProtocolError {
            status,
            reason: "unexpected status without a problem document".to_owned(),
            body_excerpt: "upstream failed".to_owned(),
            retry_after: Some(Duration::from_secs(4)),
        })
    }

    #[test]
    fn a_5xx_is_retryable_whether_or_not_it_is_a_problem_document() {
        let text = protocol(Some(500));
        let document = CallError::<NoError>::Problem(Box::new(Problem::new(500, "Oops")));
        assert!(text.is_retryable(), "a text/plain 500");
        assert!(document.is_retryable(), "a 500 problem document");
        assert_eq!(
            text.retry_class(),
            RetryClass::ServerError {
                status: 500,
                retry_after: Some(Duration::from_secs(4))
            }
        );
        assert_eq!(text.retry_after(), Some(Duration::from_secs(4)));
        assert!(text.retry_class().counts_as_failure());
        assert!(protocol(Some(429)).is_retryable());
        assert!(!protocol(Some(429)).retry_class().counts_as_failure());
    }

    #[test]
    fn answers_that_would_repeat_are_final() {
        for status in [None, Some(200), Some(302), Some(404)] {
            let error = protocol(status);
            assert_eq!(error.retry_class(), RetryClass::Final, "{error}");
            assert_eq!(error.retry_after(), None);
        }
        let problem = CallError::<NoError>::Problem(Box::new(Problem::new(422, "Invalid")));
        assert!(!problem.is_retryable());
        let encode = CallError::<NoError>::Encode(EncodeError {
            what: "header `x`".to_owned(),
            reason: "a line break".to_owned(),
        });
        assert!(!encode.is_retryable());
        #[derive(Debug)]
        struct Unavailable;
        let typed: CallError<Unavailable> = CallError::Service(Unavailable);
        assert_eq!(typed.retry_class(), RetryClass::Final, "typed errors never");
        assert!(CallError::<NoError>::Timeout(Duration::from_secs(1)).is_retryable());
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let connection = CallError::<NoError>::Connection(Box::new(refused));
        assert_eq!(connection.retry_class(), RetryClass::Connection);
    }
}
