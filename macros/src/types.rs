//! What a type's tokens alone say about how it is written on the wire.
//!
//! The macros see types as written, not as the compiler resolves them, so
//! this is only a first, syntactic look: it recognises the standard scalars,
//! `Option`, the standard lists and maps and tuples by name, which lets the
//! check pass give a precise message for the common mistakes. Everything
//! else is [`Shape::Named`], left to the trait bounds in the generated code
//! (a type alias of `Option` is caught there too, with a general message).

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::{GenericArgument, Generics, PathArguments, Type};

/// The shape of a type, as far as its tokens show it.
#[derive(Debug, PartialEq)]
pub enum Shape<'a> {
    /// A standard scalar written by name: `u64`, `bool`, `String`.
    Scalar,
    /// `Option<T>`.
    Option(&'a Type),
    /// A list: `Vec<T>`, `VecDeque<T>`, a set, `[T; N]` or `[T]`.
    List,
    /// A map: `HashMap<K, V>` or `BTreeMap<K, V>`.
    Map,
    /// A tuple, `()` included.
    Tuple,
    /// Any other type: a struct, enum or alias only the compiler can see.
    Named,
}

const SCALARS: &[&str] = &[
    "bool", "char", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128",
    "usize", "f32", "f64", "str", "String",
];
const LISTS: &[&str] = &[
    "Vec",
    "VecDeque",
    "LinkedList",
    "HashSet",
    "BTreeSet",
    "BinaryHeap",
];
const MAPS: &[&str] = &["HashMap", "BTreeMap"];

/// The shape of `ty`.
pub fn shape(ty: &Type) -> Shape<'_> {
    match ty {
        Type::Group(group) => shape(&group.elem),
        Type::Paren(paren) => shape(&paren.elem),
        Type::Array(_) | Type::Slice(_) => Shape::List,
        Type::Tuple(_) => Shape::Tuple,
        Type::Path(path) if path.qself.is_none() => {
            let segments = &path.path.segments;
            let Some(last) = segments.last() else {
                return Shape::Named;
            };
            // `std::option::Option<T>` is `Option`; `my::Option<T>` may not be.
            let standard = segments.len() == 1
                || ["std", "core", "alloc"].contains(&segments[0].ident.to_string().as_str());
            if !standard {
                return Shape::Named;
            }
            let name = last.ident.to_string();
            let types = type_arguments(&last.arguments);
            if SCALARS.contains(&name.as_str()) && types.is_empty() {
                Shape::Scalar
            } else if name == "Option" && types.len() == 1 {
                Shape::Option(types[0])
            } else if LISTS.contains(&name.as_str()) && !types.is_empty() {
                Shape::List
            } else if MAPS.contains(&name.as_str()) && types.len() >= 2 {
                Shape::Map
            } else {
                Shape::Named
            }
        }
        _ => Shape::Named,
    }
}

fn type_arguments(arguments: &PathArguments) -> Vec<&Type> {
    match arguments {
        PathArguments::AngleBracketed(generics) => generics
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `ty` as a reader writes it: `Vec<String>`, not `Vec < String >`.
pub fn type_text(ty: &Type) -> String {
    let mut text = ty.to_token_stream().to_string();
    for (from, to) in [
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" :: ", "::"),
        (":: ", "::"),
        (" ,", ","),
        ("& ", "&"),
        ("( ", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
        (" ;", ";"),
    ] {
        text = text.replace(from, to);
    }
    text
}

/// Whether `ty` names one of the type or const parameters of `generics`,
/// so a check on it belongs in a `where` clause rather than a function.
pub fn mentions_generic(ty: &Type, generics: &Generics) -> bool {
    let params: Vec<String> = generics
        .type_params()
        .map(|p| p.ident.to_string())
        .chain(generics.const_params().map(|p| p.ident.to_string()))
        .collect();
    !params.is_empty() && tokens_mention(ty.to_token_stream(), &params)
}

fn tokens_mention(tokens: TokenStream, names: &[String]) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => names.iter().any(|n| ident == n),
        TokenTree::Group(group) => tokens_mention(group.stream(), names),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn recognises_standard_shapes_by_name() {
        let cases: Vec<(Type, &str)> = vec![
            (parse_quote!(u64), "Scalar"),
            (parse_quote!(String), "Scalar"),
            (parse_quote!(std::string::String), "Scalar"),
            (parse_quote!(Option<u64>), "Option"),
            (parse_quote!(::core::option::Option<String>), "Option"),
            (parse_quote!(Vec<String>), "List"),
            (parse_quote!(std::collections::BTreeSet<u8>), "List"),
            (parse_quote!([u8; 4]), "List"),
            (parse_quote!(HashMap<String, String>), "Map"),
            (parse_quote!((u64, u64)), "Tuple"),
            (parse_quote!(()), "Tuple"),
            (parse_quote!(OrderId), "Named"),
            (parse_quote!(my::Option<u64>), "Named"),
            (parse_quote!(Vec), "Named"),
        ];
        for (ty, expected) in cases {
            let found = format!("{:?}", shape(&ty));
            assert!(found.starts_with(expected), "{}: {found}", type_text(&ty));
        }
    }

    #[test]
    fn option_exposes_its_inner_type() {
        let ty: Type = parse_quote!(Option<Vec<String>>);
        let Shape::Option(inner) = shape(&ty) else {
            panic!("not an option");
        };
        assert_eq!(shape(inner), Shape::List);
    }

    #[test]
    fn writes_types_as_a_reader_would() {
        let ty: Type = parse_quote!(std::collections::HashMap<String, Vec<u8>>);
        assert_eq!(type_text(&ty), "std::collections::HashMap<String, Vec<u8>>");
        let ty: Type = parse_quote!([u8; 4]);
        assert_eq!(type_text(&ty), "[u8; 4]");
        let ty: Type = parse_quote!(Option<(u8, String)>);
        assert_eq!(type_text(&ty), "Option<(u8, String)>");
    }

    #[test]
    fn finds_generic_parameters_in_types() {
        let generics: Generics = parse_quote!(<T, const N: usize>);
        assert!(mentions_generic(&parse_quote!(Vec<T>), &generics));
        assert!(mentions_generic(&parse_quote!([u8; N]), &generics));
        assert!(!mentions_generic(&parse_quote!(String), &generics));
        assert!(!mentions_generic(&parse_quote!(T), &Generics::default()));
    }
}
