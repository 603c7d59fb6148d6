//! [`Call`]: a request's path parameters, query string, headers and body,
//! encoded by a client and decoded by a server.

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::HeaderMap;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::strict::Strict;
use super::violations;
use super::{is_json, PathParams, Rejection, JSON};
use crate::context::Context;
use crate::error::{EncodeError, Location};

/// A request call in transport-neutral form.
///
/// Path parameters, headers and query values travel as text, and each value
/// has one spelling there: an integer is written as Rust's `Display`
/// writes it (no `+`, no leading zeros, `0` unsigned), a float as a finite
/// JSON number, a boolean as `true` or `false`. A server refuses any other
/// spelling with a 400 naming the parameter and the spelling to use, so a
/// cache, a signature or a log keyed on the text sees one request where the
/// service sees one. Strings are taken as they are.
///
/// A call carries its [`Context`]: the headers live there, and a server
/// adds the deadline, the trace and the route before its interceptors and
/// the handler see the call.
#[derive(Debug, Default, Clone)]
pub struct Call {
    path_params: PathParams,
    query: Option<String>,
    context: Context,
    body: Bytes,
}

impl Call {
    /// An empty call.
    pub fn new() -> Self {
        Call::default()
    }

    /// A call as a server transport received it. `path_params` are
    /// percent-decoded; `query` is the raw query string.
    pub fn from_parts(
        path_params: PathParams,
        query: Option<String>,
        headers: HeaderMap,
        body: Bytes,
    ) -> Self {
        Call {
            path_params,
            query,
            context: Context::with_headers(headers),
            body,
        }
    }

    /// The decoded path parameters by name.
    pub fn path_params(&self) -> &[(Cow<'static, str>, String)] {
        &self.path_params
    }

    /// The raw (percent-encoded) query string, if any.
    pub fn query_string(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        self.context.headers()
    }

    /// The headers, for a transport to add its own (trace context, say).
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        self.context.headers_mut()
    }

    /// The call's context: headers, deadline, trace, route, extensions.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The call's context, for a server or an interceptor to add to.
    pub fn context_mut(&mut self) -> &mut Context {
        &mut self.context
    }

    /// The body bytes.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Splits the call for a transport that sends it.
    pub fn into_parts(self) -> (PathParams, Option<String>, HeaderMap, Bytes) {
        (
            self.path_params,
            self.query,
            self.context.into_headers(),
            self.body,
        )
    }

    // ---- client side: encoding -------------------------------------------------

    /// Encodes a path parameter (a string, number, boolean or unit enum variant).
    pub fn encode_path<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        let what = || format!("path parameter `{name}`");
        match scalar_text(value).map_err(|reason| EncodeError {
            what: what(),
            reason,
        })? {
            Some(text) if !text.is_empty() => {
                self.path_params.push((Cow::Borrowed(name), text));
                Ok(())
            }
            _ => Err(EncodeError {
                what: what(),
                reason: "a path parameter cannot be empty or null".to_owned(),
            }),
        }
    }

    /// Encodes a header; `None` leaves the header out.
    pub fn encode_header<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        let what = || format!("header `{name}`");
        let Some(text) = scalar_text(value).map_err(|reason| EncodeError {
            what: what(),
            reason,
        })?
        else {
            return Ok(());
        };
        if text.starts_with([' ', '\t']) || text.ends_with([' ', '\t']) {
            // HTTP drops the whitespace around a field value; refusing it
            // keeps every transport delivering the same value.
            return Err(EncodeError {
                what: what(),
                reason: "header values cannot begin or end with whitespace".to_owned(),
            });
        }
        let value = HeaderValue::try_from(text).map_err(|_| EncodeError {
            what: what(),
            reason: "header values cannot hold control characters such as line breaks".to_owned(),
        })?;
        self.context
            .headers_mut()
            .append(HeaderName::from_static(name), value);
        Ok(())
    }

    /// Encodes a `#[query]` struct as `application/x-www-form-urlencoded`.
    pub fn encode_query<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError> {
        let text = serde_html_form::to_string(value).map_err(|e| EncodeError {
            what: "query".to_owned(),
            reason: e.to_string(),
        })?;
        self.query = (!text.is_empty()).then_some(text);
        Ok(())
    }

    /// Encodes the JSON body.
    pub fn encode_json_body<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), EncodeError> {
        self.body = super::json_body::encode(value).map_err(|e| EncodeError {
            what: "body".to_owned(),
            reason: e.to_string(),
        })?;
        self.context.headers_mut().insert(CONTENT_TYPE, JSON);
        Ok(())
    }

    // ---- server side: decoding -------------------------------------------------

    /// Decodes the path parameter `name`. Numbers and booleans have one
    /// spelling (see [`Call`]).
    pub fn decode_path<T: DeserializeOwned>(&self, name: &str) -> Result<T, Rejection> {
        let Some((_, text)) = self.path_params.iter().find(|(n, _)| n == name) else {
            return Err(Rejection::field(
                400,
                Location::Path,
                name,
                "missing".to_owned(),
            ));
        };
        decode_text(text).map_err(|e| {
            Rejection::field(
                400,
                Location::Path,
                name,
                format!("cannot parse {text:?}: {e}"),
            )
        })
    }

    /// Decodes the header `name`; a missing header decodes only as `None`.
    /// Numbers and booleans have one spelling (see [`Call`]).
    pub fn decode_header<T: DeserializeOwned>(&self, name: &str) -> Result<T, Rejection> {
        let mut values = self.context.headers().get_all(name).iter();
        let Some(value) = values.next() else {
            let missing = serde::de::value::UnitDeserializer::<serde::de::value::Error>::new();
            return T::deserialize(missing).map_err(|_| {
                Rejection::field(
                    400,
                    Location::Header,
                    name,
                    "required but missing".to_owned(),
                )
            });
        };
        if values.next().is_some() {
            return Err(Rejection::field(
                400,
                Location::Header,
                name,
                "given more than once".to_owned(),
            ));
        }
        // Header values are bytes; a client sends text as UTF-8.
        let text = std::str::from_utf8(value.as_bytes()).map_err(|_| {
            Rejection::field(400, Location::Header, name, "not valid UTF-8".to_owned())
        })?;
        decode_text(text).map_err(|e| {
            Rejection::field(
                400,
                Location::Header,
                name,
                format!("cannot parse {text:?}: {e}"),
            )
        })
    }

    /// Decodes the query string into a `#[query]` struct.
    ///
    /// Every name and value must be UTF-8 once percent-decoded: a value
    /// decoded with replacement characters would reach the service as a
    /// different value than the one sent.
    pub fn decode_query<T: DeserializeOwned>(&self) -> Result<T, Rejection> {
        let raw = self.query.as_deref().unwrap_or("");
        check_query_utf8(raw)?;
        let deserializer = Strict(serde_html_form::Deserializer::from_bytes(raw.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let field = field_name(e.path());
            Rejection::field(400, Location::Query, &field, e.inner().to_string())
        })
    }

    /// Decodes the JSON body.
    ///
    /// A body that is JSON but does not match `T` is answered with every
    /// violation of `T`'s published schema at once (bounded; see
    /// [`MAX_VIOLATIONS`](super::MAX_VIOLATIONS)), each with its field
    /// path. A body that decodes costs nothing extra: the schema is
    /// consulted only after the decoding has failed.
    pub fn decode_json_body<T: DeserializeOwned + JsonSchema + 'static>(
        &self,
    ) -> Result<T, Rejection> {
        match self.context.headers().get(CONTENT_TYPE) {
            Some(ct) if is_json(ct) => {}
            Some(ct) => {
                return Err(Rejection::field(
                    415,
                    Location::Header,
                    "content-type",
                    format!(
                        "the body must be JSON (`application/json`), not {:?}",
                        String::from_utf8_lossy(ct.as_bytes())
                    ),
                ))
            }
            None => {
                return Err(Rejection::field(
                    415,
                    Location::Header,
                    "content-type",
                    "missing; the body must be sent as `application/json`".to_owned(),
                ))
            }
        }
        let body_error = |field: String, error: serde_json::Error| {
            let status = match error.classify() {
                serde_json::error::Category::Data => 422,
                _ => 400,
            };
            let reason = if self.body.is_empty() {
                "the body is empty; expected a JSON document".to_owned()
            } else {
                error.to_string()
            };
            Rejection::field(status, Location::Body, &field, reason)
        };
        // serde_json alone first: tracking the field path costs on every
        // value decoded, and only a body that fails needs it, so such a
        // body is decoded again below to find the path.
        let mut deserializer = serde_json::Deserializer::from_slice(&self.body);
        if let Ok(value) = T::deserialize(&mut deserializer) {
            deserializer
                .end()
                .map_err(|e| body_error(String::new(), e))?;
            return Ok(value);
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&self.body);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let mut field = field_name(e.path());
            let error = e.into_inner();
            if let Some(name) = violations::missing_field(&error.to_string()) {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(name);
            }
            let rejection = body_error(field, error);
            if rejection.status == 422 {
                self.every_violation::<T>(rejection)
            } else {
                rejection
            }
        })?;
        deserializer
            .end()
            .map_err(|e| body_error(String::new(), e))?;
        Ok(value)
    }
}

impl Call {
    /// `first`, serde's rejection of a body that is JSON, widened to every
    /// violation of `T`'s schema; serde's own error is kept when the schema
    /// does not name the same field.
    fn every_violation<T: JsonSchema + 'static>(&self, first: Rejection) -> Rejection {
        let Ok(body) = serde_json::from_slice::<Value>(&self.body) else {
            // Not JSON after all, past the point serde stopped: the first
            // error stands.
            return first;
        };
        let Some(serde_error) = first.errors.first() else {
            return first;
        };
        let errors = violations::violations::<T>(&body, serde_error);
        if errors.is_empty() {
            return first;
        }
        Rejection {
            status: 422,
            errors,
        }
    }
}

/// Decodes a path parameter's or header's text, held to one spelling per
/// value.
fn decode_text<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, serde_plain::Error> {
    T::deserialize(Strict(serde_plain::Deserializer::new(text)))
}

/// Refuses a query string whose names or values are not UTF-8 once
/// percent-decoded, naming each such parameter.
fn check_query_utf8(raw: &str) -> Result<(), Rejection> {
    // The query is already text: only percent-decoding can make bytes that
    // are not UTF-8.
    if !raw.contains('%') {
        return Ok(());
    }
    let mut errors = Vec::new();
    for pair in raw.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_encoding::percent_decode_str(name);
        match name.clone().decode_utf8() {
            Err(_) => errors.push(Rejection::field(
                400,
                Location::Query,
                &name.decode_utf8_lossy(),
                "the parameter name is not valid UTF-8 once percent-decoded".to_owned(),
            )),
            Ok(name) => {
                if percent_encoding::percent_decode_str(value)
                    .decode_utf8()
                    .is_err()
                {
                    errors.push(Rejection::field(
                        400,
                        Location::Query,
                        &name,
                        format!(
                            "{value:?} is not valid UTF-8 once percent-decoded; \
                             percent-encode the value's UTF-8 bytes"
                        ),
                    ));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Rejection::merge(errors.into_iter().map(Some)))
    }
}

/// The field a deserialization error points at: `lines[0].quantity`, or
/// empty for the document as a whole. A trailing unknown segment (`?`, where
/// the input broke off before naming a field) is left out.
fn field_name(path: &serde_path_to_error::Path) -> String {
    let mut field = path.to_string();
    loop {
        if field == "." || field == "?" {
            return String::new();
        }
        match field.strip_suffix(".?") {
            Some(rest) => field.truncate(rest.len()),
            None => return field,
        }
    }
}

/// A single string for a path parameter or header; `None` for null.
///
/// Plain scalars are written directly ([`super::scalar`]); the others go
/// through `serde_json`, which gives floats their spelling and every other
/// value its error.
fn scalar_text<T: Serialize + ?Sized>(value: &T) -> Result<Option<String>, String> {
    if let Ok(text) = super::scalar::scalar_text(value) {
        return Ok(text);
    }
    match serde_json::to_value(value).map_err(|e| e.to_string())? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(format!(
            "expected a string, number or boolean, got {}",
            match other {
                Value::Array(_) => "a sequence",
                _ => "a map or struct",
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;

    #[test]
    fn header_absent_decodes_only_as_option() {
        let call = Call::new();
        assert_eq!(call.decode_header::<Option<String>>("x-key").unwrap(), None);
        let err = call.decode_header::<String>("x-key").unwrap_err();
        assert_eq!(err.errors[0].field, "x-key");
        assert_eq!(err.errors[0].location, Location::Header);
    }

    #[test]
    fn headers_carry_utf8_but_not_surrounding_whitespace() {
        let mut call = Call::new();
        call.encode_header("x-name", "Zoë / 日本").unwrap();
        assert_eq!(
            call.decode_header::<String>("x-name").unwrap(),
            "Zoë / 日本"
        );
        for bad in [" lead", "trail ", "\ttab", "line\nbreak"] {
            assert!(Call::new().encode_header("x-name", bad).is_err(), "{bad:?}");
        }
        let mut headers = HeaderMap::new();
        headers.insert("x-name", HeaderValue::from_bytes(b"\xff").unwrap());
        let call = Call::from_parts(Vec::new(), None, headers, Bytes::new());
        let err = call.decode_header::<String>("x-name").unwrap_err();
        assert!(err.errors[0].reason.contains("UTF-8"), "{err:?}");
    }

    #[test]
    fn path_parameters_round_trip_through_text() {
        let mut call = Call::new();
        call.encode_path("id", &42u64).unwrap();
        call.encode_path("name", "a b/c").unwrap();
        assert_eq!(call.decode_path::<u64>("id").unwrap(), 42);
        assert_eq!(call.decode_path::<String>("name").unwrap(), "a b/c");
        let err = call.decode_path::<u64>("name").unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.errors[0].reason.contains("a b/c"), "{err:?}");
        assert!(call.encode_path("bad", &vec![1, 2]).is_err());
        assert!(call.encode_path("none", &Option::<u8>::None).is_err());
    }

    #[test]
    fn body_errors_name_the_field() {
        #[derive(serde::Deserialize, schemars::JsonSchema, Debug)]
        #[allow(dead_code)]
        struct Line {
            quantity: u32,
        }
        #[derive(serde::Deserialize, schemars::JsonSchema, Debug)]
        #[allow(dead_code)]
        struct Body {
            lines: Vec<Line>,
        }
        let mut call = Call::new();
        call.encode_json_body(&serde_json::json!({"lines": [{"quantity": 1}, {"quantity": "x"}]}))
            .unwrap();
        let err = call.decode_json_body::<Body>().unwrap_err();
        assert_eq!(err.status, 422);
        assert_eq!(err.errors[0].field, "lines[1].quantity");

        let mut call = Call::new();
        call.encode_json_body(&serde_json::json!({})).unwrap();
        let err = call.decode_json_body::<Body>().unwrap_err();
        assert_eq!(err.status, 422);
        assert_eq!(err.errors.len(), 1, "{err:?}");
        assert_eq!(err.errors[0].field, "lines", "{err:?}");

        // Every mistake at once, each named, the missing one included.
        let mut call = Call::new();
        call.encode_json_body(
            &serde_json::json!({"lines": [{"quantity": "x"}, {}, {"quantity": -2}]}),
        )
        .unwrap();
        let err = call.decode_json_body::<Body>().unwrap_err();
        assert_eq!(err.status, 422);
        let mut fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "lines[0].quantity",
                "lines[1].quantity",
                "lines[2].quantity"
            ],
            "{err:?}"
        );

        // Out of u32's range: the schema says only `minimum: 0`, so serde's
        // own error is the one given.
        let mut call = Call::new();
        call.encode_json_body(&serde_json::json!({"lines": [{"quantity": 5_000_000_000u64}]}))
            .unwrap();
        let err = call.decode_json_body::<Body>().unwrap_err();
        assert_eq!(err.errors.len(), 1, "{err:?}");
        assert_eq!(err.errors[0].field, "lines[0].quantity", "{err:?}");

        let truncated = |body: &'static str| {
            let mut call = Call::new();
            call.encode_json_body(&()).unwrap();
            let (params, query, headers, _) = call.into_parts();
            Call::from_parts(params, query, headers, Bytes::from_static(body.as_bytes()))
                .decode_json_body::<Body>()
                .unwrap_err()
        };
        let err = truncated(r#"{"lines": [{"quantity": 1}"#);
        assert_eq!(err.status, 400);
        assert_eq!(err.errors[0].field, "lines", "{err:?}");
        let err = truncated(r#"{"lines""#);
        assert_eq!(err.errors[0].field, "", "{err:?}");
        let err = truncated(r#"{"#);
        assert_eq!(err.errors[0].field, "", "{err:?}");
    }

    fn with_query(query: &str) -> Call {
        Call::from_parts(
            Vec::new(),
            Some(query.to_owned()),
            HeaderMap::new(),
            Bytes::new(),
        )
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Filter {
        customer_id: Option<String>,
        limit: Option<u32>,
    }

    #[test]
    fn non_canonical_integers_are_rejected_naming_the_parameter() {
        let path = |text: &str| {
            Call::from_parts(
                vec![(Cow::Borrowed("id"), text.to_owned())],
                None,
                HeaderMap::new(),
                Bytes::new(),
            )
        };
        assert_eq!(path("1").decode_path::<u64>("id").unwrap(), 1);
        for (text, canonical) in [("+1", "1"), ("01", "1"), ("-0", "0")] {
            let err = path(text).decode_path::<i64>("id").unwrap_err();
            assert_eq!(err.status, 400);
            assert_eq!(err.errors[0].location, Location::Path);
            assert_eq!(err.errors[0].field, "id");
            let reason = &err.errors[0].reason;
            assert!(reason.contains("not a canonical integer"), "{reason}");
            assert!(reason.contains(&format!("`{canonical}`")), "{reason}");
        }

        let mut headers = HeaderMap::new();
        headers.insert("x-count", HeaderValue::from_static("007"));
        let call = Call::from_parts(Vec::new(), None, headers, Bytes::new());
        let err = call.decode_header::<Option<u16>>("x-count").unwrap_err();
        assert_eq!(err.errors[0].location, Location::Header);
        assert_eq!(err.errors[0].field, "x-count");
        assert!(err.errors[0].reason.contains("`7`"), "{err:?}");

        let err = with_query("limit=%2B5")
            .decode_query::<Filter>()
            .unwrap_err();
        assert_eq!(err.errors[0].location, Location::Query);
        assert_eq!(err.errors[0].field, "limit");
        assert!(err.errors[0].reason.contains("`5`"), "{err:?}");
        assert_eq!(
            with_query("limit=5").decode_query::<Filter>().unwrap(),
            Filter {
                customer_id: None,
                limit: Some(5)
            }
        );
    }

    #[test]
    fn a_query_that_is_not_utf8_is_rejected_naming_the_parameter() {
        let err = with_query("customer_id=%FF")
            .decode_query::<Filter>()
            .unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.errors.len(), 1, "{err:?}");
        assert_eq!(err.errors[0].location, Location::Query);
        assert_eq!(err.errors[0].field, "customer_id");
        assert!(err.errors[0].reason.contains("UTF-8"), "{err:?}");

        // Each bad parameter is named, a bad name too.
        let err = with_query("customer_id=a%C3&limit=1&%FEx=2&other=%E6%97")
            .decode_query::<Filter>()
            .unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["customer_id", "\u{fffd}x", "other"], "{err:?}");

        // Percent-encoded UTF-8 and the form's `+` for a space still decode.
        assert_eq!(
            with_query("customer_id=Zo%C3%AB+%E6%97%A5")
                .decode_query::<Filter>()
                .unwrap()
                .customer_id
                .as_deref(),
            Some("Zoë 日")
        );
    }
}
