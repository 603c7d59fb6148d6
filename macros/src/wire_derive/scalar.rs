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

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn derive(input: DeriveInput) -> String {
        derive_scalar(input).to_string()
    }

    #[test]
    fn a_newtype_asserts_its_field() {
        let out = derive(parse_quote!(
            struct OrderId(u64);
        ));
        assert!(
            out.contains("impl :: accord :: __private :: Scalar for OrderId"),
            "{out}"
        );
        assert!(out.contains("assert_scalar :: < u64 >"), "{out}");
        let out = derive(parse_quote!(
            #[serde(transparent)]
            struct Sku {
                value: String,
                #[serde(skip)]
                cache: Vec<u8>,
            }
        ));
        assert!(out.contains("assert_scalar :: < String >"), "{out}");
        assert!(!out.contains("Vec"), "{out}");
    }

    #[test]
    fn a_generic_field_is_bounded_in_the_where_clause() {
        let out = derive(parse_quote!(
            struct Id<T>(T);
        ));
        assert!(
            out.contains("where T : :: accord :: __private :: Scalar"),
            "{out}"
        );
        assert!(!out.contains("assert_scalar"), "{out}");
    }

    #[test]
    fn into_and_from_types_replace_the_shape() {
        let out = derive(parse_quote!(
            #[serde(into = "String", try_from = "String")]
            struct Version {
                major: u16,
                minor: u16,
            }
        ));
        assert!(!out.contains("compile_error"), "{out}");
        assert_eq!(
            out.matches("assert_scalar :: < String >").count(),
            2,
            "{out}"
        );
    }

    #[test]
    fn unit_enums_are_scalars_and_data_variants_are_not() {
        let out = derive(parse_quote!(
            enum Status {
                Placed,
                #[serde(skip)]
                Internal(Vec<u8>),
            }
        ));
        assert!(!out.contains("compile_error"), "{out}");
        let out = derive(parse_quote!(
            enum Status {
                Placed,
                Shipped(String),
            }
        ));
        assert!(out.contains("`Shipped(..)` carries data"), "{out}");
    }

    #[test]
    fn shapes_that_are_not_one_value_say_why() {
        for (input, needle) in [
            (
                parse_quote!(
                    struct Money {
                        cents: u64,
                        currency: String,
                    }
                ),
                "has 2 fields, so it is written as a map",
            ),
            (
                parse_quote!(
                    struct Pair(u8, u8);
                ),
                "has 2 fields, so it is written as a list",
            ),
            (
                parse_quote!(
                    struct Sku {
                        value: String,
                    }
                ),
                "add `#[serde(transparent)]`",
            ),
            (
                parse_quote!(
                    struct Nothing;
                ),
                "has no field",
            ),
            (
                parse_quote!(
                    #[serde(tag = "kind")]
                    enum Status {
                        Placed,
                    }
                ),
                "remove `tag`",
            ),
            (
                parse_quote!(
                    #[serde(untagged)]
                    enum Status {
                        Placed,
                    }
                ),
                "remove `untagged`",
            ),
        ] {
            let out = derive(input);
            assert!(out.contains(needle), "{needle}: {out}");
            assert!(!out.contains("impl"), "{out}");
        }
    }
}
