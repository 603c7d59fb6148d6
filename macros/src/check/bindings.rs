//! Each argument bound exactly once: path parameters against the arguments
//! they name, at most one JSON body and one `#[query]`, headers once each.

use crate::ctxt::Ctxt;
use crate::model::{Arg, Binding, Request};
use crate::path::Seg;

pub fn check_bindings(cx: &Ctxt, request: &Request, segments: &[Seg], args: &[Arg]) {
    let mut unmatched = Vec::new();
    for seg in segments {
        let Seg::Param(name) = seg else { continue };
        match args.iter().find(|a| a.ident == name.as_str()) {
            Some(arg) => match &arg.binding {
                Binding::Query(span) | Binding::Header(_, span) => cx.error_at(
                    *span,
                    format!(
                        "`{name}` is bound twice: by `{{{name}}}` in the path and by this attribute; remove the attribute, or rename the path parameter"
                    ),
                ),
                Binding::Path | Binding::Body | Binding::Unbound => {}
            },
            None => unmatched.push(name.as_str()),
        }
    }
    // The arguments nothing else claims: what a misnamed parameter may mean.
    let candidates: Vec<String> = args
        .iter()
        .filter(|a| matches!(a.binding, Binding::Unbound | Binding::Body) && !a.binding_reported)
        .map(|a| a.ident.to_string())
        .collect();
    for name in &unmatched {
        cx.error_at(
            request.path_span(),
            missing_path_argument_message(name, &candidates),
        );
    }

    let mut body_seen = false;
    let mut query_seen = false;
    let mut headers: Vec<&str> = Vec::new();
    for arg in args {
        if arg.binding_reported {
            continue;
        }
        match &arg.binding {
            // Resolving binds every free argument of a request that takes
            // a body, so one left unbound is on a request that takes none.
            Binding::Unbound => {
                // An argument left over next to an unmatched path
                // parameter is most likely that parameter, misnamed; the
                // parameter's error already says so.
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
            }
            Binding::Body => {
                if body_seen {
                    cx.error_spanned_by(
                        &arg.ident,
                        format!(
                            "`{}` would be a second JSON body; a request has at most one body argument (put both in one struct, or bind this one with #[query] or #[header(\"...\")])",
                            arg.ident
                        ),
                    );
                }
                body_seen = true;
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
                if headers.contains(&name.as_str()) {
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
                headers.push(name);
            }
            Binding::Path => {}
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

#[cfg(test)]
mod tests {
    use super::*;

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
