//! The error every broker operation returns.

use std::fmt;
use std::time::Duration;

use super::TooLarge;

/// A broker operation that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerError {
    /// The broker could not be reached or the connection broke.
    Connection(String),
    /// The broker did not accept a publish, or refused an operation.
    Rejected(String),
    /// The message, or a part of it, is over a size limit of the broker
    /// (or of accord, see [`limits`](super::limits)); it was not sent, and the connection
    /// is still usable.
    TooLarge(Box<TooLarge>),
    /// No reply within the timeout.
    Timeout(Duration),
    /// No server answers requests on this topic.
    NoResponders(String),
    /// The broker, subscription or delivery is closed.
    Closed,
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerError::Connection(e) => write!(f, "broker connection failed: {e}"),
            BrokerError::Rejected(e) => write!(f, "the broker refused: {e}"),
            BrokerError::TooLarge(e) => write!(f, "the message is too large: {e}"),
            BrokerError::Timeout(d) => write!(f, "no reply within {d:?}"),
            BrokerError::NoResponders(topic) => {
                write!(f, "no server answers requests on `{topic}`")
            }
            BrokerError::Closed => f.write_str("the broker is closed"),
        }
    }
}

impl std::error::Error for BrokerError {}
