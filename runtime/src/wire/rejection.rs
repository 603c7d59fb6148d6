//! [`Rejection`]: why a server could not decode a call, and the problem
//! document it answers with.

use crate::error::{FieldError, Location, Problem, INVALID_REQUEST};

/// Why a server could not decode a call: one or more rejected fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The status to answer with.
    pub status: u16,
    /// Each rejected field.
    pub errors: Vec<FieldError>,
}

impl Rejection {
    pub(crate) fn field(status: u16, location: Location, field: &str, reason: String) -> Self {
        Rejection {
            status,
            errors: vec![FieldError {
                location,
                field: field.to_owned(),
                reason,
            }],
        }
    }

    /// Merges the rejections of several arguments into one.
    pub fn merge(rejections: impl IntoIterator<Item = Option<Rejection>>) -> Rejection {
        let mut merged = Rejection {
            status: 0,
            errors: Vec::new(),
        };
        for rejection in rejections.into_iter().flatten() {
            merged.status = match merged.status {
                0 => rejection.status,
                s if s == rejection.status => s,
                // Different kinds of bad input: the generic client error.
                _ => 400,
            };
            merged.errors.extend(rejection.errors);
        }
        merged
    }

    /// The problem document for this rejection.
    pub fn into_problem(self) -> Problem {
        let detail = self
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        let title = match self.status {
            415 => "Unsupported media type",
            422 => "Request body does not match the contract",
            _ => "Invalid request",
        };
        let mut problem = Problem::new(self.status, title).with_detail(detail);
        problem.type_ = INVALID_REQUEST.to_owned();
        problem.errors = self.errors;
        problem
    }
}
