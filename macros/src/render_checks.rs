//! The bound checks generated for each operation, placed on the user's own
//! type tokens so that a type that cannot be in a contract, or cannot be
//! carried where it is bound, is reported where it is written, with
//! accord's message.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::{Binding, Event, OpKind, Operation};

/// The checks of one operation: each type is a contract type, the error a
/// service error, each path, header and query type bindable there, and the
/// field an event key names a key.
///
/// The checks sit in an `async fn`: the compiler checks async bodies while it
/// checks item signatures, ahead of ordinary bodies, so these errors come
/// before any follow-on error the rest of the generated code causes for the
/// same type.
pub fn render_type_checks(p: &TokenStream, op: &Operation) -> TokenStream {
    let mut checks = Vec::new();
    for ty in op
        .args
        .iter()
        .map(|a| &a.ty)
        .chain(op.output.success_type())
    {
        checks.push(quote_spanned!(ty.span()=> #p::assert_contract_type::<#ty>();));
    }
    if let (OpKind::Request(_), Some(e)) = (&op.kind, op.output.error_type()) {
        checks.push(quote_spanned!(e.span()=> #p::assert_service_error::<#e>();));
    }
    for arg in &op.args {
        let ty = &arg.ty;
        let assert = match &arg.binding {
            Binding::Path => quote!(assert_path_param),
            Binding::Query(_) => quote!(assert_query),
            Binding::Header(..) => quote!(assert_header_value),
            Binding::Body | Binding::Unbound => continue,
        };
        checks.push(quote_spanned!(ty.span()=> #p::#assert::<#ty>();));
    }
    if let OpKind::Event(Event { key: Some(lit), .. }) = &op.kind {
        if let (Some(payload), Ok(mut field)) =
            (op.args.first(), syn::parse_str::<Ident>(&lit.value()))
        {
            // The closure names the field with the span of the `key`
            // string, so a missing field and a field that cannot be a key
            // are both reported there. It reads the field through `&T` as
            // the publisher does, so a missing field's two diagnostics are
            // identical and shown once.
            field.set_span(lit.span());
            let ty = &payload.ty;
            checks.push(quote_spanned! {lit.span()=>
                #p::assert_event_key::<#ty, _>(|payload: &#ty| &payload.#field);
            });
        }
    }
    if checks.is_empty() {
        return quote!();
    }
    let check_fn = format_ident!("__check_{}", op.ident);
    quote! {
        #[allow(dead_code, non_snake_case, clippy::let_unit_value, clippy::unused_async)]
        async fn #check_fn() {
            #(#checks)*
        }
    }
}
