//! What the wire can carry: a type bound to a path parameter, a header or
//! the query string must be written as text, and a success status without
//! a body must not drop the value a method returns.
//!
//! These checks see only how a type is written ([`crate::types::shape`]):
//! they catch `Option`, lists, maps, tuples and standard scalars in the
//! wrong place with a message that names the fix. Types only the compiler
//! can see (a struct, an alias) are checked by the trait bounds the
//! generated code places on them (`accord::Scalar`, `accord::Query`).

use crate::ctxt::Ctxt;
use crate::model::{Arg, Binding, Operation, Request};
use crate::path::Seg;
use crate::types::{shape, type_text, Shape};

/// A value returned with a status that carries no body would be dropped.
pub fn check_success_status(cx: &Ctxt, op: &Operation, request: &Request) {
    let Some(returned) = op.output.success_type().filter(|_| !op.output.is_unit()) else {
        return;
    };
    if let (Some(status), Some(lit)) = (request.status, &request.status_lit) {
        if let Some(message) =
            bodiless_status_message(status, &op.ident.to_string(), &type_text(returned))
        {
            cx.error_spanned_by(lit, message);
        }
    }
    if request.method == "HEAD" {
        cx.error_spanned_by(
            returned,
            format!(
                "a HEAD response carries no body, so `{}` cannot return `{}`: return nothing (or `Result<(), E>`), or make it a GET",
                op.ident,
                type_text(returned)
            ),
        );
    }
}

/// The message for `status` on a method `op` that returns `returned`, if
/// that status sends no body.
pub fn bodiless_status_message(status: u16, op: &str, returned: &str) -> Option<String> {
    let name = match status {
        204 => "No Content",
        205 => "Reset Content",
        _ => return None,
    };
    Some(format!(
        "`status = {status}` ({name}) sends no body, but `{op}` returns `{returned}`, which would be dropped: remove `status` (a value is sent with 200), give the status the value is sent with, such as `status = 200`, or return nothing"
    ))
}

/// Path parameters, headers and the query struct, by how their types are
/// written.
pub fn check_binding_types(cx: &Ctxt, op: &Operation, segments: &[Seg]) {
    let in_path = |arg: &Arg| {
        segments
            .iter()
            .any(|s| matches!(s, Seg::Param(p) if arg.ident == p.as_str()))
    };
    for arg in &op.args {
        if arg.binding_reported {
            continue;
        }
        let name = arg.ident.to_string();
        let message = match &arg.binding {
            Binding::Path => path_type_message(&name, &arg.ty),
            // A `{name}` parameter bound by an attribute as well has been
            // reported; its type is not the problem.
            Binding::Query(_) if !in_path(arg) => {
                query_type_message(&name, &op.ident.to_string(), &arg.ty)
            }
            Binding::Header(header, _) if !in_path(arg) => {
                header_type_message(header, &name, &arg.ty)
            }
            _ => None,
        };
        if let Some(message) = message {
            cx.error_spanned_by(&arg.ty, message);
        }
    }
}

/// What is wrong with `ty` as the type of the path parameter `name`.
pub fn path_type_message(name: &str, ty: &syn::Type) -> Option<String> {
    let written = type_text(ty);
    match shape(ty) {
        Shape::Option(inner) => Some(format!(
            "a path parameter is always present, so `{name}` cannot be `{written}`: take `{name}: {}`; a request without it is another route (declare it as its own method), or move the value to a `#[query]` struct",
            type_text(inner)
        )),
        Shape::List | Shape::Map | Shape::Tuple => Some(format!(
            "a path parameter is one segment holding one value, so `{name}` cannot be `{written}`: take one string, number or boolean (such as `{name}: String`), or move the values to a `#[query]` struct with a `Vec` field"
        )),
        Shape::Scalar | Shape::Named => None,
    }
}

/// What is wrong with `ty` as the type of the `#[query]` argument `name` of
/// the method `op`.
pub fn query_type_message(name: &str, op: &str, ty: &syn::Type) -> Option<String> {
    let written = type_text(ty);
    let wrap = || {
        let query = format!("{}Query", upper_camel(op));
        format!(
            "`#[query]` binds a struct whose fields are the query parameters, not `{written}`: declare `#[derive(Serialize, Deserialize, JsonSchema, accord::Query)] struct {query} {{ {name}: {written} }}` and take `#[query] query: {query}`"
        )
    };
    match shape(ty) {
        Shape::Option(inner) if shape(inner) == Shape::Named => Some(format!(
            "`#[query]` binds the struct itself, not `{written}`: take `#[query] {name}: {}` and make its fields `Option`s, so that an empty query string decodes",
            type_text(inner)
        )),
        Shape::Map => Some(format!(
            "`#[query]` binds a struct whose fields name the query parameters, not the map `{written}`: declare the parameters as fields of a `#[derive(accord::Query)]` struct, so that the published document lists them"
        )),
        Shape::Scalar | Shape::Option(_) | Shape::List | Shape::Tuple => Some(wrap()),
        Shape::Named => None,
    }
}

/// What is wrong with `ty` as the type of `name`, bound to the header
/// `header`.
pub fn header_type_message(header: &str, name: &str, ty: &syn::Type) -> Option<String> {
    let value = match shape(ty) {
        Shape::Option(inner) => shape(inner),
        other => other,
    };
    match value {
        Shape::List | Shape::Map | Shape::Tuple | Shape::Option(_) => Some(format!(
            "`#[header(\"{header}\")]` binds one header value, so `{name}` cannot be `{}`: take `{name}: String` and split the values (as in `a, b, c`), `Option<String>` when the header may be absent, or move them to a `#[query]` struct with a `Vec` field",
            type_text(ty)
        )),
        Shape::Scalar | Shape::Named => None,
    }
}

/// `list_orders` -> `ListOrders`.
fn upper_camel(snake: &str) -> String {
    snake
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn statuses_without_a_body_refuse_a_value() {
        let message = bodiless_status_message(204, "get_order", "Order").unwrap();
        assert!(
            message.starts_with(
                "`status = 204` (No Content) sends no body, but `get_order` returns `Order`"
            ),
            "{message}"
        );
        assert!(message.contains("`status = 200`"), "{message}");
        assert!(bodiless_status_message(205, "reset", "u64").is_some());
        assert!(bodiless_status_message(200, "get_order", "Order").is_none());
        assert!(bodiless_status_message(201, "place", "Order").is_none());
    }

    #[test]
    fn path_parameters_are_one_present_value() {
        let option = path_type_message("id", &parse_quote!(Option<u64>)).unwrap();
        assert!(
            option.contains("`id` cannot be `Option<u64>`: take `id: u64`"),
            "{option}"
        );
        let list = path_type_message("ids", &parse_quote!(Vec<u64>)).unwrap();
        assert!(list.contains("one segment holding one value"), "{list}");
        assert!(path_type_message("id", &parse_quote!(u64)).is_none());
        assert!(path_type_message("id", &parse_quote!(OrderId)).is_none());
    }

    #[test]
    fn a_query_binds_a_struct() {
        let scalar = query_type_message("limit", "list_orders", &parse_quote!(u32)).unwrap();
        assert!(
            scalar.contains(
                "struct ListOrdersQuery { limit: u32 }` and take `#[query] query: ListOrdersQuery`"
            ),
            "{scalar}"
        );
        let optional = query_type_message("limit", "list", &parse_quote!(Option<u32>)).unwrap();
        assert!(
            optional.contains("struct ListQuery { limit: Option<u32> }"),
            "{optional}"
        );
        let wrapped = query_type_message("filter", "list", &parse_quote!(Option<Filter>)).unwrap();
        assert!(
            wrapped.contains("take `#[query] filter: Filter`"),
            "{wrapped}"
        );
        let map =
            query_type_message("all", "list", &parse_quote!(HashMap<String, String>)).unwrap();
        assert!(map.contains("not the map"), "{map}");
        assert!(query_type_message("filter", "list", &parse_quote!(Filter)).is_none());
    }

    #[test]
    fn a_header_is_one_value() {
        let list = header_type_message("x-tags", "tags", &parse_quote!(Vec<String>)).unwrap();
        assert!(
            list.starts_with(
                "`#[header(\"x-tags\")]` binds one header value, so `tags` cannot be `Vec<String>`"
            ),
            "{list}"
        );
        assert!(header_type_message("x", "x", &parse_quote!(Option<Vec<u8>>)).is_some());
        assert!(header_type_message("x", "x", &parse_quote!(Option<String>)).is_none());
        assert!(header_type_message("x", "x", &parse_quote!(Revision)).is_none());
    }

    #[test]
    fn method_names_become_type_names() {
        assert_eq!(upper_camel("list_orders"), "ListOrders");
        assert_eq!(upper_camel("search"), "Search");
        assert_eq!(upper_camel("get_v2_items"), "GetV2Items");
    }
}
