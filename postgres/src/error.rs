//! The error of every fallible operation of this crate.

use std::fmt;

/// Why an outbox, inbox or migration operation failed.
#[derive(Debug)]
pub enum Error {
    /// The database refused the statement or could not be reached.
    Database(sqlx::Error),
    /// A table name that is not a plain lower-case identifier.
    InvalidName(String),
    /// A message the outbox cannot store (no event id, a NUL character
    /// PostgreSQL cannot hold, ...).
    InvalidMessage(String),
    /// The schema in the database is not one this version knows.
    Schema(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Database(e) => write!(f, "PostgreSQL: {e}"),
            Error::InvalidName(e) => write!(f, "invalid table name: {e}"),
            Error::InvalidMessage(e) => write!(f, "the outbox cannot store the message: {e}"),
            Error::Schema(e) => write!(f, "schema: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Database(e) => Some(e),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        Error::Database(error)
    }
}
