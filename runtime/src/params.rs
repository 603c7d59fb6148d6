//! Which types can travel as text: path parameters, headers, query
//! parameters and event keys.
//!
//! A JSON body can hold any serde type, but a path segment, a header value,
//! a query parameter and a broker's message key each hold one piece of text.
//! A value there must serialize as one string, number or boolean; a struct,
//! a sequence or an `Option` in the wrong place would compile, be published
//! in the OpenAPI document, and fail on every call.
//!
//! `#[accord::service]` sees only the names of the types it binds, not their
//! shape, so it asks the compiler: each binding is checked with a trait
//! bound placed on the user's own type, and each bound carries a
//! `#[diagnostic::on_unimplemented]` message that says what to write.
//!
//! - [`Scalar`] marks a type that serializes as one string, number or
//!   boolean. The standard scalars implement it; `#[derive(accord::Scalar)]`
//!   implements it for a newtype or an enum of unit variants, after checking
//!   their shape.
//! - [`Query`] marks a struct whose fields are query parameters;
//!   `#[derive(accord::Query)]` checks that each field is a scalar, an
//!   `Option` of one or a sequence of them.
//! - The hidden traits below ([`PathParam`], [`HeaderValue`], [`EventKey`],
//!   [`QueryField`]) are what each binding requires. They exist so that the
//!   message names the binding (`cannot be a path parameter`), not only the
//!   missing [`Scalar`].

use std::collections::{BTreeSet, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::num::{
    NonZeroI128, NonZeroI16, NonZeroI32, NonZeroI64, NonZeroI8, NonZeroIsize, NonZeroU128,
    NonZeroU16, NonZeroU32, NonZeroU64, NonZeroU8, NonZeroUsize,
};
use std::path::PathBuf;
use std::sync::Arc;

/// A type that serializes as one string, number or boolean, so it can be a
/// path parameter, a header, a query parameter or an event key.
///
/// Implemented for `bool`, `char`, the integer and float types, their
/// `NonZero` forms, `String`, `PathBuf`, the `std::net` address types,
/// `uuid::Uuid`, and `Box`/`Arc` of a scalar.
///
/// For your own types, derive it:
///
/// ```text
/// #[derive(Serialize, Deserialize, JsonSchema, accord::Scalar)]
/// pub struct OrderId(pub u64);                    // a newtype of a scalar
///
/// #[derive(Serialize, Deserialize, JsonSchema, accord::Scalar)]
/// #[serde(rename_all = "snake_case")]
/// pub enum OrderStatus { Placed, Shipped }        // only unit variants
/// ```
///
/// The derive accepts a tuple struct of one field, a struct of one field
/// with `#[serde(transparent)]`, and an enum whose variants are all unit
/// variants (not `tag`ged or `untagged`, which serialize them as maps or
/// nulls); a type with `#[serde(into = "...")]` and `#[serde(from = "...")]`
/// (or `try_from`) is checked through the types it names instead. A type
/// whose hand-written `Serialize` produces one string, number or boolean
/// implements it by hand: `impl accord::Scalar for Version {}`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a scalar: it does not serialize as one string, number or boolean",
    label = "not a scalar",
    note = "a scalar is a string, a number, a boolean, a char, or a type with `#[derive(accord::Scalar)]`",
    note = "if `{Self}` is a type of yours: add `#[derive(accord::Scalar)]` to it when it is a newtype (such as `struct OrderId(u64)`) or an enum of unit variants, or write `impl accord::Scalar for {Self} {{}}` when its own `Serialize` writes one string, number or boolean"
)]
pub trait Scalar {}

/// A struct whose fields are the query parameters of a request: the type of
/// a `#[query]` argument.
///
/// Derive it, on a struct whose every field is a [`Scalar`], an `Option` of
/// one (the parameter may be absent) or a `Vec` (or set) of them (the key
/// repeated):
///
/// ```text
/// #[derive(Default, Serialize, Deserialize, JsonSchema, accord::Query)]
/// pub struct OrderFilter {
///     #[serde(default, skip_serializing_if = "Option::is_none")]
///     pub status: Option<OrderStatus>,
///     #[serde(default)]
///     pub tags: Vec<String>,
/// }
/// ```
///
/// A nested struct, a map or `#[serde(flatten)]` cannot travel in a query
/// string and is refused with an error at the field. Fields with
/// `#[serde(skip)]` are not on the wire and are not checked; fields with
/// `#[serde(with = "...")]` (or `serialize_with`/`deserialize_with`) are
/// taken to produce text, as their functions decide.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a query struct",
    label = "`#[query]` binds a struct with `#[derive(accord::Query)]`",
    note = "add `#[derive(accord::Query)]` to `{Self}`: its fields are the query parameters, each a scalar, an `Option` of one or a `Vec` of them"
)]
pub trait Query {}

/// What a `{name}` path parameter requires.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a path parameter",
    label = "a path parameter is one string, number or boolean",
    note = "a path segment holds one value: a string, a number, a boolean, a char, or a type with `#[derive(accord::Scalar)]`",
    note = "if `{Self}` is a type of yours: add `#[derive(accord::Scalar)]` to it when it is a newtype (such as `struct OrderId(u64)`) or an enum of unit variants, or write `impl accord::Scalar for {Self} {{}}` when its own `Serialize` writes one string, number or boolean",
    note = "a segment is always present, so an `Option` cannot be one; a struct or a list goes in the JSON body or a `#[query]` struct"
)]
pub trait PathParam {}

impl<T: Scalar + ?Sized> PathParam for T {}

/// What a `#[header("...")]` argument requires.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a header value",
    label = "a header is one string, number or boolean, or an `Option` of one",
    note = "`#[header(\"...\")]` binds one value: a string, a number, a boolean, a char or a type with `#[derive(accord::Scalar)]`, in an `Option` when the header may be absent",
    note = "if `{Self}` is a type of yours: add `#[derive(accord::Scalar)]` to it when it is a newtype (such as `struct OrderId(u64)`) or an enum of unit variants, or write `impl accord::Scalar for {Self} {{}}` when its own `Serialize` writes one string, number or boolean",
    note = "for several values, bind one `String` and split it (as in `a, b, c`), or move them to a `#[query]` struct with a `Vec` field"
)]
pub trait HeaderValue {}

impl<T: Scalar + ?Sized> HeaderValue for T {}
impl<T: Scalar> HeaderValue for Option<T> {}

/// What the payload field an event's `key = "..."` names requires.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an event key",
    label = "`key` names a field of type `{Self}`",
    note = "an event key is one string, number, boolean, char or type with `#[derive(accord::Scalar)]`, or an `Option` of one (`None` publishes without a key)",
    note = "if `{Self}` is a type of yours: add `#[derive(accord::Scalar)]` to it when it is a newtype (such as `struct OrderId(u64)`) or an enum of unit variants, or write `impl accord::Scalar for {Self} {{}}` when its own `Serialize` writes one string, number or boolean",
    note = "name another field of the payload as `key`, or add one, such as `customer_id: String`"
)]
pub trait EventKey {}

impl<T: Scalar + ?Sized> EventKey for T {}
impl<T: Scalar> EventKey for Option<T> {}

/// What each field of a `#[derive(accord::Query)]` struct requires.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a query parameter",
    label = "a query parameter is a scalar, an `Option` of one or a `Vec` of them",
    note = "a query string carries text: each field is a string, a number, a boolean, a char or a type with `#[derive(accord::Scalar)]`, an `Option` of one (the parameter may be absent), or a `Vec` of them (the key repeated)",
    note = "if `{Self}` is a type of yours: add `#[derive(accord::Scalar)]` to it when it is a newtype (such as `struct OrderId(u64)`) or an enum of unit variants, or write `impl accord::Scalar for {Self} {{}}` when its own `Serialize` writes one string, number or boolean",
    note = "a nested struct or a map cannot travel in a query string: list its fields in this struct instead"
)]
pub trait QueryField {}

impl<T: Scalar> QueryField for T {}
impl<T: Scalar> QueryField for Option<T> {}
impl<T: Scalar> QueryField for Vec<T> {}
impl<T: Scalar> QueryField for Option<Vec<T>> {}
impl<T: Scalar, S> QueryField for HashSet<T, S> {}
impl<T: Scalar> QueryField for BTreeSet<T> {}

// After an unmet bound the compiler lists a few implementors as a hint.
// The other implementations are left out of that list
// (`do_not_recommend`), so it shows the primitive scalars and `String`:
// the useful hint, and the same list whichever crates are linked (paths of
// types such as `IpAddr` print differently when a dependency has a type of
// the same name).
macro_rules! scalars {
    (listed: $($ty:ty),* $(,)?) => {
        $(impl Scalar for $ty {})*
    };
    (unlisted: $($ty:ty),* $(,)?) => {
        $(
            #[diagnostic::do_not_recommend]
            impl Scalar for $ty {}
        )*
    };
}

scalars!(
    listed: bool, char, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64,
    String,
);
scalars!(
    unlisted: str,
    PathBuf,
    NonZeroI8,
    NonZeroI16,
    NonZeroI32,
    NonZeroI64,
    NonZeroI128,
    NonZeroIsize,
    NonZeroU8,
    NonZeroU16,
    NonZeroU32,
    NonZeroU64,
    NonZeroU128,
    NonZeroUsize,
    IpAddr,
    Ipv4Addr,
    Ipv6Addr,
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    uuid::Uuid,
);

#[diagnostic::do_not_recommend]
impl<T: Scalar + ?Sized> Scalar for Box<T> {}
#[diagnostic::do_not_recommend]
impl<T: Scalar + ?Sized> Scalar for Arc<T> {}

/// Fails to compile, at `T`'s span, unless `T` can be a path parameter.
#[doc(hidden)]
pub const fn assert_path_param<T: PathParam + ?Sized>() {}

/// Fails to compile, at `T`'s span, unless `T` can be a header value.
#[doc(hidden)]
pub const fn assert_header_value<T: HeaderValue + ?Sized>() {}

/// Fails to compile, at `T`'s span, unless `T` is a query struct.
#[doc(hidden)]
pub const fn assert_query<T: Query + ?Sized>() {}

/// Fails to compile, at `T`'s span, unless `T` can be a query parameter.
#[doc(hidden)]
pub const fn assert_query_field<T: QueryField + ?Sized>() {}

/// Fails to compile, at `T`'s span, unless `T` is a scalar.
#[doc(hidden)]
pub const fn assert_scalar<T: Scalar + ?Sized>() {}

/// Fails to compile, at the span of the closure, unless the payload field
/// it reads can be an event key. The closure names the field, so the
/// compiler finds its type.
#[doc(hidden)]
pub fn assert_event_key<P: ?Sized, K: EventKey + ?Sized>(_field: fn(&P) -> &K) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_scalar<T: Scalar + ?Sized>() {}
    fn is_query_field<T: QueryField + ?Sized>() {}
    fn is_header<T: HeaderValue + ?Sized>() {}

    #[test]
    fn the_standard_scalars_bind_everywhere() {
        is_scalar::<str>();
        is_scalar::<Box<str>>();
        is_scalar::<Arc<str>>();
        is_scalar::<NonZeroU64>();
        is_scalar::<uuid::Uuid>();
        is_query_field::<Option<u8>>();
        is_query_field::<Vec<String>>();
        is_query_field::<Option<Vec<bool>>>();
        is_query_field::<BTreeSet<char>>();
        is_header::<Option<String>>();
        assert_event_key::<(String, u64), _>(|pair| &pair.1);
    }
}
