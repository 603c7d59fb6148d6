//! The owned model of a contract trait: its operations, their kinds,
//! arguments, bindings and return types, with the spans errors point at.
//!
//! [`crate::parse`] builds it from `syn`, reporting what is wrong with each
//! item on its own (a bad key, a non-async method, an unknown HTTP method).
//! [`crate::resolve`] then fills in what the parse leaves implicit (path
//! segments, path and body bindings, default topics), and [`crate::check`]
//! checks the resolved model as a whole without changing it.

use proc_macro2::{Ident, Span};
use syn::{Attribute, LitInt, LitStr, Type, Visibility};

use crate::path::Seg;

pub struct Service {
    pub vis: Visibility,
    pub ident: Ident,
    pub name: String,
    pub version: String,
    pub docs: String,
    pub doc_attrs: Vec<Attribute>,
    pub krate: syn::Path,
    pub ops: Vec<Operation>,
}

pub struct Operation {
    pub ident: Ident,
    pub docs: String,
    /// Attributes other than ours, passed on to the generated trait methods.
    pub attrs: Vec<Attribute>,
    pub kind: OpKind,
    /// The wire arguments, in order; the context argument is not one.
    pub args: Vec<Arg>,
    /// The `&accord::Context` argument, if the method declares one.
    pub context: Option<ContextArg>,
    pub output: Output,
    pub sig_span: Span,
}

/// An argument of type `&Context` (or `Context`): the call's context,
/// passed to the server's method and kept off the wire.
pub struct ContextArg {
    pub ident: Ident,
    /// The type as written (`&accord::Context`), for the server trait.
    pub ty: Type,
    /// The `Context` type itself, for the check that it is accord's.
    pub inner: Type,
    pub by_ref: bool,
    /// How many wire arguments come before it.
    pub position: usize,
}

pub enum OpKind {
    Request(Request),
    Event(Event),
}

pub struct Request {
    pub method: String,
    pub method_span: Span,
    /// The path template and the literal it came from (for spans).
    pub path: String,
    pub path_lit: Option<LitStr>,
    /// The path split at its parameters; `None` until resolved, and after
    /// resolving when the path is malformed (and reported).
    pub segments: Option<Vec<Seg>>,
    pub status: Option<u16>,
    /// The `status = ...` literal, for errors about the status.
    pub status_lit: Option<LitInt>,
    pub idempotent: bool,
}

impl Request {
    /// Whether requests with this method carry a JSON body.
    pub fn takes_body(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "DELETE" | "HEAD" | "OPTIONS")
    }

    /// Where errors about the path go: the path literal, or the method when
    /// the path is the default.
    pub fn path_span(&self) -> Span {
        self.path_lit
            .as_ref()
            .map(|l| l.span())
            .unwrap_or(self.method_span)
    }
}

pub struct Event {
    pub topic: String,
    pub topic_lit: Option<LitStr>,
    pub key: Option<LitStr>,
}

pub struct Arg {
    pub ident: Ident,
    pub ty: Type,
    pub binding: Binding,
    /// A binding attribute of this argument was malformed and has been
    /// reported; checks that depend on the binding skip it.
    pub binding_reported: bool,
}

/// How an argument is carried. Path and body are decided when the model is
/// resolved against the path template.
#[derive(Clone)]
pub enum Binding {
    Unbound,
    Path,
    Query(Span),
    Header(String, Span),
    Body,
}

#[allow(clippy::large_enum_variant)] // a short-lived parse model
pub enum Output {
    /// No return type.
    Unit,
    /// `-> T`.
    Plain(Type),
    /// `-> Result<T, E>`.
    Result(Type, Type),
}

impl Output {
    pub fn success_type(&self) -> Option<&Type> {
        match self {
            Output::Unit => None,
            Output::Plain(t) | Output::Result(t, _) => Some(t),
        }
    }

    pub fn error_type(&self) -> Option<&Type> {
        match self {
            Output::Result(_, e) => Some(e),
            _ => None,
        }
    }

    /// Whether the success value is `()`.
    pub fn is_unit(&self) -> bool {
        match self.success_type() {
            None => true,
            Some(Type::Tuple(t)) => t.elems.is_empty(),
            Some(_) => false,
        }
    }
}
