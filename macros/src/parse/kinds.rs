//! The `#[request(...)]` and `#[event(...)]` attributes of a method.

use proc_macro2::Ident;
use syn::spanned::Spanned;
use syn::{Attribute, LitStr};

use super::{EVENT_KEYS, METHODS, REQUEST_KEYS};
use crate::attr::Args;
use crate::ctxt::Ctxt;
use crate::model::{Event, Request};

pub fn parse_request(cx: &Ctxt, attr: &Attribute, ident: &Ident) -> Request {
    let mut args = Args::parse(cx, &attr.meta, "request", REQUEST_KEYS);
    let (method, method_span) = match args.string(cx, "method") {
        Some(lit) => {
            let method = lit.value();
            if !METHODS.contains(&method.as_str()) {
                let hint = if METHODS.contains(&method.to_ascii_uppercase().as_str()) {
                    format!(
                        "; write it in upper case: \"{}\"",
                        method.to_ascii_uppercase()
                    )
                } else {
                    String::new()
                };
                cx.error_spanned_by(
                    &lit,
                    format!(
                        "`{method}` is not an HTTP method accord serves; expected one of: {}{hint}",
                        METHODS.join(", ")
                    ),
                );
            }
            (method, lit.span())
        }
        None => ("POST".to_owned(), attr.span()),
    };
    let (path, path_lit) = match args.string(cx, "path") {
        Some(lit) => (lit.value(), Some(lit)),
        None => (format!("/{ident}"), None),
    };
    let status_lit = args.int(cx, "status");
    let status = status_lit.as_ref().and_then(|lit| match lit.base10_parse::<u16>() {
        Ok(status) if (100..=599).contains(&status) => {
            if !(200..=299).contains(&status) {
                cx.error_spanned_by(
                    lit,
                    format!("`{status}` is not a success status; a request's `status` is 2xx (errors carry their own #[status])"),
                );
            }
            Some(status)
        }
        _ => {
            cx.error_spanned_by(
                lit,
                format!(
                    "`{lit}` is not an HTTP status; a request's `status` is its 2xx success status, as in `status = 201`"
                ),
            );
            None
        }
    });
    let idempotent = args.flag(cx, "idempotent");
    let auth = args
        .string(cx, "auth")
        .and_then(|lit| Some((super::auth::parse_auth(cx, &lit, true)?, lit.span())));
    let scopes = args.strings(cx, "scopes");
    super::auth::check_scopes(cx, &scopes);
    args.finish();
    Request {
        method,
        method_span,
        path,
        path_lit,
        segments: None,
        status,
        status_lit,
        idempotent,
        auth,
        scopes,
    }
}

pub fn parse_event(cx: &Ctxt, attr: &Attribute) -> Event {
    // The broker authenticates the connections that publish and consume
    // events; a message carries no credential of its own.
    const WHY: &str = "events are not authenticated per message: the broker authenticates the connections that publish and subscribe; declare `auth` on requests";
    let mut args = Args::parse_refusing(
        cx,
        &attr.meta,
        "event",
        EVENT_KEYS,
        &[("auth", WHY), ("scopes", WHY)],
    );
    let topic_lit = args.string(cx, "topic");
    if let Some(lit) = &topic_lit {
        let topic = lit.value();
        let valid = !topic.is_empty()
            && topic.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        if !valid {
            cx.error_spanned_by(
                lit,
                format!("`{topic}` is not a valid topic; use dot-separated words of letters, digits, `-` and `_`, as in \"orders.placed\""),
            );
        }
    }
    let key = args.string(cx, "key");
    if let Some(lit) = &key {
        if syn::parse_str::<Ident>(&lit.value()).is_err() {
            cx.error_spanned_by(
                lit,
                "`key` names a field of the payload, as in `key = \"customer_id\"`",
            );
        }
    }
    args.finish();
    Event {
        topic: topic_lit.as_ref().map(LitStr::value).unwrap_or_default(),
        topic_lit,
        key,
    }
}
