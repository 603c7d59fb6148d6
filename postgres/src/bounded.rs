//! How long a statement of this crate waits for PostgreSQL's answer.
//!
//! sqlx bounds acquiring a connection from a pool (its `acquire_timeout`)
//! but not a statement: a database that keeps the connection open and
//! stops answering (stalled, its machine frozen, a network path that went
//! dark without a reset) would hold the statement, and the relay or the
//! handler waiting on it, for good. Every statement the crate runs on its
//! own goes through [`Bound::answered`], which fails it past its bound; a
//! connection whose statement was abandoned this way is not used again by
//! the relay (its session ends), and a pool tests a connection before
//! lending it again.

use std::future::Future;
use std::io;
use std::time::Duration;

/// The default longest one statement waits for PostgreSQL's answer: 30 s
/// ([`RelayOptions::statement_timeout`](crate::RelayOptions::statement_timeout),
/// [`Inbox::statement_timeout`](crate::Inbox::statement_timeout)).
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a statement may wait for PostgreSQL's answer, and the setting
/// that says so.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bound {
    limit: Duration,
    setting: &'static str,
}

impl Bound {
    /// `limit`, set by `setting` (named in the error past it).
    pub(crate) fn new(limit: Duration, setting: &'static str) -> Self {
        assert!(!limit.is_zero(), "{setting} must be more than zero");
        Bound { limit, setting }
    }

    /// `statement`, or an I/O error of kind `TimedOut` naming `what` and
    /// the setting when PostgreSQL has not answered within the limit.
    pub(crate) async fn answered<T>(
        &self,
        what: &str,
        statement: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        match tokio::time::timeout(self.limit, statement).await {
            Ok(outcome) => outcome,
            Err(_) => Err(sqlx::Error::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "PostgreSQL did not answer {what} within {:?}: the server may be stalled or \
                     overloaded, or the statement waiting on a lock (see pg_stat_activity); {} \
                     sets this wait",
                    self.limit, self.setting
                ),
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_statement_past_its_bound_fails_naming_it() {
        let never = std::future::pending::<Result<(), sqlx::Error>>();
        let bound = Bound::new(Duration::from_secs(3), "Some::setting");
        let error = bound.answered("the select", never).await.unwrap_err();
        let sqlx::Error::Io(error) = error else {
            panic!("expected an I/O error, got {error:?}");
        };
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(
            error.to_string(),
            "PostgreSQL did not answer the select within 3s: the server may be stalled or \
             overloaded, or the statement waiting on a lock (see pg_stat_activity); \
             Some::setting sets this wait"
        );
    }

    #[tokio::test]
    async fn an_answer_in_time_is_passed_on() {
        let answer = async { Ok::<_, sqlx::Error>(7) };
        assert_eq!(
            Bound::new(Duration::from_secs(3), "s")
                .answered("w", answer)
                .await
                .unwrap(),
            7
        );
    }
}
