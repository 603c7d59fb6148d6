//! Authentication of calls, as the contract declares it.
//!
//! A contract names the credential each request requires
//! (`#[accord::service(auth = "bearer")]`, `#[request(auth = "api_key")]`,
//! `scopes = [...]`); the descriptor carries it as an
//! [`AuthRequirement`]. An [`Authenticator`] holds what the server checks
//! credentials against, a [`JwtVerifier`] for bearer tokens and a set of
//! [`ApiKeys`], and turns the headers of a call into the caller's
//! [`Identity`] or an [`AuthFailure`]: 401 with `WWW-Authenticate` when the
//! credential is missing or not valid, 403 when it lacks a scope.
//!
//! Every transport carries the credential in the call's headers
//! (`authorization`, or the contract's API key header), so one check serves
//! HTTP, in-process and broker calls alike.

mod api_key;
mod failure;
mod identity;
mod jwt;
mod layer;

use http::HeaderMap;

pub use self::api_key::ApiKeys;
pub use self::failure::{AuthFailure, FORBIDDEN, UNAUTHENTICATED};
pub use self::identity::Identity;
pub use self::jwt::{
    Algorithm, JwtVerifier, JwtVerifierBuilder, DEFAULT_LEEWAY, MAX_JWKS_BYTES, MAX_KEYS,
};
pub use self::layer::{refusal, AuthLayer, AuthService};
use crate::descriptor::{AuthRequirement, AuthScheme, ServiceDescriptor};

/// The longest credential (a bearer token with its `Bearer ` prefix, or an
/// API key) the server reads: 8 KiB. A longer one is refused with 401
/// before any parsing.
pub const DEFAULT_MAX_CREDENTIAL_BYTES: usize = 8 * 1024;

/// A server's authentication configuration is incomplete or unreadable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfigError(pub(crate) String);

impl std::fmt::Display for AuthConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AuthConfigError {}

impl AuthConfigError {
    /// An error saying `message`, for code that loads keys of its own.
    pub fn new(message: impl Into<String>) -> Self {
        AuthConfigError(message.into())
    }
}

/// What a server checks credentials against.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    jwt: Option<JwtVerifier>,
    api_keys: Option<ApiKeys>,
    max_credential_bytes: Option<usize>,
    realm: Option<String>,
}

impl Authenticator {
    /// An authenticator that accepts nothing yet.
    pub fn new() -> Self {
        Authenticator::default()
    }

    /// Verifies bearer tokens with `verifier`.
    pub fn bearer(mut self, verifier: JwtVerifier) -> Self {
        self.jwt = Some(verifier);
        self
    }

    /// Accepts the API keys in `keys`.
    pub fn api_keys(mut self, keys: ApiKeys) -> Self {
        self.api_keys = Some(keys);
        self
    }

    /// The longest credential read, [`DEFAULT_MAX_CREDENTIAL_BYTES`] unless
    /// set.
    pub fn max_credential_bytes(mut self, bytes: usize) -> Self {
        self.max_credential_bytes = Some(bytes);
        self
    }

    /// The `realm` named in `WWW-Authenticate`; the service name unless
    /// set.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Checks that every scheme `descriptor` uses has something to check it
    /// against, so a server cannot start that would refuse every call of
    /// an operation.
    pub fn check_covers(&self, descriptor: &ServiceDescriptor) -> Result<(), AuthConfigError> {
        for scheme in descriptor.auth_schemes() {
            let covered = match scheme {
                AuthScheme::Bearer => self.jwt.is_some(),
                AuthScheme::ApiKey { .. } => self.api_keys.is_some(),
            };
            if !covered {
                let (what, how) = match scheme {
                    AuthScheme::Bearer => ("bearer tokens", "Authenticator::bearer(JwtVerifier)"),
                    AuthScheme::ApiKey { .. } => ("API keys", "Authenticator::api_keys(ApiKeys)"),
                };
                return Err(AuthConfigError(format!(
                    "the `{}` contract requires {what}, but the authenticator has nothing to check them against; add {how}",
                    descriptor.name
                )));
            }
        }
        Ok(())
    }

    /// The caller's identity, from `headers`, when it meets `requirement`.
    /// `service` names the realm in `WWW-Authenticate` unless one is set.
    pub fn authenticate(
        &self,
        service: &str,
        requirement: &AuthRequirement,
        headers: &HeaderMap,
    ) -> Result<Identity, AuthFailure> {
        let realm = self.realm.as_deref().unwrap_or(service);
        let limit = self
            .max_credential_bytes
            .unwrap_or(DEFAULT_MAX_CREDENTIAL_BYTES);
        let scheme = &requirement.scheme;
        let unauthenticated =
            |error: Option<&'static str>, detail: String| AuthFailure::Unauthenticated {
                scheme: scheme.clone(),
                realm: realm.to_owned(),
                error,
                detail,
            };
        let mut values = headers.get_all(scheme.header()).iter();
        let Some(value) = values.next() else {
            return Err(unauthenticated(
                None,
                format!("this operation requires {}", describe(scheme)),
            ));
        };
        if values.next().is_some() {
            return Err(unauthenticated(
                Some("invalid_request"),
                format!("the `{}` header is given more than once", scheme.header()),
            ));
        }
        if value.len() > limit {
            return Err(unauthenticated(
                Some("invalid_request"),
                format!(
                    "the `{}` header is {} bytes, over the {limit} bytes the server reads",
                    scheme.header(),
                    value.len()
                ),
            ));
        }
        let Ok(value) = value.to_str() else {
            return Err(unauthenticated(
                Some("invalid_request"),
                format!("the `{}` header is not visible ASCII", scheme.header()),
            ));
        };
        let identity = match scheme {
            AuthScheme::Bearer => {
                let token = bearer_token(value).ok_or_else(|| {
                    unauthenticated(
                        None,
                        "the `authorization` header does not hold a bearer token (`Bearer <token>`)"
                            .to_owned(),
                    )
                })?;
                let verifier = self.jwt.as_ref().ok_or_else(|| {
                    unauthenticated(None, "this server accepts no bearer tokens".to_owned())
                })?;
                verifier
                    .verify(token)
                    .map_err(|reason| unauthenticated(Some("invalid_token"), reason))?
            }
            AuthScheme::ApiKey { .. } => self
                .api_keys
                .as_ref()
                .and_then(|keys| keys.identify(value.as_bytes()))
                .ok_or_else(|| unauthenticated(None, "the API key is not valid".to_owned()))?,
        };
        if let Some(missing) = requirement
            .scopes
            .iter()
            .find(|scope| !identity.has_scope(scope))
        {
            return Err(AuthFailure::Forbidden {
                scheme: scheme.clone(),
                realm: realm.to_owned(),
                missing_scope: missing.clone(),
                required: requirement.scopes.clone(),
            });
        }
        Ok(identity)
    }
}

/// The token of `Bearer <token>`; the scheme name is case-insensitive
/// (RFC 9110), the token a non-empty run without spaces.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

fn describe(scheme: &AuthScheme) -> String {
    match scheme {
        AuthScheme::Bearer => "a bearer token in `authorization`".to_owned(),
        AuthScheme::ApiKey { header } => format!("an API key in `{header}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_with_any_case_of_the_scheme() {
        assert_eq!(bearer_token("Bearer abc.def.ghi"), Some("abc.def.ghi"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer a b"), None);
    }
}
