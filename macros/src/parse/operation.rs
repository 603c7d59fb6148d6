//! One method of a contract trait: its attribute, receiver, arguments with
//! their bindings, and return type.

use proc_macro2::Ident;
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericArgument, LitStr, Meta, Pat, PathArguments, ReturnType, TraitItemFn, Type,
};

use super::kinds::{parse_event, parse_request};
use super::{doc_string, RESERVED};
use crate::ctxt::Ctxt;
use crate::model::{Arg, Binding, ContextArg, OpKind, Operation, Output};

pub fn parse_operation(cx: &Ctxt, service: &Ident, f: &TraitItemFn) -> Option<Operation> {
    let ident = f.sig.ident.clone();
    let mut kind = None;
    let mut attrs = Vec::new();
    for attr in &f.attrs {
        let is_request = attr.path().is_ident("request");
        let is_event = attr.path().is_ident("event");
        if !is_request && !is_event {
            attrs.push(attr.clone());
            continue;
        }
        if kind.is_some() {
            cx.error_spanned_by(
                attr,
                "a method is either one #[request(...)] or one #[event(...)], not both or twice",
            );
            continue;
        }
        kind = Some(if is_request {
            OpKind::Request(parse_request(cx, attr, &ident))
        } else {
            OpKind::Event(parse_event(cx, attr))
        });
    }
    let Some(kind) = kind else {
        cx.error_spanned_by(
            &f.sig.ident,
            format!(
                "`{ident}` needs #[request(...)] (a call with a reply) or #[event(...)] (a published message)"
            ),
        );
        return None;
    };

    let name = ident.to_string();
    if RESERVED.contains(&name.as_str()) {
        cx.error_spanned_by(
            &ident,
            format!("`{name}` is used by the generated server or client; rename this method"),
        );
    }
    if f.sig.asyncness.is_none() {
        cx.error_spanned_by(
            f.sig.fn_token,
            format!("contract methods are `async fn`: write `async fn {ident}`"),
        );
    }
    if !f.sig.generics.params.is_empty() || f.sig.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &f.sig.generics,
            "contract methods cannot be generic: every type must be known to publish its schema",
        );
    }
    if let Some(body) = &f.default {
        let role = match &kind {
            OpKind::Request(_) => "Server",
            OpKind::Event(_) => "Subscriber",
        };
        cx.error_spanned_by(
            body,
            format!(
                "contract methods are declarations without a body: end `{ident}` with `;` and implement it on the generated `{service}{role}` trait"
            ),
        );
    }
    if let Some(v) = &f.sig.variadic {
        cx.error_spanned_by(v, "contract methods cannot be variadic");
    }
    if let Some(c) = &f.sig.constness {
        cx.error_spanned_by(c, "contract methods cannot be `const`");
    }
    if let Some(u) = &f.sig.unsafety {
        cx.error_spanned_by(u, "contract methods cannot be `unsafe`");
    }

    let mut inputs = f.sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(r))
            if r.reference.is_some() && r.mutability.is_none() && r.colon_token.is_none() => {}
        Some(FnArg::Receiver(r)) => {
            let message = if r.reference.is_some() && r.mutability.is_some() {
                "contract methods take `&self`, not `&mut self`: the server answers calls concurrently, so keep mutable state behind a lock or channel"
            } else if r.colon_token.is_some() {
                "contract methods take plain `&self`, not a typed receiver"
            } else {
                "contract methods take `&self`, not `self`: the server answers many calls"
            };
            cx.error_spanned_by(r, message);
        }
        _ => cx.error_spanned_by(
            &f.sig.ident,
            format!("`{ident}` must take `&self` as its first argument"),
        ),
    }
    let mut args = Vec::new();
    let mut context: Option<ContextArg> = None;
    for input in f.sig.inputs.iter() {
        let FnArg::Typed(pat_type) = input else {
            continue;
        };
        let arg_ident = match &*pat_type.pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => p.ident.clone(),
            other => {
                cx.error_spanned_by(
                    other,
                    "contract arguments are plain names, as in `id: OrderId`",
                );
                continue;
            }
        };
        if let Some(found) = context_type(&pat_type.ty) {
            if found.mutable {
                cx.error_spanned_by(
                    &pat_type.ty,
                    "the context is shared with the interceptors and the transport: take `&Context` (or `Context`), not `&mut Context`",
                );
            }
            for attr in &pat_type.attrs {
                cx.error_spanned_by(
                    attr,
                    "the context is not carried on the wire, so it takes no binding attribute: remove this attribute",
                );
            }
            if let Some(first) = &context {
                cx.error_spanned_by(
                    &pat_type.ty,
                    format!(
                        "`{ident}` already takes the context as `{}`; a method takes at most one context argument",
                        first.ident
                    ),
                );
                continue;
            }
            context = Some(ContextArg {
                ident: arg_ident,
                ty: (*pat_type.ty).clone(),
                inner: found.inner,
                by_ref: found.by_ref,
                position: args.len(),
            });
            continue;
        }
        if let Type::Reference(r) = &*pat_type.ty {
            cx.error_spanned_by(
                r,
                "contract arguments are owned values; the generated client takes them by reference",
            );
        }
        if let Type::ImplTrait(t) = &*pat_type.ty {
            cx.error_spanned_by(t, "contract arguments need a concrete type");
        }
        let mut binding = Binding::Unbound;
        let mut binding_reported = false;
        for attr in &pat_type.attrs {
            let new = if attr.path().is_ident("query") {
                if !matches!(attr.meta, Meta::Path(_)) {
                    cx.error_spanned_by(attr, "#[query] takes no arguments");
                }
                Binding::Query(attr.path().span())
            } else if attr.path().is_ident("header") {
                match attr.parse_args::<LitStr>() {
                    Ok(lit) => {
                        let name = lit.value();
                        if !is_header_name(&name) {
                            cx.error_spanned_by(
                                &lit,
                                format!("`{name}` is not a valid header name; use lowercase letters, digits and `-`, as in \"idempotency-key\""),
                            );
                        }
                        Binding::Header(name, lit.span())
                    }
                    Err(_) => {
                        cx.error_spanned_by(
                            attr,
                            "write the header name: #[header(\"idempotency-key\")]",
                        );
                        binding_reported = true;
                        continue;
                    }
                }
            } else {
                let path = attr.path();
                let name = quote::quote!(#path).to_string().replace(' ', "");
                cx.error_spanned_by(
                    attr,
                    format!(
                        "unknown argument attribute `#[{name}]`; an argument takes #[query], #[header(\"name\")], or nothing (a `{{name}}` path parameter or the JSON body)"
                    ),
                );
                binding_reported = true;
                continue;
            };
            if !matches!(binding, Binding::Unbound) {
                cx.error_spanned_by(
                    attr,
                    format!(
                        "`{arg_ident}` is bound twice; an argument takes one of #[query] or #[header(\"name\")]"
                    ),
                );
                continue;
            }
            binding = new;
        }
        args.push(Arg {
            ident: arg_ident,
            ty: (*pat_type.ty).clone(),
            binding,
            binding_reported,
        });
    }

    let output = match &f.sig.output {
        ReturnType::Default => Output::Unit,
        ReturnType::Type(_, ty) => parse_output(cx, ty),
    };

    Some(Operation {
        ident,
        docs: doc_string(&f.attrs),
        attrs,
        kind,
        args,
        context,
        output,
        sig_span: f.sig.span(),
    })
}

/// A type written as `Context`, `&Context` or `&mut Context` (by any path
/// ending in `Context`): the call's context, recognised by its name. The
/// generated code checks that it is accord's.
struct ContextType {
    inner: Type,
    by_ref: bool,
    mutable: bool,
}

fn context_type(ty: &Type) -> Option<ContextType> {
    let (inner, by_ref, mutable) = match ty {
        Type::Reference(r) => (&*r.elem, true, r.mutability.is_some()),
        other => (other, false, false),
    };
    let Type::Path(path) = inner else {
        return None;
    };
    let last = path.path.segments.last()?;
    (path.qself.is_none() && last.ident == "Context" && last.arguments.is_empty()).then(|| {
        ContextType {
            inner: inner.clone(),
            by_ref,
            mutable,
        }
    })
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn parse_output(cx: &Ctxt, ty: &Type) -> Output {
    if let Type::ImplTrait(t) = ty {
        cx.error_spanned_by(
            t,
            "write the concrete return type; the generated traits add `impl Future` themselves",
        );
        return Output::Unit;
    }
    if let Type::Path(path) = ty {
        if path.qself.is_none() {
            if let Some(last) = path.path.segments.last() {
                if last.ident == "Result" {
                    if let PathArguments::AngleBracketed(generics) = &last.arguments {
                        let types: Vec<&Type> = generics
                            .args
                            .iter()
                            .filter_map(|a| match a {
                                GenericArgument::Type(t) => Some(t),
                                _ => None,
                            })
                            .collect();
                        if let [ok, err] = types[..] {
                            return Output::Result(ok.clone(), err.clone());
                        }
                    }
                    cx.error_spanned_by(
                        ty,
                        "write the result as `Result<T, E>` with the error type `E` (it derives accord::ServiceError)",
                    );
                    return Output::Unit;
                }
            }
        }
    }
    Output::Plain(ty.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Service;
    use crate::parse::parse_service;
    use syn::ItemTrait;

    #[test]
    fn checks_header_names() {
        assert!(is_header_name("idempotency-key"));
        assert!(is_header_name("x-request-id"));
        assert!(!is_header_name(""));
        assert!(!is_header_name("X-Key"));
        assert!(!is_header_name("x key"));
    }

    fn parse_trait(cx: &Ctxt, item: ItemTrait) -> Service {
        parse_service(cx, syn::parse_quote!(service(version = "1.0.0")), &item)
    }

    fn errors(cx: Ctxt) -> String {
        cx.check().err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn a_malformed_binding_attribute_is_marked_reported() {
        let cx = Ctxt::new();
        let service = parse_trait(
            &cx,
            syn::parse_quote! {
                trait Items {
                    #[request(method = "GET", path = "/items")]
                    async fn items(&self, #[cookie] session: String, #[header] key: String);
                }
            },
        );
        let args = &service.ops[0].args;
        assert!(args.iter().all(|a| a.binding_reported));
        let errors = errors(cx);
        assert!(
            errors.contains("unknown argument attribute `#[cookie]`"),
            "{errors}"
        );
        assert!(errors.contains("write the header name"), "{errors}");
    }

    #[test]
    fn receivers_other_than_ref_self_say_what_to_write() {
        let cx = Ctxt::new();
        parse_trait(
            &cx,
            syn::parse_quote! {
                trait Items {
                    #[request]
                    async fn by_ref_mut(&mut self);
                    #[request]
                    async fn by_value(self);
                }
            },
        );
        let errors = errors(cx);
        assert!(errors.contains("not `&mut self`"), "{errors}");
        assert!(errors.contains("not `self`"), "{errors}");
    }

    #[test]
    fn a_default_body_names_the_trait_to_implement() {
        let cx = Ctxt::new();
        parse_trait(
            &cx,
            syn::parse_quote! {
                trait Items {
                    #[request]
                    async fn count(&self) -> u64 { 0 }
                    #[event]
                    async fn added(&self, name: String) {}
                }
            },
        );
        let errors = errors(cx);
        assert!(errors.contains("`ItemsServer`"), "{errors}");
        assert!(errors.contains("`ItemsSubscriber`"), "{errors}");
    }
}
