//! Why a call was refused: the 401 and 403 answers, each a problem
//! document with its `WWW-Authenticate` challenge.

use std::fmt;

use crate::descriptor::AuthScheme;
use crate::error::Problem;

/// The problem type of a call without a valid credential (401).
pub const UNAUTHENTICATED: &str = "urn:accord:problem:unauthenticated";
/// The problem type of a call whose credential lacks a scope (403).
pub const FORBIDDEN: &str = "urn:accord:problem:forbidden";

/// A call refused by its credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// 401: no credential, or one that is malformed or not valid.
    Unauthenticated {
        /// The scheme the operation requires.
        scheme: AuthScheme,
        /// The realm of the challenge.
        realm: String,
        /// The RFC 6750 error code: `invalid_request` for a malformed
        /// header, `invalid_token` for a token that fails verification,
        /// none when no credential of the scheme was given.
        error: Option<&'static str>,
        /// Why, for the problem document's `detail`.
        detail: String,
    },
    /// 403: a valid credential that does not grant a required scope.
    Forbidden {
        /// The scheme the operation requires.
        scheme: AuthScheme,
        /// The realm of the challenge.
        realm: String,
        /// The first required scope the credential lacks.
        missing_scope: String,
        /// Every scope the operation requires.
        required: Vec<String>,
    },
}

impl AuthFailure {
    /// 401 or 403.
    pub fn status(&self) -> u16 {
        match self {
            AuthFailure::Unauthenticated { .. } => 401,
            AuthFailure::Forbidden { .. } => 403,
        }
    }

    /// The `WWW-Authenticate` challenge: RFC 6750's form for bearer tokens
    /// (`Bearer realm="orders", error="invalid_token",
    /// error_description="..."`), and the same form under `ApiKey` with the
    /// header to send for API keys.
    pub fn www_authenticate(&self) -> String {
        let (scheme, realm) = match self {
            AuthFailure::Unauthenticated { scheme, realm, .. }
            | AuthFailure::Forbidden { scheme, realm, .. } => (scheme, realm),
        };
        let mut params = vec![format!("realm={}", quoted(realm))];
        let name = match scheme {
            AuthScheme::Bearer => "Bearer",
            AuthScheme::ApiKey { header } => {
                params.push(format!("header={}", quoted(header)));
                "ApiKey"
            }
        };
        match self {
            AuthFailure::Unauthenticated { error, detail, .. } => {
                if let Some(error) = error {
                    params.push(format!("error={}", quoted(error)));
                    params.push(format!("error_description={}", quoted(detail)));
                }
            }
            AuthFailure::Forbidden { required, .. } => {
                params.push("error=\"insufficient_scope\"".to_owned());
                params.push(format!("scope={}", quoted(&required.join(" "))));
            }
        }
        format!("{name} {}", params.join(", "))
    }

    /// The problem document of the refusal.
    pub fn problem(&self) -> Problem {
        let (mut problem, type_) = match self {
            AuthFailure::Unauthenticated { detail, .. } => (
                Problem::new(401, "Unauthorized").with_detail(detail.clone()),
                UNAUTHENTICATED,
            ),
            AuthFailure::Forbidden { missing_scope, .. } => (
                Problem::new(403, "Forbidden").with_detail(format!(
                    "the credential does not grant the scope `{missing_scope}`"
                )),
                FORBIDDEN,
            ),
        };
        problem.type_ = type_.to_owned();
        problem
    }
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problem = self.problem();
        write!(
            f,
            "{} {}: {}",
            problem.status,
            problem.title,
            problem.detail.unwrap_or_default()
        )
    }
}

impl std::error::Error for AuthFailure {}

/// `value` as an RFC 9110 quoted-string, with anything outside visible
/// ASCII and space dropped so the header stays valid.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {}
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_follow_rfc_6750() {
        let missing = AuthFailure::Unauthenticated {
            scheme: AuthScheme::Bearer,
            realm: "orders".into(),
            error: None,
            detail: "no token".into(),
        };
        assert_eq!(missing.status(), 401);
        assert_eq!(missing.www_authenticate(), r#"Bearer realm="orders""#);
        let invalid = AuthFailure::Unauthenticated {
            scheme: AuthScheme::Bearer,
            realm: "orders".into(),
            error: Some("invalid_token"),
            detail: "the token \"expired\"".into(),
        };
        assert_eq!(
            invalid.www_authenticate(),
            r#"Bearer realm="orders", error="invalid_token", error_description="the token \"expired\"""#
        );
        let forbidden = AuthFailure::Forbidden {
            scheme: AuthScheme::Bearer,
            realm: "orders".into(),
            missing_scope: "orders:admin".into(),
            required: vec!["orders:write".into(), "orders:admin".into()],
        };
        assert_eq!(forbidden.status(), 403);
        assert_eq!(
            forbidden.www_authenticate(),
            r#"Bearer realm="orders", error="insufficient_scope", scope="orders:write orders:admin""#
        );
        let problem = forbidden.problem();
        assert_eq!(problem.type_, FORBIDDEN);
        assert!(problem.detail.unwrap().contains("`orders:admin`"));
    }

    #[test]
    fn api_key_challenges_name_the_header() {
        let missing = AuthFailure::Unauthenticated {
            scheme: AuthScheme::api_key("x-api-key"),
            realm: "orders".into(),
            error: None,
            detail: "no key".into(),
        };
        assert_eq!(
            missing.www_authenticate(),
            r#"ApiKey realm="orders", header="x-api-key""#
        );
        assert_eq!(missing.problem().type_, UNAUTHENTICATED);
    }
}
