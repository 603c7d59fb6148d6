//! What a request requires of its caller: an authentication scheme and the
//! scopes its credential must grant.

use serde::{Deserialize, Serialize};

/// A way a caller proves who it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthScheme {
    /// A JSON Web Token in `Authorization: Bearer <token>` (RFC 6750).
    Bearer,
    /// An opaque key in a header of the service's choosing.
    ApiKey {
        /// The header, lower case, such as `x-api-key`.
        header: String,
    },
}

impl AuthScheme {
    /// An API key in `header`.
    pub fn api_key(header: &str) -> AuthScheme {
        AuthScheme::ApiKey {
            header: header.to_owned(),
        }
    }

    /// The scheme's name in published documents: `bearer` or `api_key`.
    pub fn name(&self) -> &'static str {
        match self {
            AuthScheme::Bearer => "bearer",
            AuthScheme::ApiKey { .. } => "api_key",
        }
    }

    /// The header the credential travels in: `authorization` for bearer
    /// tokens, the API key header otherwise.
    pub fn header(&self) -> &str {
        match self {
            AuthScheme::Bearer => "authorization",
            AuthScheme::ApiKey { header } => header,
        }
    }
}

/// What one request requires: a credential of `scheme` that grants every
/// scope in `scopes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequirement {
    /// How the caller authenticates.
    pub scheme: AuthScheme,
    /// Scopes (or roles) the verified credential must hold, all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}
