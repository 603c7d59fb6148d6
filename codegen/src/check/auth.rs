//! Changes to what a request requires of its caller's credential.

use accord::descriptor::{AuthRequirement, AuthScheme};

use super::rules::{Change, Party, Rule};

/// The changes between the credential `old` and `new` require of a caller
/// of `operation`: a new requirement, another scheme, or a new scope breaks
/// callers; fewer requirements do not.
pub(crate) fn compare_auth(
    operation: &str,
    old: Option<&AuthRequirement>,
    new: Option<&AuthRequirement>,
) -> Vec<Change> {
    let clients = &[Party::Clients];
    let servers = &[Party::Servers];
    match (old, new) {
        (None, None) => Vec::new(),
        (None, Some(new)) => vec![Change::new(
            Rule::AuthAdded,
            operation,
            clients,
            format!(
                "now requires {}: callers without one get 401",
                describe(new)
            ),
        )],
        (Some(old), None) => vec![Change::new(
            Rule::AuthRemoved,
            operation,
            servers,
            format!("no longer requires {}", describe(old)),
        )],
        (Some(old), Some(new)) => {
            let mut changes = Vec::new();
            if old.scheme != new.scheme {
                changes.push(Change::new(
                    Rule::AuthSchemeChanged,
                    operation,
                    clients,
                    format!(
                        "credential changed from {} to {}: callers with the old one get 401",
                        scheme(&old.scheme),
                        scheme(&new.scheme)
                    ),
                ));
            }
            for scope in new.scopes.iter().filter(|s| !old.scopes.contains(s)) {
                changes.push(Change::new(
                    Rule::ScopeAdded,
                    operation,
                    clients,
                    format!(
                        "now requires scope `{scope}`: callers whose credential lacks it get 403"
                    ),
                ));
            }
            for scope in old.scopes.iter().filter(|s| !new.scopes.contains(s)) {
                changes.push(Change::new(
                    Rule::ScopeRemoved,
                    operation,
                    servers,
                    format!("no longer requires scope `{scope}`"),
                ));
            }
            changes
        }
    }
}

fn scheme(scheme: &AuthScheme) -> String {
    match scheme {
        AuthScheme::Bearer => "a bearer token".to_owned(),
        AuthScheme::ApiKey { header } => format!("an API key in `{header}`"),
    }
}

fn describe(auth: &AuthRequirement) -> String {
    let mut text = scheme(&auth.scheme);
    if !auth.scopes.is_empty() {
        let scopes: Vec<String> = auth.scopes.iter().map(|s| format!("`{s}`")).collect();
        text.push_str(&format!(" granting {}", scopes.join(", ")));
    }
    text
}
