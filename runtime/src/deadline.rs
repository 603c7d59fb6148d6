//! Deadlines that travel with a call.
//!
//! A client sends the time it has left as a relative timeout, the header
//! [`TIMEOUT_HEADER`] (`accord-timeout`) holding whole milliseconds, over
//! HTTP and in a broker request's message headers alike. Relative, so that
//! the clocks of caller and server need not agree (gRPC's `grpc-timeout`
//! works the same way). The server turns it into the call's
//! [`Context::deadline`](crate::Context::deadline) as the call arrives; a call that arrives with no
//! time left is answered at once with a 504 problem of type
//! [`DEADLINE_EXCEEDED`] and its handler does not run, and a handler still
//! running when the deadline passes is dropped and the call answered the
//! same way. A client used inside a handler takes the smaller of its own
//! timeout and the time left of the call being served, so a chain of calls
//! never works past the first caller's deadline.

use std::cell::RefCell;
use std::time::Duration;

use http::HeaderValue;
#[cfg(test)]
use tokio::time::Instant;

#[cfg(test)]
use crate::context::Context;
use crate::error::{FieldError, Location, Problem, INVALID_REQUEST};
use crate::wire::Reply;

/// The header that carries the caller's time left, in whole milliseconds.
pub const TIMEOUT_HEADER: &str = "accord-timeout";

/// The most digits an `accord-timeout` value may have: 8, so at most
/// 99,999,999 ms (about 27.8 hours). A longer value is refused with a 400
/// problem rather than parsed.
pub const MAX_TIMEOUT_DIGITS: usize = 8;

/// The longest timeout the header can say.
pub const MAX_TIMEOUT: Duration = Duration::from_millis(99_999_999);

/// The problem type of a call answered because its deadline passed.
pub const DEADLINE_EXCEEDED: &str = "urn:accord:problem:deadline-exceeded";

/// Parses an `accord-timeout` value: 1 to [`MAX_TIMEOUT_DIGITS`] ASCII
/// digits, nothing else (no sign, unit, space or fraction).
pub fn parse_timeout(value: &[u8]) -> Result<Duration, String> {
    if value.is_empty() || value.len() > MAX_TIMEOUT_DIGITS || !value.iter().all(u8::is_ascii_digit)
    {
        return Err(format!(
            "expected whole milliseconds, 1 to {MAX_TIMEOUT_DIGITS} digits"
        ));
    }
    let millis = value
        .iter()
        .fold(0u64, |n, digit| n * 10 + u64::from(digit - b'0'));
    Ok(Duration::from_millis(millis))
}

/// The `accord-timeout` value for `remaining`: whole milliseconds, rounded
/// down (the server must not believe it has more time than the caller),
/// capped at [`MAX_TIMEOUT`].
///
/// The last value made on each thread is kept and shared: a client's first
/// attempt sends its whole timeout, the same value call after call, which
/// then costs no allocation.
pub fn timeout_value(remaining: Duration) -> HeaderValue {
    thread_local! {
        static LAST: RefCell<Option<(u64, HeaderValue)>> = const { RefCell::new(None) };
    }
    let millis = remaining.min(MAX_TIMEOUT).as_millis() as u64;
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((kept, value)) if *kept == millis => value.clone(),
            _ => {
                // Shared bytes: a clone of the kept value is a count, not a copy.
                let value = HeaderValue::from_maybe_shared(bytes::Bytes::from(millis.to_string()))
                    .expect("digits are a valid header value");
                *last = Some((millis, value.clone()));
                value
            }
        }
    })
}

/// Reads the call's `accord-timeout` into its deadline. `Err` is the reply
/// that answers the call at once: 400 for a malformed header, 504 for a
/// deadline already passed.
#[cfg(test)]
pub(crate) fn receive(context: &mut Context) -> Result<(), Reply> {
    let mut values = context.headers().get_all(TIMEOUT_HEADER).iter();
    let first = values.next();
    let again = values.next().is_some();
    if let Some(timeout) = timeout_sent(first, again)? {
        context.shorten_deadline(Instant::now() + timeout);
    }
    Ok(())
}

/// The time a call has left by its `accord-timeout`, given the header's
/// first value and whether it came again; `None` without one, to be made
/// the call's deadline as it arrives. `Err`
/// is the reply that answers the call at once: 400 for a malformed or
/// repeated header, 504 for a deadline already passed.
pub(crate) fn timeout_sent(
    first: Option<&HeaderValue>,
    again: bool,
) -> Result<Option<Duration>, Reply> {
    let Some(value) = first else {
        return Ok(None);
    };
    let parsed = if again {
        Err("sent more than once; send one value".to_owned())
    } else {
        parse_timeout(value.as_bytes())
    };
    let timeout = parsed.map_err(|reason| {
        let error = FieldError {
            location: Location::Header,
            field: TIMEOUT_HEADER.to_owned(),
            reason,
        };
        let mut problem = Problem::new(400, "Invalid request").with_detail(error.to_string());
        problem.type_ = INVALID_REQUEST.to_owned();
        problem.errors.push(error);
        Reply::problem(&problem)
    })?;
    if timeout.is_zero() {
        return Err(exceeded(
            "the caller's deadline had passed when the call arrived; the handler did not run",
        ));
    }
    Ok(Some(timeout))
}

/// The answer to a call whose handler was still running at its deadline.
pub(crate) fn exceeded_while_running() -> Reply {
    tracing::warn!("the caller's deadline passed while the handler ran; the handler was dropped");
    exceeded("the caller's deadline passed while the handler ran; the handler was stopped")
}

/// Whether `reply` is a server's answer that the call's deadline passed.
pub fn is_exceeded(reply: &Reply) -> bool {
    #[derive(serde::Deserialize)]
    struct Type<'a> {
        #[serde(rename = "type", borrow)]
        type_: std::borrow::Cow<'a, str>,
    }
    reply.status == 504
        && serde_json::from_slice::<Type<'_>>(&reply.body)
            .is_ok_and(|p| p.type_ == DEADLINE_EXCEEDED)
}

fn exceeded(detail: &str) -> Reply {
    let mut problem = Problem::new(504, "Deadline Exceeded").with_detail(detail);
    problem.type_ = DEADLINE_EXCEEDED.to_owned();
    Reply::problem(&problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_digits_only_within_the_bound() {
        assert_eq!(parse_timeout(b"0"), Ok(Duration::ZERO));
        assert_eq!(parse_timeout(b"1500"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_timeout(b"99999999"), Ok(MAX_TIMEOUT));
        for bad in [
            &b""[..],
            b"100000000",
            b"-5",
            b"+5",
            b" 5",
            b"5 ",
            b"5ms",
            b"1.5",
            b"0x10",
            "５".as_bytes(),
        ] {
            let error = parse_timeout(bad).unwrap_err();
            assert!(error.contains("whole milliseconds"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn the_value_sent_rounds_down_and_is_capped() {
        assert_eq!(timeout_value(Duration::from_micros(2_999_999)), "2999");
        assert_eq!(timeout_value(Duration::from_secs(10 * 86_400)), "99999999");
        assert_eq!(
            parse_timeout(timeout_value(Duration::MAX).as_bytes()),
            Ok(MAX_TIMEOUT)
        );
    }

    #[tokio::test]
    async fn a_call_arriving_with_no_time_left_is_refused_with_504() {
        let mut context = Context::new();
        context
            .headers_mut()
            .insert(TIMEOUT_HEADER, HeaderValue::from_static("0"));
        let reply = receive(&mut context).unwrap_err();
        assert!(is_exceeded(&reply));
        assert_eq!(reply.status, 504);
        let problem: Problem = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(problem.type_, DEADLINE_EXCEEDED);
    }

    #[tokio::test]
    async fn a_malformed_timeout_is_a_400_naming_the_header() {
        let mut context = Context::new();
        context
            .headers_mut()
            .insert(TIMEOUT_HEADER, HeaderValue::from_static("soon"));
        let reply = receive(&mut context).unwrap_err();
        assert_eq!(reply.status, 400);
        let problem: Problem = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(problem.errors[0].field, TIMEOUT_HEADER);
        assert_eq!(problem.errors[0].location, Location::Header);
    }

    #[tokio::test]
    async fn a_timeout_becomes_the_deadline() {
        let before = Instant::now();
        let mut context = Context::new();
        context
            .headers_mut()
            .insert(TIMEOUT_HEADER, HeaderValue::from_static("250"));
        receive(&mut context).unwrap();
        let deadline = context.deadline().unwrap();
        assert!(deadline >= before + Duration::from_millis(250));
        assert!(deadline <= Instant::now() + Duration::from_millis(250));
    }
}
