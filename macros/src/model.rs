//! The owned model of a contract trait, and the parse from `syn` into it.
//!
//! Parsing reports what is wrong with each item on its own (a bad key, a
//! non-async method, an unknown HTTP method). [`crate::resolve`] then fills
//! in what the parse leaves implicit (path segments, path and body
//! bindings, default topics), and [`crate::check`] checks the resolved
//! model as a whole without changing it.

use proc_macro2::{Ident, Span};
use syn::spanned::Spanned;
use syn::{
    Attribute, FnArg, GenericArgument, ItemTrait, LitInt, LitStr, Meta, Pat, PathArguments,
    ReturnType, TraitItem, TraitItemFn, Type, Visibility,
};

use crate::attr::Args;
use crate::ctxt::Ctxt;
use crate::path::Seg;

/// `#[accord::service(...)]` keys.
pub const SERVICE_KEYS: &[&str] = &["name", "version", "crate"];
/// `#[request(...)]` keys.
pub const REQUEST_KEYS: &[&str] = &["method", "path", "status", "idempotent"];
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
    "transport",
    "timeout",
    "descriptor",
];

pub struct Service {
    pub vis: Visibility,
    pub ident: Ident,
    pub name: String,
    pub version: String,
    pub docs: String,
    pub doc_attrs: Vec<Attribute>,
    pub krate: syn::Path,
    pub ops: Vec<Operation>,
}

pub struct Operation {
    pub ident: Ident,
    pub docs: String,
    /// Attributes other than ours, passed on to the generated trait methods.
    pub attrs: Vec<Attribute>,
    pub kind: OpKind,
    pub args: Vec<Arg>,
    pub output: Output,
    pub sig_span: Span,
}

pub enum OpKind {
    Request(Request),
    Event(Event),
}

pub struct Request {
    pub method: String,
    pub method_span: Span,
    /// The path template and the literal it came from (for spans).
    pub path: String,
    pub path_lit: Option<LitStr>,
    /// The path split at its parameters; `None` until resolved, and after
    /// resolving when the path is malformed (and reported).
    pub segments: Option<Vec<Seg>>,
    pub status: Option<u16>,
    /// The `status = ...` literal, for errors about the status.
    pub status_lit: Option<LitInt>,
    pub idempotent: bool,
}

impl Request {
    /// Whether requests with this method carry a JSON body.
    pub fn takes_body(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "DELETE" | "HEAD" | "OPTIONS")
    }

    /// Where errors about the path go: the path literal, or the method when
    /// the path is the default.
    pub fn path_span(&self) -> Span {
        self.path_lit
            .as_ref()
            .map(|l| l.span())
            .unwrap_or(self.method_span)
    }
}

pub struct Event {
    pub topic: String,
    pub topic_lit: Option<LitStr>,
    pub key: Option<LitStr>,
}

pub struct Arg {
    pub ident: Ident,
    pub ty: Type,
    pub binding: Binding,
    /// A binding attribute of this argument was malformed and has been
    /// reported; checks that depend on the binding skip it.
    pub binding_reported: bool,
}

/// How an argument is carried. Path and body are decided when the model is
/// resolved against the path template.
#[derive(Clone)]
pub enum Binding {
    Unbound,
    Path,
    Query(Span),
    Header(String, Span),
    Body,
}

#[allow(clippy::large_enum_variant)] // a short-lived parse model
pub enum Output {
    /// No return type.
    Unit,
    /// `-> T`.
    Plain(Type),
    /// `-> Result<T, E>`.
    Result(Type, Type),
}

impl Output {
    pub fn success_type(&self) -> Option<&Type> {
        match self {
            Output::Unit => None,
            Output::Plain(t) | Output::Result(t, _) => Some(t),
        }
    }

    pub fn error_type(&self) -> Option<&Type> {
        match self {
            Output::Result(_, e) => Some(e),
            _ => None,
        }
    }

    /// Whether the success value is `()`.
    pub fn is_unit(&self) -> bool {
        match self.success_type() {
            None => true,
            Some(Type::Tuple(t)) => t.elems.is_empty(),
            Some(_) => false,
        }
    }
}

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

fn parse_operation(cx: &Ctxt, service: &Ident, f: &TraitItemFn) -> Option<Operation> {
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
        output,
        sig_span: f.sig.span(),
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

fn parse_request(cx: &Ctxt, attr: &Attribute, ident: &Ident) -> Request {
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
    }
}

fn parse_event(cx: &Ctxt, attr: &Attribute) -> Event {
    let mut args = Args::parse(cx, &attr.meta, "event", EVENT_KEYS);
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
