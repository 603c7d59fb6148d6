//! Procedural macros for accord. Use them through the `accord` crate:
//! `#[accord::service]` and `#[derive(accord::ServiceError)]`.
//!
//! Each macro parses its input into an owned model ([`model`]), checks the
//! model as a whole ([`check`]), collecting every mistake with its span
//! ([`ctxt`]), and only then renders tokens ([`render`]).

mod attr;
mod check;
mod ctxt;
mod error_derive;
mod model;
mod render;
mod render_events;

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
    let mut model = model::parse_service(&cx, meta, &item);
    check::check_service(&cx, &mut model);
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
