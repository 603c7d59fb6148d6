//! Who a verified caller is.

use serde_json::{Map, Value};

use crate::context::Context;

/// The caller of a call, once its credential is verified: the token's
/// subject and scopes (or the identity an API key maps to), and for a
/// bearer token every claim it carries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Identity {
    /// Who the caller is: the token's `sub`, or the name given to an API key.
    pub subject: String,
    /// What the credential grants: the token's `scope` (space-separated),
    /// `scp` and `roles` claims together, or the scopes given to an API key.
    pub scopes: Vec<String>,
    /// Every claim of a bearer token; empty for an API key.
    pub claims: Map<String, Value>,
}

impl Identity {
    /// An identity named `subject`, with no scopes.
    pub fn new(subject: impl Into<String>) -> Self {
        Identity {
            subject: subject.into(),
            ..Identity::default()
        }
    }

    /// The same identity granted `scopes` as well.
    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// The verified caller of the call `context` belongs to, once an
    /// [`AuthLayer`](super::AuthLayer) has checked its credential; `None`
    /// for a public request or a server without the layer.
    pub fn of(context: &Context) -> Option<&Identity> {
        context.extensions().get::<Identity>()
    }

    /// Whether the credential grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// An identity from a token's claims: `sub` is required; scopes come
    /// from `scope` (a space-separated string), `scp` (a string or a list)
    /// and `roles` (a list).
    pub(crate) fn from_claims(claims: Map<String, Value>) -> Result<Identity, String> {
        let subject = match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            Some(_) => return Err("the token's `sub` claim is not a non-empty string".to_owned()),
            None => return Err("the token has no `sub` claim".to_owned()),
        };
        let mut scopes: Vec<String> = Vec::new();
        let mut add = |scope: &str| {
            if !scope.is_empty() && !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_owned());
            }
        };
        for name in ["scope", "scp", "roles"] {
            match claims.get(name) {
                Some(Value::String(list)) => list.split(' ').for_each(&mut add),
                Some(Value::Array(items)) => {
                    items.iter().filter_map(Value::as_str).for_each(&mut add)
                }
                _ => {}
            }
        }
        Ok(Identity {
            subject,
            scopes,
            claims,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn scopes_come_from_scope_scp_and_roles() {
        let identity = Identity::from_claims(claims(json!({
            "sub": "ada",
            "scope": "orders:read orders:write",
            "scp": ["orders:read", "admin"],
            "roles": ["auditor"],
        })))
        .unwrap();
        assert_eq!(identity.subject, "ada");
        assert_eq!(
            identity.scopes,
            ["orders:read", "orders:write", "admin", "auditor"]
        );
        assert!(identity.has_scope("admin"));
        assert!(!identity.has_scope("orders"));
        assert_eq!(identity.claims["sub"], "ada");
    }

    #[test]
    fn a_subject_is_required() {
        let missing = Identity::from_claims(claims(json!({ "scope": "a" }))).unwrap_err();
        assert!(missing.contains("no `sub`"), "{missing}");
        let empty = Identity::from_claims(claims(json!({ "sub": "" }))).unwrap_err();
        assert!(empty.contains("`sub`"), "{empty}");
    }
}
