//! The parse from `syn` into the [model](crate::model): each attribute's
//! keys, declared once, and each item's own mistakes, reported at their
//! spans. This module parses the trait; [`operation`] each method's
//! signature, and [`kinds`] its `#[request]` or `#[event]` attribute.

mod auth;
mod kinds;
mod operation;

use proc_macro2::Span;
use syn::{Attribute, ItemTrait, Meta, TraitItem};

use self::operation::parse_operation;
use crate::attr::Args;
use crate::ctxt::Ctxt;
use crate::model::{AuthSetting, Service};

/// `#[accord::service(...)]` keys.
pub const SERVICE_KEYS: &[&str] = &["name", "version", "auth", "api_key_header", "crate"];
/// `#[request(...)]` keys.
pub const REQUEST_KEYS: &[&str] = &["method", "path", "status", "idempotent", "auth", "scopes"];
/// `#[event(...)]` keys.
pub const EVENT_KEYS: &[&str] = &["topic", "key"];
/// HTTP methods a request may use.
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
/// Method names the generated server and client use themselves.
pub const RESERVED: &[&str] = &[
    "into_dispatcher",
    "into_router",
    "new",
    "with_transport",
    "with_timeout",
    "with_credentials",
    "transport",
    "timeout",
    "descriptor",
];

pub fn doc_string(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let Meta::NameValue(nv) = &attr.meta {
            if let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
            {
                let line = s.value();
                lines.push(
                    line.strip_prefix(' ')
                        .unwrap_or(&line)
                        .trim_end()
                        .to_owned(),
                );
            }
        }
    }
    lines.join("\n").trim().to_owned()
}

/// `OrdersService` -> `orders_service`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

pub fn parse_service(cx: &Ctxt, attr_args: Meta, item: &ItemTrait) -> Service {
    let mut args = Args::parse(cx, &attr_args, "accord::service", SERVICE_KEYS);
    let name = match args.string(cx, "name") {
        Some(lit) => {
            let name = lit.value();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            {
                cx.error_spanned_by(
                    &lit,
                    "a service name uses lowercase letters, digits, `-` and `_`, as in `name = \"orders\"`",
                );
            }
            name
        }
        None => snake_case(&item.ident.to_string()),
    };
    let version = match args.string(cx, "version") {
        Some(lit) => {
            let version = lit.value();
            if !is_semver(&version) {
                cx.error_spanned_by(
                    &lit,
                    format!("`{version}` is not a semantic version; write `version = \"1.2.0\"`"),
                );
            }
            version
        }
        None => {
            let message = "missing `version = \"...\"`: a contract needs a semantic version, as in `#[accord::service(name = \"orders\", version = \"1.0.0\")]`";
            match &attr_args {
                Meta::List(list) if !list.tokens.is_empty() => {
                    cx.error_spanned_by(&list.tokens, message)
                }
                _ => cx.error_at(Span::call_site(), message),
            }
            String::new()
        }
    };
    let auth = args
        .string(cx, "auth")
        .and_then(|lit| match auth::parse_auth(cx, &lit, false)? {
            AuthSetting::Scheme(scheme) => Some((scheme, lit.span())),
            AuthSetting::None => None,
        });
    let api_key_header = args
        .string(cx, "api_key_header")
        .map(|lit| auth::parse_api_key_header(cx, lit));
    let krate = match args.string(cx, "crate") {
        Some(lit) => lit.parse::<syn::Path>().unwrap_or_else(|e| {
            cx.error_spanned_by(&lit, format!("`crate` must be a path: {e}"));
            syn::parse_quote!(::accord)
        }),
        None => syn::parse_quote!(::accord),
    };
    args.finish();

    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        cx.error_spanned_by(&item.generics, "a contract trait cannot be generic");
    }
    if !item.supertraits.is_empty() {
        cx.error_spanned_by(
            &item.supertraits,
            "a contract trait cannot have supertraits",
        );
    }
    if let Some(unsafety) = &item.unsafety {
        cx.error_spanned_by(unsafety, "a contract trait cannot be unsafe");
    }
    for attr in &item.attrs {
        if !attr.path().is_ident("doc") {
            cx.error_spanned_by(
                attr,
                "only doc comments are allowed on a contract trait; the generated items carry their own attributes",
            );
        }
    }

    let mut ops = Vec::new();
    for trait_item in &item.items {
        match trait_item {
            TraitItem::Fn(f) => {
                if let Some(op) = parse_operation(cx, &item.ident, f) {
                    ops.push(op);
                }
            }
            other => cx.error_spanned_by(
                other,
                "a contract trait holds only methods marked #[request(...)] or #[event(...)]",
            ),
        }
    }

    Service {
        vis: item.vis.clone(),
        ident: item.ident.clone(),
        name,
        version,
        docs: doc_string(&item.attrs),
        doc_attrs: item
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .cloned()
            .collect(),
        krate,
        auth,
        api_key_header,
        ops,
    }
}

fn is_semver(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_semantic_versions() {
        for version in [
            "0.1.0",
            "1.2.3",
            "10.20.30",
            "2.1.0-beta.1",
            "1.0.0+build.5",
        ] {
            assert!(is_semver(version), "{version}");
        }
    }

    #[test]
    fn rejects_other_versions() {
        for version in [
            "", "1", "1.0", "one", "1.0.0.0", "01.0.0", "1.x.0", "v1.0.0", "1..0",
        ] {
            assert!(!is_semver(version), "{version}");
        }
    }

    #[test]
    fn snake_cases_trait_names() {
        assert_eq!(snake_case("Orders"), "orders");
        assert_eq!(snake_case("OrderBook"), "order_book");
        assert_eq!(snake_case("Ping2"), "ping2");
    }
}
