//! Procedural macros for accord. Use them through the `accord` crate:
//! `#[accord::service]`, `#[derive(accord::ServiceError)]`,
//! `#[derive(accord::Scalar)]` and `#[derive(accord::Query)]`.
//!
//! `#[accord::service]` parses its input ([`parse`]) into an owned model
//! ([`model`]), resolves what the model leaves implicit ([`resolve`]), checks it as a
//! whole without changing it ([`check`]), collecting every mistake with its
//! span ([`ctxt`]), and only then renders tokens ([`render`]).

mod attr;
mod check;
mod ctxt;
mod error_derive;
mod model;
mod parse;
mod path;
mod render;
mod render_checks;
mod render_events;
mod resolve;
mod serde_attr;
mod types;
mod wire_derive;

use proc_macro::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;

/// Turns a trait into a service contract. See the `accord` crate docs.
#[proc_macro_attribute]
pub fn service(args: TokenStream, input: TokenStream) -> TokenStream {
    let item = match syn::parse::<syn::ItemTrait>(input) {
        Ok(item) => item,
        Err(e) => {
            return syn::Error::new(
                e.span(),
                "#[accord::service] goes on a trait: `pub trait Orders { ... }`",
            )
            .to_compile_error()
            .into()
        }
    };
    let args = proc_macro2::TokenStream::from(args);
    let meta: syn::Meta = if args.is_empty() {
        syn::parse_quote!(service)
    } else {
        match Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated.parse2(args.clone()) {
            Ok(_) => syn::parse_quote!(service(#args)),
            Err(e) => return e.to_compile_error().into(),
        }
    };
    let cx = ctxt::Ctxt::new();
    let mut model = parse::parse_service(&cx, meta, &item);
    resolve::resolve_service(&cx, &mut model);
    check::check_service(&cx, &model);
    match cx.check() {
        Ok(()) => render::render_service(&model).into(),
        Err(errors) => errors.into(),
    }
}

/// Derives `accord::ServiceError`: each variant (or the struct) takes
/// `#[status(N)]`, the 4xx or 5xx status it is sent with.
#[proc_macro_derive(ServiceError, attributes(status, accord))]
pub fn derive_service_error(input: TokenStream) -> TokenStream {
    match syn::parse::<syn::DeriveInput>(input) {
        Ok(input) => error_derive::derive_service_error(input).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Derives `accord::Scalar` for a newtype (`struct OrderId(u64)`, or a
/// one-field struct with `#[serde(transparent)]`) or an enum of unit
/// variants, so it can be a path parameter, a header, a query parameter or
/// an event key.
#[proc_macro_derive(Scalar, attributes(accord))]
pub fn derive_scalar(input: TokenStream) -> TokenStream {
    match syn::parse::<syn::DeriveInput>(input) {
        Ok(input) => wire_derive::scalar::derive_scalar(input).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Derives `accord::Query` for a struct whose named fields are query
/// parameters (each a scalar, an `Option` of one or a `Vec` of them), so it
/// can be a `#[query]` argument.
#[proc_macro_derive(Query, attributes(accord))]
pub fn derive_query(input: TokenStream) -> TokenStream {
    match syn::parse::<syn::DeriveInput>(input) {
        Ok(input) => wire_derive::query::derive_query(input).into(),
        Err(e) => e.to_compile_error().into(),
    }
}
