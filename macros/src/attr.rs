//! Attribute arguments: `key = "value"`, `key = 201`, `key = true` and bare
//! `key` flags, each checked against the keys an attribute allows.

use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Lit, LitBool, LitInt, LitStr, Meta, Token};

use crate::ctxt::Ctxt;

/// One `key = value` or flag, with the span of its key.
pub struct Arg {
    pub key: String,
    pub key_span: Span,
    pub value: Option<Expr>,
}

/// The arguments of one attribute, after duplicate and unknown keys have
/// been reported.
pub struct Args {
    args: Vec<Arg>,
    attr: &'static str,
}

impl Args {
    /// Parses `meta`'s arguments (`#[attr]` has none), reporting every key
    /// not in `allowed` and every repeated key at its second occurrence.
    pub fn parse(cx: &Ctxt, meta: &Meta, attr: &'static str, allowed: &[&str]) -> Args {
        Args::parse_refusing(cx, meta, attr, allowed, &[])
    }

    /// Like [`Args::parse`], with keys that have a message of their own
    /// (`refused` pairs a key with why it does not belong here) instead of
    /// "unknown key".
    pub fn parse_refusing(
        cx: &Ctxt,
        meta: &Meta,
        attr: &'static str,
        allowed: &[&str],
        refused: &[(&str, &str)],
    ) -> Args {
        let list = match meta {
            Meta::Path(_) => {
                return Args {
                    args: Vec::new(),
                    attr,
                }
            }
            Meta::List(list) => list,
            Meta::NameValue(nv) => {
                cx.error_spanned_by(
                    nv,
                    format!(
                        "expected `#[{attr}(...)]` with arguments such as `{} = ...`",
                        allowed[0]
                    ),
                );
                return Args {
                    args: Vec::new(),
                    attr,
                };
            }
        };
        let metas = match list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
            Ok(metas) => metas,
            Err(e) => {
                cx.syn_error(e);
                return Args {
                    args: Vec::new(),
                    attr,
                };
            }
        };
        let mut args: Vec<Arg> = Vec::new();
        for meta in metas {
            let (path, value) = match meta {
                Meta::Path(path) => (path, None),
                Meta::NameValue(nv) => (nv.path, Some(nv.value)),
                Meta::List(list) => {
                    cx.error_spanned_by(&list, format!("unexpected nested list in `#[{attr}]`"));
                    continue;
                }
            };
            let key = path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_else(|| quote::quote!(#path).to_string());
            if let Some((_, why)) = refused.iter().find(|(k, _)| *k == key) {
                cx.error_spanned_by(&path, *why);
                continue;
            }
            if !allowed.contains(&key.as_str()) {
                cx.error_spanned_by(
                    &path,
                    format!(
                        "unknown key `{key}` in `#[{attr}]`; expected one of: {}",
                        allowed.join(", ")
                    ),
                );
                continue;
            }
            if args.iter().any(|a| a.key == key) {
                cx.error_spanned_by(
                    &path,
                    format!("`{key}` is given more than once in `#[{attr}]`; keep one"),
                );
                continue;
            }
            args.push(Arg {
                key,
                key_span: path.span(),
                value,
            });
        }
        Args { args, attr }
    }

    fn take(&mut self, key: &str) -> Option<Arg> {
        let index = self.args.iter().position(|a| a.key == key)?;
        Some(self.args.remove(index))
    }

    /// A string value.
    pub fn string(&mut self, cx: &Ctxt, key: &str) -> Option<LitStr> {
        let arg = self.take(key)?;
        match arg.value {
            Some(Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            })) => Some(s),
            Some(other) => {
                cx.error_spanned_by(
                    other,
                    format!("`{key}` takes a string, as in `{key} = \"...\"`"),
                );
                None
            }
            None => {
                cx.error_at(
                    arg.key_span,
                    format!("`{key}` needs a value: `{key} = \"...\"`"),
                );
                None
            }
        }
    }

    /// An integer value.
    pub fn int(&mut self, cx: &Ctxt, key: &str) -> Option<LitInt> {
        let arg = self.take(key)?;
        match arg.value {
            Some(Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            })) => Some(i),
            Some(other) => {
                cx.error_spanned_by(
                    other,
                    format!("`{key}` takes an integer, as in `{key} = 201`"),
                );
                None
            }
            None => {
                cx.error_at(
                    arg.key_span,
                    format!("`{key}` needs a value: `{key} = 201`"),
                );
                None
            }
        }
    }

    /// A list of strings, as in `key = ["a", "b"]`; every element that is
    /// not a string literal is reported.
    pub fn strings(&mut self, cx: &Ctxt, key: &str) -> Vec<LitStr> {
        let Some(arg) = self.take(key) else {
            return Vec::new();
        };
        let example = format!("`{key} = [\"...\", \"...\"]`");
        match arg.value {
            Some(Expr::Array(array)) => array
                .elems
                .into_iter()
                .filter_map(|elem| match elem {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(s), ..
                    }) => Some(s),
                    other => {
                        cx.error_spanned_by(
                            other,
                            format!("`{key}` holds strings, as in {example}"),
                        );
                        None
                    }
                })
                .collect(),
            Some(other) => {
                cx.error_spanned_by(
                    other,
                    format!("`{key}` takes a list of strings, as in {example}"),
                );
                Vec::new()
            }
            None => {
                cx.error_at(arg.key_span, format!("`{key}` needs a value: {example}"));
                Vec::new()
            }
        }
    }

    /// A flag: bare `key`, or `key = true` / `key = false`.
    pub fn flag(&mut self, cx: &Ctxt, key: &str) -> bool {
        let Some(arg) = self.take(key) else {
            return false;
        };
        match arg.value {
            None => true,
            Some(Expr::Lit(ExprLit {
                lit: Lit::Bool(LitBool { value, .. }),
                ..
            })) => value,
            Some(other) => {
                cx.error_spanned_by(
                    other,
                    format!("`{key}` is a flag: write `{key}` or `{key} = true`"),
                );
                false
            }
        }
    }

    /// Every key must have been taken by now.
    pub fn finish(self) {
        debug_assert!(
            self.args.is_empty(),
            "#[{}] key {:?} was allowed but never read",
            self.attr,
            self.args.first().map(|a| &a.key)
        );
    }
}

/// The path of the `accord` crate for a derive: `#[accord(crate = "...")]`
/// on the item, or `::accord`.
pub fn crate_path(cx: &Ctxt, attrs: &[Attribute]) -> syn::Path {
    for attr in attrs.iter().filter(|a| a.path().is_ident("accord")) {
        let mut path = None;
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                path = Some(lit.parse::<syn::Path>()?);
                Ok(())
            } else {
                Err(meta.error("unknown key in #[accord(...)]; expected: crate"))
            }
        });
        if let Err(e) = parsed {
            cx.syn_error(e);
        }
        if let Some(path) = path {
            return path;
        }
    }
    syn::parse_quote!(::accord)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[&str] = &["name", "version"];

    fn errors(cx: Ctxt) -> String {
        cx.check().err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn an_unknown_key_lists_the_allowed_ones() {
        let cx = Ctxt::new();
        let meta: Meta = syn::parse_quote!(service(title = "x"));
        Args::parse(&cx, &meta, "service", KEYS).finish();
        let errors = errors(cx);
        assert!(
            errors.contains("unknown key `title` in `#[service]`; expected one of: name, version"),
            "{errors}"
        );
    }

    #[test]
    fn a_repeated_key_keeps_the_first_value() {
        let cx = Ctxt::new();
        let meta: Meta = syn::parse_quote!(service(name = "a", name = "b"));
        let mut args = Args::parse(&cx, &meta, "service", KEYS);
        assert_eq!(args.string(&cx, "name").unwrap().value(), "a");
        args.finish();
        let errors = errors(cx);
        assert_eq!(errors.matches("compile_error").count(), 1, "{errors}");
        assert!(
            errors.contains("`name` is given more than once"),
            "{errors}"
        );
    }

    #[test]
    fn values_of_the_wrong_kind_are_reported() {
        let cx = Ctxt::new();
        let meta: Meta = syn::parse_quote!(request(name = 1, version = "2", idempotent = "yes"));
        let mut args = Args::parse(&cx, &meta, "request", &["name", "version", "idempotent"]);
        assert!(args.string(&cx, "name").is_none());
        assert!(args.int(&cx, "version").is_none());
        assert!(!args.flag(&cx, "idempotent"));
        args.finish();
        let errors = errors(cx);
        assert!(errors.contains("`name` takes a string"), "{errors}");
        assert!(errors.contains("`version` takes an integer"), "{errors}");
        assert!(errors.contains("`idempotent` is a flag"), "{errors}");
    }

    #[test]
    fn a_list_of_strings_reports_each_element_that_is_not_one() {
        let cx = Ctxt::new();
        let meta: Meta = syn::parse_quote!(request(name = ["a", 2, "c"], version = "x"));
        let mut args = Args::parse(&cx, &meta, "request", KEYS);
        let values: Vec<String> = args
            .strings(&cx, "name")
            .iter()
            .map(LitStr::value)
            .collect();
        assert_eq!(values, ["a", "c"]);
        assert!(args.strings(&cx, "version").is_empty());
        args.finish();
        let errors = errors(cx);
        assert!(errors.contains("`name` holds strings"), "{errors}");
        assert!(
            errors.contains("`version` takes a list of strings"),
            "{errors}"
        );
    }
}
