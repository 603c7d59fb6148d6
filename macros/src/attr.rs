//! Attribute arguments: `key = "value"`, `key = 201`, `key = true` and bare
//! `key` flags, each checked against the keys an attribute allows.

use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitBool, LitInt, LitStr, Meta, Token};

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
                cx.error_spanned_by(&path, format!("`{key}` is given more than once"));
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
