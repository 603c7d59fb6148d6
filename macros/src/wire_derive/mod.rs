//! `#[derive(Scalar)]` and `#[derive(Query)]`: the marker traits that say a
//! type can travel as text (see `accord::Scalar` and `accord::Query`).
//!
//! Each derive checks the shape serde will give the type ([`scalar`],
//! [`query`]) with errors at the offending item, then implements the marker
//! with a bound on each type the shape depends on: a newtype's field, a
//! query struct's fields. A bound on a concrete type is asserted in a
//! function, at the type's span, so a field that is not a scalar is reported
//! there with accord's message; a bound on a type that names a generic
//! parameter goes in the impl's `where` clause instead.

pub mod query;
pub mod scalar;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Type};

use crate::types::mentions_generic;

/// A type the derived impl depends on, and the trait it must implement.
pub struct Bound {
    pub ty: Type,
    /// The `__private` trait, such as `Scalar`.
    pub trait_name: &'static str,
    /// The `__private` function asserting it, such as `assert_scalar`.
    pub assert_fn: &'static str,
}

/// `impl <krate>::__private::<marker> for <input>`, with `bounds` checked.
pub fn render_marker_impl(
    krate: &syn::Path,
    input: &DeriveInput,
    marker: &str,
    bounds: &[Bound],
) -> TokenStream {
    let p = quote!(#krate::__private);
    let ident = &input.ident;
    let marker = syn::Ident::new(marker, proc_macro2::Span::call_site());
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p)).collect())
        .unwrap_or_default();
    let mut asserts = Vec::new();
    for bound in bounds {
        let ty = &bound.ty;
        if mentions_generic(ty, &input.generics) {
            let name = syn::Ident::new(bound.trait_name, ty.span());
            predicates.push(quote_spanned!(ty.span()=> #ty: #p::#name));
        } else {
            let name = syn::Ident::new(bound.assert_fn, ty.span());
            asserts.push(quote_spanned!(ty.span()=> #p::#name::<#ty>();));
        }
    }
    let check = (!asserts.is_empty()).then(|| {
        quote! {
            #[allow(dead_code)]
            fn __check_fields() {
                #(#asserts)*
            }
        }
    });
    quote! {
        const _: () = {
            impl #impl_generics #p::#marker for #ident #ty_generics where #(#predicates,)* {}
            #check
        };
    }
}
