//! What a request's authentication must agree with: scopes need a scheme,
//! an API key header must be used, and no argument may bind the header a
//! credential travels in.

use crate::ctxt::Ctxt;
use crate::model::{AuthScheme, AuthSetting, Binding, OpKind, Service};

pub fn check_auth(cx: &Ctxt, service: &Service) {
    let api_key_header = service.api_key_header();
    let mut uses_api_key = false;
    for op in &service.ops {
        let OpKind::Request(request) = &op.kind else {
            continue;
        };
        let scheme = service.request_auth(request);
        uses_api_key |= scheme == Some(AuthScheme::ApiKey);
        if let (None, Some(first)) = (scheme, request.scopes.first()) {
            let message = match request.auth {
                Some((AuthSetting::None, _)) => {
                    "a public request (`auth = \"none\"`) cannot require scopes; remove `scopes` or `auth = \"none\"`"
                }
                _ => "`scopes` need an authentication scheme: add `auth = \"bearer\"` (or \"api_key\") here or on #[accord::service]",
            };
            cx.error_spanned_by(first, message);
        }
        let credential_header = match scheme {
            Some(AuthScheme::Bearer) => "authorization",
            Some(AuthScheme::ApiKey) => api_key_header.as_str(),
            None => continue,
        };
        for arg in &op.args {
            if let Binding::Header(name, span) = &arg.binding {
                if name == credential_header {
                    cx.error_at(
                        *span,
                        format!(
                            "`{name}` carries this request's credential; accord checks it before the handler and the verified identity is in the call's context, so bind another header"
                        ),
                    );
                }
            }
        }
    }
    if let Some(lit) = &service.api_key_header {
        if !uses_api_key {
            cx.error_spanned_by(
                lit,
                "`api_key_header` is set but no request uses `auth = \"api_key\"`; remove it or use the scheme",
            );
        }
    }
}
