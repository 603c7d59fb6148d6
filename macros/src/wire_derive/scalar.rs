//! `#[derive(Scalar)]`: a newtype of a scalar, or an enum of unit variants.

use proc_macro2::TokenStream;
use syn::{Data, DataEnum, DataStruct, DeriveInput, Fields, Type};

use super::{render_marker_impl, Bound};
use crate::attr::crate_path;
use crate::ctxt::Ctxt;
use crate::serde_attr;
use crate::types::type_text;

pub fn derive_scalar(input: DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let krate = crate_path(&cx, &input.attrs);
    let serde = serde_attr::Container::parse(&input.attrs);
    let mut values: Vec<Type> = Vec::new();
    // `into` and `from` name the types it is written as and read from; a
    // type that names neither is written in its own shape.
    for lit in [&serde.into, &serde.from].into_iter().flatten() {
        // serde reports a string that is not a type.
        if let Ok(ty) = lit.parse::<Type>() {
            values.push(ty);
        }
    }
    if serde.into.is_none() || serde.from.is_none() {
        match &input.data {
            Data::Struct(data) => values.extend(struct_value(&cx, &input, data, &serde)),
            Data::Enum(data) => check_enum(&cx, &input, data, &serde),
            Data::Union(_) => cx.error_spanned_by(
                &input.ident,
                format!(
                    "`{}` is a union; `#[derive(accord::Scalar)]` goes on a newtype such as `struct OrderId(u64)` or on an enum of unit variants",
                    input.ident
                ),
            ),
        }
    }
    if let Err(errors) = cx.check() {
        return errors;
    }
    let bounds: Vec<Bound> = values
        .into_iter()
        .map(|ty| Bound {
            ty,
            trait_name: "Scalar",
            assert_fn: "assert_scalar",
        })
        .collect();
    render_marker_impl(&krate, &input, "Scalar", &bounds)
}

/// The type a struct is written as: its one field. `None` when the shape is
/// wrong (reported) or the field is written by the user's own functions.
fn struct_value(
    cx: &Ctxt,
    input: &DeriveInput,
    data: &DataStruct,
    serde: &serde_attr::Container,
) -> Option<Type> {
    let ident = &input.ident;
    let fields: Vec<&syn::Field> = data.fields.iter().collect();
    let value = if serde.transparent {
        let kept: Vec<&&syn::Field> = fields
            .iter()
            .filter(|f| !serde_attr::Field::parse(&f.attrs).skipped)
            .collect();
        // serde reports a transparent struct without exactly one field.
        let [value] = kept.as_slice() else {
            return None;
        };
        **value
    } else {
        match (&data.fields, fields.as_slice()) {
            (Fields::Unnamed(_), [value]) => *value,
            (Fields::Unit, _) | (_, []) => {
                cx.error_spanned_by(
                    ident,
                    format!(
                        "`{ident}` has no field, so it is written as null or an empty list, not as one string, number or boolean; `#[derive(accord::Scalar)]` goes on a newtype such as `struct {ident}(String)` or on an enum of unit variants"
                    ),
                );
                return None;
            }
            (Fields::Named(_), [value]) => {
                let field = value
                    .ident
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                cx.error_spanned_by(
                    ident,
                    format!(
                        "`{ident}` is written as a map with the key `{field}`, not as one string, number or boolean; add `#[serde(transparent)]` so that it is written as its field, or make it a tuple struct: `struct {ident}({})`",
                        type_text(&value.ty)
                    ),
                );
                return None;
            }
            (fields, many) => {
                let written = if matches!(fields, Fields::Named(_)) {
                    "a map"
                } else {
                    "a list"
                };
                cx.error_spanned_by(
                    ident,
                    format!(
                        "`{ident}` has {} fields, so it is written as {written}, not as one string, number or boolean; `#[derive(accord::Scalar)]` goes on a newtype of one value, such as `struct {ident}(String)`, or on an enum of unit variants (a struct travels in a JSON body)",
                        many.len()
                    ),
                );
                return None;
            }
        }
    };
    if serde_attr::Field::parse(&value.attrs).custom {
        return None;
    }
    Some(value.ty.clone())
}

fn check_enum(cx: &Ctxt, input: &DeriveInput, data: &DataEnum, serde: &serde_attr::Container) {
    let ident = &input.ident;
    if let Some(span) = serde.tag {
        cx.error_at(
            span,
            format!(
                "a tagged enum writes each variant as a map, such as `{{\"tag\": \"Variant\"}}`, so `{ident}` would not be one string; remove `tag` (and `content`) so that each variant is written as its name"
            ),
        );
    }
    if let Some(span) = serde.untagged {
        cx.error_at(
            span,
            format!(
                "an untagged enum writes its unit variants as null, so `{ident}` would not be one string; remove `untagged` so that each variant is written as its name"
            ),
        );
    }
    for variant in &data.variants {
        let attrs = serde_attr::Variant::parse(&variant.attrs);
        if attrs.skipped || attrs.custom {
            continue;
        }
        let name = &variant.ident;
        if let Some(span) = attrs.untagged {
            cx.error_at(
                span,
                format!("an untagged variant is written as null; remove `untagged` so that `{name}` is written as its name"),
            );
        }
        if !matches!(variant.fields, Fields::Unit) {
            let shown = if matches!(variant.fields, Fields::Named(_)) {
                " { .. }"
            } else {
                "(..)"
            };
            cx.error_spanned_by(
                name,
                format!(
                    "`{name}{shown}` carries data, so `{ident}` is not written as one string; a scalar enum has only unit variants, each written as its name: make `{name}` a unit variant, or send `{ident}` in a JSON body"
                ),
            );
        }
    }
}
