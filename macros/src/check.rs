//! Checks over the whole model: argument bindings against path templates,
//! bodies, event payloads, and routes or topics declared twice. Fills in
//! what follows from the checks (path and body bindings, default topics).

use std::collections::HashMap;

use proc_macro2::Span;
use syn::spanned::Spanned;

use crate::ctxt::Ctxt;
use crate::model::{Binding, OpKind, Operation, Output, Request, Service};

/// A piece of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Literal(String),
    Param(String),
}

pub fn check_service(cx: &Ctxt, service: &mut Service) {
    // (method, route shape) -> (operation, path as written)
    let mut routes: HashMap<(String, String), (String, String)> = HashMap::new();
    let mut topics: HashMap<String, String> = HashMap::new();
    let service_name = service.name.clone();
    for op in &mut service.ops {
        let op_name = op.ident.to_string();
        match &mut op.kind {
            OpKind::Request(request) => {
                // A malformed path is reported once; checking arguments
                // against it would only add follow-on errors.
                let Some(segments) = parse_path(cx, request) else {
                    continue;
                };
                check_bindings(cx, request, &segments, &mut op.args);
                let key = (request.method.clone(), route_shape(&segments));
                if let Some((first, first_path)) = routes.get(&key) {
                    cx.error_at(
                        path_span(request),
                        duplicate_route_message(&request.method, &request.path, first, first_path),
                    );
                } else {
                    routes.insert(key, (op_name.clone(), request.path.clone()));
                }
            }
            OpKind::Event(event) => {
                if event.topic.is_empty() && event.topic_lit.is_none() {
                    event.topic = format!("{service_name}.{op_name}");
                }
                let span = event
                    .topic_lit
                    .as_ref()
                    .map(|l| l.span())
                    .unwrap_or(op.ident.span());
                if let Some(first) = topics.get(&event.topic) {
                    cx.error_at(
                        span,
                        format!(
                            "topic `{}` is already used by `{first}`; each event has its own topic",
                            event.topic
                        ),
                    );
                } else {
                    topics.insert(event.topic.clone(), op_name.clone());
                }
                check_event(cx, op);
            }
        }
    }
}

/// The route a path template matches, with parameter names erased:
/// `/orders/{id}` and `/orders/{order}` are the same route.
pub fn route_shape(segments: &[Seg]) -> String {
    segments
        .iter()
        .map(|s| match s {
            Seg::Literal(l) => l.as_str(),
            Seg::Param(_) => "{}",
        })
        .collect()
}

/// The message for a second operation on a route that `first` already
/// serves, under the path `first_path`.
pub fn duplicate_route_message(method: &str, path: &str, first: &str, first_path: &str) -> String {
    if path == first_path {
        format!("`{method} {path}` is already served by `{first}`; give each operation its own method and path")
    } else {
        format!(
            "`{method} {path}` is the same route as `{method} {first_path}` of `{first}` (parameter names do not tell requests apart); give each operation its own method and path"
        )
    }
}

fn path_span(request: &Request) -> Span {
    request
        .path_lit
        .as_ref()
        .map(|l| l.span())
        .unwrap_or(request.method_span)
}

/// Splits a path template at its `{name}` parameters.
pub fn split_path(path: &str) -> Result<Vec<Seg>, String> {
    if !path.starts_with('/') {
        return Err(format!("the path `{path}` must start with `/`"));
    }
    if path.contains(['?', '#']) {
        return Err(format!(
            "the path `{path}` cannot hold a query or fragment; bind query parameters with #[query]"
        ));
    }
    let mut segments = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        match rest.find(['{', '}']) {
            None => {
                segments.push(Seg::Literal(rest.to_owned()));
                break;
            }
            Some(i) if rest.as_bytes()[i] == b'}' => {
                return Err(format!("unmatched `}}` in the path `{path}`"));
            }
            Some(i) => {
                if i > 0 {
                    segments.push(Seg::Literal(rest[..i].to_owned()));
                }
                let after = &rest[i + 1..];
                let Some(end) = after.find('}') else {
                    return Err(format!("unclosed `{{` in the path `{path}`"));
                };
                let name = &after[..end];
                if name.starts_with('*') {
                    return Err(format!(
                        "`{{{name}}}`: catch-all parameters are not supported; each parameter is one path segment"
                    ));
                }
                if syn::parse_str::<syn::Ident>(name).is_err() {
                    return Err(format!(
                        "`{{{name}}}` in the path `{path}` is not a parameter name; write `{{id}}`"
                    ));
                }
                let before_ok = i > 0 && rest[..i].ends_with('/');
                let after_ok = after[end + 1..].is_empty() || after[end + 1..].starts_with('/');
                if !before_ok || !after_ok {
                    return Err(format!(
                        "`{{{name}}}` must be a whole path segment, as in `/orders/{{{name}}}`"
                    ));
                }
                if segments
                    .iter()
                    .any(|s| matches!(s, Seg::Param(p) if p == name))
                {
                    return Err(format!("the path parameter `{{{name}}}` appears twice"));
                }
                segments.push(Seg::Param(name.to_owned()));
                rest = &after[end + 1..];
            }
        }
    }
    Ok(segments)
}

fn parse_path(cx: &Ctxt, request: &Request) -> Option<Vec<Seg>> {
    match split_path(&request.path) {
        Ok(segments) => Some(segments),
        Err(message) => {
            cx.error_at(path_span(request), message);
            None
        }
    }
}

fn check_bindings(cx: &Ctxt, request: &Request, segments: &[Seg], args: &mut [crate::model::Arg]) {
    let mut unmatched = Vec::new();
    for seg in segments {
        let Seg::Param(name) = seg else { continue };
        match args.iter_mut().find(|a| a.ident == name.as_str()) {
            Some(arg) => match &arg.binding {
                Binding::Unbound => arg.binding = Binding::Path,
                Binding::Query(span) | Binding::Header(_, span) => cx.error_at(
                    *span,
                    format!(
                        "`{name}` is bound twice: by `{{{name}}}` in the path and by this attribute; remove the attribute, or rename the path parameter"
                    ),
                ),
                Binding::Path | Binding::Body => {}
            },
            None => unmatched.push(name.as_str()),
        }
    }
    let candidates: Vec<String> = args
        .iter()
        .filter(|a| matches!(a.binding, Binding::Unbound) && !a.binding_reported)
        .map(|a| a.ident.to_string())
        .collect();
    for name in &unmatched {
        cx.error_at(
            path_span(request),
            missing_path_argument_message(name, &candidates),
        );
    }

    let takes_body = !matches!(
        request.method.as_str(),
        "GET" | "DELETE" | "HEAD" | "OPTIONS"
    );
    let mut body_seen = false;
    let mut query_seen = false;
    let mut headers: Vec<String> = Vec::new();
    for arg in args.iter_mut() {
        if arg.binding_reported {
            continue;
        }
        match &arg.binding {
            Binding::Unbound => {
                if !takes_body {
                    // An argument left over next to an unmatched path
                    // parameter is most likely that parameter, misnamed;
                    // the parameter's error already says so.
                    if !unmatched.is_empty() {
                        continue;
                    }
                    cx.error_spanned_by(
                        &arg.ident,
                        format!(
                            "{} requests take no body, so `{}` needs a binding: a `{{{}}}` path parameter, #[query] or #[header(\"...\")]",
                            request.method, arg.ident, arg.ident
                        ),
                    );
                } else if body_seen {
                    cx.error_spanned_by(
                        &arg.ident,
                        format!(
                            "`{}` would be a second JSON body; a request has at most one body argument (put both in one struct, or bind this one with #[query] or #[header(\"...\")])",
                            arg.ident
                        ),
                    );
                } else {
                    body_seen = true;
                    arg.binding = Binding::Body;
                }
            }
            Binding::Query(span) => {
                if query_seen {
                    cx.error_at(
                        *span,
                        "a request has at most one #[query] argument; put the parameters in one struct",
                    );
                }
                query_seen = true;
            }
            Binding::Header(name, span) => {
                if headers.contains(name) {
                    cx.error_at(*span, format!("the header `{name}` is bound twice"));
                }
                if matches!(
                    name.as_str(),
                    "content-type" | "content-length" | "host" | "transfer-encoding"
                ) {
                    cx.error_at(
                        *span,
                        format!("`{name}` is set by the transport and cannot be an argument"),
                    );
                }
                headers.push(name.clone());
            }
            Binding::Path | Binding::Body => {}
        }
    }
}

/// The message for a path parameter `{name}` that no argument is named
/// after; `candidates` are the arguments that are not bound otherwise.
pub fn missing_path_argument_message(name: &str, candidates: &[String]) -> String {
    let mut message =
        format!("the path parameter `{{{name}}}` has no argument named `{name}`; add `{name}: T` to the method");
    match candidates {
        [] => {}
        [one] => message.push_str(&format!(", or rename the parameter to `{{{one}}}`")),
        many => {
            let names: Vec<String> = many.iter().map(|c| format!("`{{{c}}}`")).collect();
            message.push_str(&format!(
                ", or rename the parameter to one of {}",
                names.join(", ")
            ));
        }
    }
    message
}

fn check_event(cx: &Ctxt, op: &Operation) {
    match op.args.as_slice() {
        [] => cx.error_spanned_by(
            &op.ident,
            format!(
                "the event `{}` needs exactly one payload argument, as in `async fn {}(&self, event: OrderPlaced)`",
                op.ident, op.ident
            ),
        ),
        [payload, rest @ ..] => {
            for extra in rest {
                cx.error_spanned_by(
                    &extra.ident,
                    format!(
                        "an event carries exactly one payload; `{}` is a second one (put the fields in the payload struct)",
                        extra.ident
                    ),
                );
            }
            match &payload.binding {
                Binding::Query(span) | Binding::Header(_, span) => cx.error_at(
                    *span,
                    "event payloads are not bound to HTTP; remove this attribute",
                ),
                _ => {}
            }
        }
    }
    let fine = match &op.output {
        Output::Unit => true,
        Output::Result(_, _) => op.output.is_unit(),
        Output::Plain(_) => false,
    };
    if !fine {
        let span = match &op.output {
            Output::Plain(t) | Output::Result(t, _) => t.span(),
            Output::Unit => op.sig_span,
        };
        cx.error_at(
            span,
            format!(
                "the event handler `{}` returns a value, but events have no reply; return `()` or `Result<(), E>` (an error means retry)",
                op.ident
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_paths_at_parameters() {
        assert_eq!(
            split_path("/orders/{id}/lines/{line}").unwrap(),
            vec![
                Seg::Literal("/orders/".into()),
                Seg::Param("id".into()),
                Seg::Literal("/lines/".into()),
                Seg::Param("line".into()),
            ]
        );
        assert_eq!(split_path("/").unwrap(), vec![Seg::Literal("/".into())]);
    }

    #[test]
    fn rejects_malformed_paths() {
        for (path, needle) in [
            ("orders", "must start with `/`"),
            ("/orders/{id", "unclosed"),
            ("/orders/id}", "unmatched"),
            ("/orders/{1d}", "not a parameter name"),
            ("/orders/x{id}", "whole path segment"),
            ("/orders/{id}x", "whole path segment"),
            ("/orders/{id}/{id}", "appears twice"),
            ("/orders?x=1", "query"),
            ("/files/{*rest}", "catch-all"),
        ] {
            let err = split_path(path).unwrap_err();
            assert!(err.contains(needle), "{path}: {err}");
        }
    }

    #[test]
    fn route_shapes_ignore_parameter_names() {
        let a = route_shape(&split_path("/items/{id}/lines/{line}").unwrap());
        let b = route_shape(&split_path("/items/{item}/lines/{n}").unwrap());
        assert_eq!(a, b);
        assert_eq!(a, "/items/{}/lines/{}");
        assert_ne!(a, route_shape(&split_path("/items/{id}").unwrap()));
    }

    #[test]
    fn duplicate_routes_name_both_paths_when_they_differ() {
        let same = duplicate_route_message("GET", "/ping", "ping", "/ping");
        assert!(
            same.starts_with("`GET /ping` is already served by `ping`"),
            "{same}"
        );
        let renamed = duplicate_route_message("GET", "/items/{name}", "by_id", "/items/{id}");
        assert!(
            renamed
                .contains("`GET /items/{name}` is the same route as `GET /items/{id}` of `by_id`"),
            "{renamed}"
        );
    }

    #[test]
    fn missing_path_arguments_suggest_unbound_ones() {
        let none = missing_path_argument_message("id", &[]);
        assert!(none.ends_with("add `id: T` to the method"), "{none}");
        let one = missing_path_argument_message("id", &["item_id".into()]);
        assert!(
            one.ends_with("or rename the parameter to `{item_id}`"),
            "{one}"
        );
        let two = missing_path_argument_message("id", &["a".into(), "b".into()]);
        assert!(two.ends_with("one of `{a}`, `{b}`"), "{two}");
    }
}
