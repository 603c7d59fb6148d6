//! `#[derive(ServiceError)]`: the status of each variant of an error type.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Attribute, Data, DeriveInput, LitInt};

use crate::attr::crate_path;
use crate::ctxt::Ctxt;
use crate::parse::doc_string;

struct Variant {
    ident: syn::Ident,
    status: u16,
    docs: String,
    pattern: TokenStream,
}

pub fn derive_service_error(input: DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let krate = crate_path(&cx, &input.attrs);
    let ident = &input.ident;
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(&input.generics, "a service error cannot be generic");
    }
    let variants: Vec<Variant> = match &input.data {
        Data::Enum(data) => {
            if data.variants.is_empty() {
                cx.error_spanned_by(ident, "a service error needs at least one variant; use plain `T` returns for methods that cannot fail");
            }
            for attr in input.attrs.iter().filter(|a| a.path().is_ident("status")) {
                cx.error_spanned_by(attr, "on an enum, put #[status(N)] on each variant");
            }
            data.variants
                .iter()
                .filter_map(|v| {
                    let status = status_of(&cx, &v.attrs, &v.ident)?;
                    let vident = &v.ident;
                    Some(Variant {
                        ident: v.ident.clone(),
                        status,
                        docs: doc_string(&v.attrs),
                        pattern: quote!(Self::#vident { .. }),
                    })
                })
                .collect()
        }
        Data::Struct(_) => status_of(&cx, &input.attrs, ident)
            .map(|status| Variant {
                ident: ident.clone(),
                status,
                docs: doc_string(&input.attrs),
                pattern: quote!(Self { .. }),
            })
            .into_iter()
            .collect(),
        Data::Union(_) => {
            cx.error_spanned_by(ident, "a service error is an enum or a struct");
            Vec::new()
        }
    };
    if let Err(errors) = cx.check() {
        return errors;
    }
    let p = quote!(#krate::__private);
    let patterns: Vec<&TokenStream> = variants.iter().map(|v| &v.pattern).collect();
    let statuses: Vec<u16> = variants.iter().map(|v| v.status).collect();
    let names: Vec<String> = variants.iter().map(|v| v.ident.to_string()).collect();
    let docs: Vec<&String> = variants.iter().map(|v| &v.docs).collect();
    quote! {
        const _: () = {
            impl #p::ServiceError for #ident {
                fn status(&self) -> u16 {
                    match self {
                        #(#patterns => #statuses,)*
                    }
                }

                fn variant(&self) -> &'static str {
                    match self {
                        #(#patterns => #names,)*
                    }
                }

                fn variants() -> &'static [#p::ErrorVariantInfo] {
                    &[#(#p::ErrorVariantInfo { name: #names, status: #statuses, docs: #docs }),*]
                }
            }
        };
    }
}

fn status_of(cx: &Ctxt, attrs: &[Attribute], owner: &syn::Ident) -> Option<u16> {
    let mut found: Option<u16> = None;
    let mut seen = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident("status")) {
        if seen {
            cx.error_spanned_by(attr, format!("`{owner}` has more than one #[status]"));
            continue;
        }
        seen = true;
        match attr.parse_args::<LitInt>() {
            Ok(lit) => match lit.base10_parse::<u16>() {
                Ok(status) if (400..=599).contains(&status) => found = Some(status),
                Ok(status) if (100..=599).contains(&status) => cx.error_spanned_by(
                    &lit,
                    format!("`{status}` is not an error status; a service error is sent with a 4xx or 5xx status"),
                ),
                _ => cx.error_spanned_by(&lit, "#[status] must be an HTTP status between 100 and 599"),
            },
            Err(_) => cx.error_spanned_by(attr, "write the status as #[status(404)]"),
        }
    }
    if !seen {
        cx.error_spanned_by(
            owner,
            format!("`{owner}` needs a #[status(N)] with the HTTP status it is sent with, as in #[status(404)]"),
        );
    }
    found
}
