//! The `#[serde(...)]` attributes that decide how a type is written as
//! text: the derives of `Scalar` and `Query` read them to check the shape
//! serde will give a type, and leave every other key to serde.
//!
//! Attributes serde itself would reject are skipped here: serde's own
//! derive reports them, and a second message would only repeat it.

use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Meta, Token};

/// One `key` or `key = value` inside `#[serde(...)]`.
struct Entry {
    key: String,
    span: Span,
    value: Option<LitStr>,
}

fn entries(attrs: &[Attribute]) -> Vec<Entry> {
    let mut entries = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let Ok(metas) = attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
        else {
            continue;
        };
        for meta in metas {
            let Some(key) = meta.path().get_ident().map(ToString::to_string) else {
                continue;
            };
            let value = match &meta {
                Meta::NameValue(nv) => match &nv.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(s), ..
                    }) => Some(s.clone()),
                    _ => None,
                },
                _ => None,
            };
            entries.push(Entry {
                key,
                span: meta.path().span(),
                value,
            });
        }
    }
    entries
}

fn find<'a>(entries: &'a [Entry], key: &str) -> Option<&'a Entry> {
    entries.iter().find(|e| e.key == key)
}

/// The container attributes of a struct or enum.
#[derive(Default)]
pub struct Container {
    /// `transparent`: written as its one field.
    pub transparent: bool,
    /// `tag = "..."` (internally or adjacently tagged), at the key.
    pub tag: Option<Span>,
    /// `untagged`, at the key.
    pub untagged: Option<Span>,
    /// `into = "T"`: serialized as `T`.
    pub into: Option<LitStr>,
    /// `from = "T"` or `try_from = "T"`: deserialized from `T`.
    pub from: Option<LitStr>,
}

impl Container {
    pub fn parse(attrs: &[Attribute]) -> Self {
        let entries = entries(attrs);
        Container {
            transparent: find(&entries, "transparent").is_some(),
            tag: find(&entries, "tag").map(|e| e.span),
            untagged: find(&entries, "untagged").map(|e| e.span),
            into: find(&entries, "into").and_then(|e| e.value.clone()),
            from: find(&entries, "from")
                .or_else(|| find(&entries, "try_from"))
                .and_then(|e| e.value.clone()),
        }
    }
}

/// The attributes of a field.
#[derive(Default)]
pub struct Field {
    /// Neither serialized nor deserialized.
    pub skipped: bool,
    /// `flatten`, at the key.
    pub flatten: Option<Span>,
    /// `with`, `serialize_with` or `deserialize_with`: written by the
    /// user's functions, in whatever form they choose.
    pub custom: bool,
}

impl Field {
    pub fn parse(attrs: &[Attribute]) -> Self {
        let entries = entries(attrs);
        let has = |key: &str| find(&entries, key).is_some();
        Field {
            skipped: has("skip") || (has("skip_serializing") && has("skip_deserializing")),
            flatten: find(&entries, "flatten").map(|e| e.span),
            custom: has("with") || has("serialize_with") || has("deserialize_with"),
        }
    }
}

/// The attributes of an enum variant.
#[derive(Default)]
pub struct Variant {
    /// Neither serialized nor deserialized.
    pub skipped: bool,
    /// `untagged`, at the key.
    pub untagged: Option<Span>,
    /// `serialize_with` or `with`: written by the user's functions.
    pub custom: bool,
}

impl Variant {
    pub fn parse(attrs: &[Attribute]) -> Self {
        let entries = entries(attrs);
        let has = |key: &str| find(&entries, key).is_some();
        Variant {
            skipped: has("skip") || (has("skip_serializing") && has("skip_deserializing")),
            untagged: find(&entries, "untagged").map(|e| e.span),
            custom: has("with") || has("serialize_with") || has("deserialize_with"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn reads_the_keys_that_decide_the_shape() {
        let item: syn::DeriveInput = parse_quote! {
            #[derive(Serialize)]
            #[serde(rename_all = "snake_case", bound(serialize = "T: Serialize"))]
            #[serde(tag = "kind", into = "String", try_from = "String")]
            enum E { A }
        };
        let container = Container::parse(&item.attrs);
        assert!(container.tag.is_some());
        assert!(container.untagged.is_none());
        assert!(!container.transparent);
        assert_eq!(container.into.unwrap().value(), "String");
        assert_eq!(container.from.unwrap().value(), "String");

        let field: syn::Field = parse_quote! {
            #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
            inner: Inner
        };
        let field = Field::parse(&field.attrs);
        assert!(field.flatten.is_some());
        assert!(!field.skipped);
        assert!(!field.custom);

        let skipped: syn::Field =
            parse_quote!(#[serde(skip_serializing, skip_deserializing)] x: u8);
        assert!(Field::parse(&skipped.attrs).skipped);
        let custom: syn::Field = parse_quote!(#[serde(with = "humantime_serde")] x: Duration);
        assert!(Field::parse(&custom.attrs).custom);
    }

    #[test]
    fn skips_what_serde_would_reject() {
        let item: syn::DeriveInput = parse_quote! {
            #[serde(transparent, 5)]
            #[serde(untagged)]
            enum E { A }
        };
        let container = Container::parse(&item.attrs);
        assert!(!container.transparent);
        assert!(container.untagged.is_some());
    }
}
