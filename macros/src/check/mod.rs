//! Checks over the resolved model, which they only read: routes and topics
//! declared twice, argument bindings ([`bindings`]), the types bound to
//! text and the success status against the return type ([`wire`]), and the
//! shape of event methods.

mod auth;
mod bindings;
mod wire;

use std::collections::HashMap;

use syn::spanned::Spanned;

use crate::ctxt::Ctxt;
use crate::model::{Binding, OpKind, Operation, Output, Service};
use crate::path::route_shape;

pub fn check_service(cx: &Ctxt, service: &Service) {
    auth::check_auth(cx, service);
    // (method, route shape) -> (operation, path as written)
    let mut routes: HashMap<(String, String), (String, String)> = HashMap::new();
    let mut topics: HashMap<String, String> = HashMap::new();
    for op in &service.ops {
        let op_name = op.ident.to_string();
        match &op.kind {
            OpKind::Request(request) => {
                wire::check_success_status(cx, op, request);
                // A malformed path has been reported; checking arguments
                // against it would only add follow-on errors.
                let Some(segments) = &request.segments else {
                    continue;
                };
                bindings::check_bindings(cx, request, segments, &op.args);
                wire::check_binding_types(cx, op, segments);
                let key = (request.method.clone(), route_shape(segments));
                if let Some((first, first_path)) = routes.get(&key) {
                    cx.error_at(
                        request.path_span(),
                        duplicate_route_message(&request.method, &request.path, first, first_path),
                    );
                } else {
                    routes.insert(key, (op_name.clone(), request.path.clone()));
                }
            }
            OpKind::Event(event) => {
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
}
