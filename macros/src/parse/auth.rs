//! `auth = "..."`, `scopes = [...]` and `api_key_header = "..."`: what a
//! caller must present, declared on the service and overridden per request.

use syn::LitStr;

use super::operation::is_header_name;
use crate::ctxt::Ctxt;
use crate::model::{AuthScheme, AuthSetting};

/// The value of `auth = "..."`. `none` (a public request) is allowed only
/// on a request: a service without auth is written without the key.
pub fn parse_auth(cx: &Ctxt, lit: &LitStr, on_request: bool) -> Option<AuthSetting> {
    match lit.value().as_str() {
        "bearer" => Some(AuthSetting::Scheme(AuthScheme::Bearer)),
        "api_key" => Some(AuthSetting::Scheme(AuthScheme::ApiKey)),
        "none" if on_request => Some(AuthSetting::None),
        "none" => {
            cx.error_spanned_by(
                lit,
                "a service without authentication leaves `auth` out; `auth = \"none\"` is for one request of a service that has it",
            );
            None
        }
        other => {
            let expected = if on_request {
                "bearer, api_key, none"
            } else {
                "bearer, api_key"
            };
            cx.error_spanned_by(
                lit,
                format!("`{other}` is not an authentication scheme; expected one of: {expected}"),
            );
            None
        }
    }
}

/// The value of `api_key_header = "..."`, checked like a `#[header]` name.
pub fn parse_api_key_header(cx: &Ctxt, lit: LitStr) -> LitStr {
    let name = lit.value();
    if !is_header_name(&name) {
        cx.error_spanned_by(
            &lit,
            format!("`{name}` is not a valid header name; use lowercase letters, digits and `-`, as in \"x-api-key\""),
        );
    } else if name == "authorization" {
        cx.error_spanned_by(
            &lit,
            "`authorization` carries bearer tokens; an API key travels in a header of its own, as in \"x-api-key\"",
        );
    }
    lit
}

/// Each scope of `scopes = [...]`: a non-empty run of printable ASCII
/// without spaces, quotes or backslashes (an OAuth 2.0 scope token), named
/// once.
pub fn check_scopes(cx: &Ctxt, scopes: &[LitStr]) {
    for (index, lit) in scopes.iter().enumerate() {
        let scope = lit.value();
        if !is_scope_token(&scope) {
            cx.error_spanned_by(
                lit,
                format!("`{scope}` is not a scope; a scope is printable ASCII without spaces, quotes or backslashes, as in \"orders:write\""),
            );
        } else if scopes[..index].iter().any(|l| l.value() == scope) {
            cx.error_spanned_by(lit, format!("scope `{scope}` is listed twice; keep one"));
        }
    }
}

fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens_are_printable_ascii_without_space_quote_or_backslash() {
        for scope in ["orders:write", "admin", "https://api.example/orders.read"] {
            assert!(is_scope_token(scope), "{scope}");
        }
        for scope in ["", "orders write", "a\"b", "a\\b", "commande:écrire"] {
            assert!(!is_scope_token(scope), "{scope}");
        }
    }
}
