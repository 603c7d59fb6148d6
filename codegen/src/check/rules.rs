//! The named rules `accord check` reports changes under, and the changes
//! themselves.

use std::fmt;

use serde::Serialize;

/// Whether a change breaks the parties it affects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Breaking {
    /// Nothing that worked stops working.
    No,
    /// Could not be decided; treated as breaking.
    Possibly,
    /// Something that worked stops working.
    Yes,
}

impl Breaking {
    /// `no`, `possibly`, `yes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Breaking::No => "no",
            Breaking::Possibly => "possibly",
            Breaking::Yes => "yes",
        }
    }
}

/// Who a change concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    /// Callers of request operations.
    Clients,
    /// Implementations of request operations.
    Servers,
    /// Code publishing events.
    Publishers,
    /// Code consuming events.
    Subscribers,
}

impl Party {
    /// `clients`, `servers`, `publishers`, `subscribers`.
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Clients => "clients",
            Party::Servers => "servers",
            Party::Publishers => "publishers",
            Party::Subscribers => "subscribers",
        }
    }
}

macro_rules! rules {
    ($($(#[doc = $doc:literal])* $variant:ident = $id:literal, $breaking:ident;)*) => {
        /// A named rule. Each change `accord check` reports is one rule
        /// applied at one place.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Rule {
            /// Every rule, in the order the README documents them.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The rule's id, such as `request-body-narrowed`.
            pub fn id(self) -> &'static str {
                match self {
                    $(Rule::$variant => $id,)*
                }
            }

            /// Whether a change under this rule breaks the parties it
            /// affects, when the check is certain of it.
            pub fn breaking(self) -> Breaking {
                match self {
                    $(Rule::$variant => Breaking::$breaking,)*
                }
            }

            /// The rule with this id.
            pub fn from_id(id: &str) -> Option<Rule> {
                Rule::ALL.iter().copied().find(|rule| rule.id() == id)
            }
        }
    };
}

rules! {
    /// An operation is gone.
    OperationRemoved = "operation-removed", Yes;
    /// An operation has a new name and the same binding.
    OperationRenamed = "operation-renamed", Yes;
    /// A new operation.
    OperationAdded = "operation-added", No;
    /// A request became an event or the other way round.
    KindChanged = "kind-changed", Yes;
    /// A request's HTTP method changed.
    MethodChanged = "method-changed", Yes;
    /// A request's path changed.
    PathChanged = "path-changed", Yes;
    /// A request's success status changed.
    SuccessStatusChanged = "success-status-changed", Yes;
    /// A request is no longer idempotent.
    IdempotencyDropped = "idempotency-dropped", Yes;
    /// A request became idempotent.
    IdempotencyAdded = "idempotency-added", No;
    /// A new required query parameter or header.
    ParamAddedRequired = "param-added-required", Yes;
    /// A new optional query parameter or header.
    ParamAdded = "param-added", No;
    /// A query parameter or header is gone.
    ParamRemoved = "param-removed", Yes;
    /// An optional parameter became required.
    ParamBecameRequired = "param-became-required", Yes;
    /// A required parameter became optional.
    ParamBecameOptional = "param-became-optional", No;
    /// A parameter accepts fewer values.
    ParamNarrowed = "param-narrowed", Yes;
    /// A parameter accepts more values.
    ParamWidened = "param-widened", No;
    /// The default of an optional request field or parameter changed.
    DefaultChanged = "default-changed", Possibly;
    /// A request without a body now takes one.
    RequestBodyAdded = "request-body-added", Yes;
    /// A request no longer takes its body.
    RequestBodyRemoved = "request-body-removed", Yes;
    /// The request body accepts fewer values.
    RequestBodyNarrowed = "request-body-narrowed", Yes;
    /// The request body accepts more values.
    RequestBodyWidened = "request-body-widened", No;
    /// A request that returned nothing returns a value.
    ResponseAdded = "response-added", No;
    /// A request no longer returns its value.
    ResponseRemoved = "response-removed", Yes;
    /// The response may hold values old clients reject.
    ResponseWidened = "response-widened", Yes;
    /// The response holds fewer kinds of values.
    ResponseNarrowed = "response-narrowed", No;
    /// A request that could not fail has a typed error.
    ErrorAdded = "error-added", Yes;
    /// A request no longer has a typed error.
    ErrorRemoved = "error-removed", No;
    /// A new error variant.
    ErrorVariantAdded = "error-variant-added", Yes;
    /// An error variant is gone.
    ErrorVariantRemoved = "error-variant-removed", No;
    /// An error variant is sent with another status.
    ErrorStatusChanged = "error-status-changed", Yes;
    /// The error may hold values old clients reject.
    ErrorWidened = "error-widened", Yes;
    /// The error holds fewer kinds of values.
    ErrorNarrowed = "error-narrowed", No;
    /// A public request now requires a credential.
    AuthAdded = "auth-added", Yes;
    /// A request no longer requires a credential.
    AuthRemoved = "auth-removed", No;
    /// A request requires another kind of credential.
    AuthSchemeChanged = "auth-scheme-changed", Yes;
    /// A request requires a scope it did not.
    ScopeAdded = "scope-added", Yes;
    /// A request no longer requires a scope.
    ScopeRemoved = "scope-removed", No;
    /// An event's topic changed.
    TopicChanged = "topic-changed", Yes;
    /// An event's ordering key changed.
    EventKeyChanged = "event-key-changed", Possibly;
    /// The event payload may hold values old subscribers reject.
    EventPayloadWidened = "event-payload-widened", Yes;
    /// The event payload holds fewer kinds of values.
    EventPayloadNarrowed = "event-payload-narrowed", No;
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

/// Where in an operation a change is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The JSON request body.
    Body,
    /// The success value.
    Response,
    /// The typed error.
    Error,
    /// The event payload.
    Payload,
    /// A path parameter.
    PathParam(String),
    /// A query parameter.
    Query(String),
    /// A header.
    Header(String),
}

impl Location {
    /// `body`, `response`, `error`, `payload`, `path:<name>`,
    /// `query:<name>`, `header:<name>`: the form in JSON output.
    pub fn key(&self) -> String {
        match self {
            Location::Body => "body".to_owned(),
            Location::Response => "response".to_owned(),
            Location::Error => "error".to_owned(),
            Location::Payload => "payload".to_owned(),
            Location::PathParam(name) => format!("path:{name}"),
            Location::Query(name) => format!("query:{name}"),
            Location::Header(name) => format!("header:{name}"),
        }
    }
}

impl fmt::Display for Location {
    /// How a location reads in a sentence: `body`, `query parameter `limit``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Body => f.write_str("body"),
            Location::Response => f.write_str("response"),
            Location::Error => f.write_str("error"),
            Location::Payload => f.write_str("payload"),
            Location::PathParam(name) => write!(f, "path parameter `{name}`"),
            Location::Query(name) => write!(f, "query parameter `{name}`"),
            Location::Header(name) => write!(f, "header `{name}`"),
        }
    }
}

/// One change between two versions of a contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The rule it falls under.
    pub rule: Rule,
    /// Whether it breaks the parties it affects.
    pub breaking: Breaking,
    /// For a breaking change, the parties it breaks; for a compatible one,
    /// the parties to upgrade first.
    pub affects: Vec<Party>,
    /// The operation (its name in the old contract when it was renamed).
    pub operation: String,
    /// Where in the operation, for changes below it.
    pub location: Option<Location>,
    /// The place inside the location's schema (`lines[].quantity`); empty
    /// at its root.
    pub path: String,
    /// The named schema holding the change.
    pub type_name: Option<String>,
    /// The kind of schema change (`property-became-required`), for changes
    /// found by comparing schemas.
    pub schema_change: Option<&'static str>,
    /// What changed, in a sentence.
    pub message: String,
}

impl Change {
    /// A change of `operation` as a whole; [`Change::at`] places it.
    pub(crate) fn new(rule: Rule, operation: &str, affects: &[Party], message: String) -> Change {
        Change {
            rule,
            breaking: rule.breaking(),
            affects: affects.to_vec(),
            operation: operation.to_owned(),
            location: None,
            path: String::new(),
            type_name: None,
            schema_change: None,
            message,
        }
    }

    /// The same change at a location.
    pub(crate) fn at(mut self, location: Location) -> Change {
        self.location = Some(location);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for rule in Rule::ALL {
            assert!(seen.insert(rule.id()), "{} twice", rule.id());
            assert!(
                rule.id()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                rule.id()
            );
            assert_eq!(Rule::from_id(rule.id()), Some(*rule));
        }
    }
}
