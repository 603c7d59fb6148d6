//! `#[derive(Query)]`: a struct whose named fields are query parameters.

use proc_macro2::TokenStream;
use syn::{Data, DeriveInput, Fields, Type};

use super::{render_marker_impl, Bound};
use crate::attr::crate_path;
use crate::ctxt::Ctxt;
use crate::serde_attr;
use crate::types::type_text;

pub fn derive_query(input: DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let krate = crate_path(&cx, &input.attrs);
    let serde = serde_attr::Container::parse(&input.attrs);
    let ident = &input.ident;
    let mut bounds = Vec::new();
    let query = |ty: Type| Bound {
        ty,
        trait_name: "Query",
        assert_fn: "assert_query",
    };
    if let (Some(into), Some(from)) = (&serde.into, &serde.from) {
        // Written as and read from other types: those are the query.
        for lit in [into, from] {
            if let Ok(ty) = lit.parse::<Type>() {
                bounds.push(query(ty));
            }
        }
    } else {
        match &input.data {
            Data::Struct(data) if serde.transparent => {
                // serde reports a transparent struct without exactly one field.
                let kept: Vec<&syn::Field> = data
                    .fields
                    .iter()
                    .filter(|f| !serde_attr::Field::parse(&f.attrs).skipped)
                    .collect();
                if let [field] = kept.as_slice() {
                    bounds.push(query(field.ty.clone()));
                }
            }
            Data::Struct(data) if matches!(data.fields, Fields::Named(_)) => {
                for field in &data.fields {
                    let attrs = serde_attr::Field::parse(&field.attrs);
                    if attrs.skipped || attrs.custom {
                        continue;
                    }
                    if let Some(span) = attrs.flatten {
                        cx.error_at(
                            span,
                            format!(
                                "`#[serde(flatten)]` cannot be used in a query struct: serde hands a flattened field its values as text, so its numbers and booleans fail to decode; list the fields of `{}` in `{ident}` instead",
                                type_text(&field.ty)
                            ),
                        );
                        continue;
                    }
                    bounds.push(Bound {
                        ty: field.ty.clone(),
                        trait_name: "QueryField",
                        assert_fn: "assert_query_field",
                    });
                }
            }
            _ => cx.error_spanned_by(
                ident,
                format!(
                    "`#[derive(accord::Query)]` goes on a struct with named fields, each a query parameter, as in `struct {ident} {{ limit: Option<u32> }}`"
                ),
            ),
        }
    }
    if let Err(errors) = cx.check() {
        return errors;
    }
    render_marker_impl(&krate, &input, "Query", &bounds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn derive(input: DeriveInput) -> String {
        derive_query(input).to_string()
    }

    #[test]
    fn each_field_on_the_wire_is_asserted() {
        let out = derive(parse_quote!(
            struct Filter {
                status: Option<Status>,
                tags: Vec<String>,
                #[serde(skip)]
                cache: Cache,
                #[serde(with = "humantime_serde")]
                since: Duration,
            }
        ));
        assert!(
            out.contains("impl :: accord :: __private :: Query for Filter"),
            "{out}"
        );
        assert!(
            out.contains("assert_query_field :: < Option < Status > >"),
            "{out}"
        );
        assert!(
            out.contains("assert_query_field :: < Vec < String > >"),
            "{out}"
        );
        assert!(!out.contains("Cache"), "{out}");
        assert!(!out.contains("Duration"), "{out}");
    }

    #[test]
    fn generic_fields_are_bounded_in_the_where_clause() {
        let out = derive(parse_quote!(
            struct Page<T> {
                after: Option<T>,
                limit: u16,
            }
        ));
        assert!(
            out.contains("Option < T > : :: accord :: __private :: QueryField"),
            "{out}"
        );
        assert!(out.contains("assert_query_field :: < u16 >"), "{out}");
    }

    #[test]
    fn flatten_and_other_shapes_are_refused() {
        let out = derive(parse_quote!(
            struct Filter {
                #[serde(flatten)]
                paging: Paging,
            }
        ));
        assert!(
            out.contains("`#[serde(flatten)]` cannot be used in a query struct"),
            "{out}"
        );
        assert!(
            out.contains("list the fields of `Paging` in `Filter`"),
            "{out}"
        );
        for input in [
            parse_quote!(
                enum Filter {
                    A,
                }
            ),
            parse_quote!(
                struct Filter(u32);
            ),
        ] {
            let out = derive(input);
            assert!(out.contains("goes on a struct with named fields"), "{out}");
        }
    }
}
