//! `client.ts` written by Rust from the TypeScript view: the output of the
//! built-in `client.ts.hbs` and its `client-runtime` partial, byte for
//! byte, without going through handlebars and JSON values. It is used only
//! while neither template is overridden; a test renders every contract
//! both ways and compares them.
//!
//! The runtime partial is fixed text but for the client's names, so it is
//! filled from the template itself ([`fill`]).

use super::helpers::push_ts_doc;
use super::view::*;
use crate::templates::fill::{fill, push_json_str, Fill};

/// The built-in runtime partial, included by `{{> client-runtime}}`.
const RUNTIME: &str = include_str!("client-runtime.ts.hbs");

/// Renders the built-in `client.ts.hbs` for `view`.
pub fn render(view: &ServiceView) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let service = &view.service;
    let names = &view.names;
    out.push_str("// A TypeScript client of the `");
    out.push_str(&service.name);
    out.push_str("` service, version ");
    out.push_str(&service.version);
    out.push_str(".\n// Written by accord from `");
    out.push_str(&service.rust_path);
    out.push_str(
        "`; do not edit, generate it again.\n//\n\
         // Every request method is an async function sending one HTTP call with\n\
         // `fetch`, and a method of `",
    );
    out.push_str(&names.client);
    out.push_str("`. A method with a typed error\n// returns a `");
    out.push_str(&names.call_result);
    out.push_str("`: `{ ok: true, value }`, or `{ ok: false, error }`\n// with the error the service answered; `");
    out.push_str(&names.unwrap);
    out.push_str("` turns it into the value\n// or a thrown `");
    out.push_str(&names.service_error);
    out.push_str("`. Any other failure is thrown: a\n// `");
    out.push_str(&names.problem_error);
    out.push_str("` for a problem document (such as rejected input), a\n// `");
    out.push_str(&names.protocol_error);
    out.push_str(
        "` for a reply the contract does not describe (such as\n\
         // a status other than the one it declares), and fetch's own error when the\n\
         // server cannot be reached. A path parameter `.` or `..` is refused with a\n\
         // TypeError: URLs drop such a segment, so the call would reach another route.\n\
         //\n\
         // Integers are JavaScript numbers: values beyond 2^53 lose precision.\n\n",
    );
    fill(&mut out, RUNTIME, &Runtime(view));
    out.push_str(
        "\n// ---- Types -----------------------------------------------------------------\n",
    );
    for ty in &view.types {
        type_declaration(&mut out, ty);
    }
    out.push_str(
        "\n// ---- Requests --------------------------------------------------------------\n",
    );
    for request in &view.requests {
        function(&mut out, view, request);
    }
    out.push_str(
        "\n// ---- Client ----------------------------------------------------------------\n\n\
         /**\n * A client of the `",
    );
    out.push_str(&service.name);
    out.push_str("` service: one method per request method.\n");
    if let Some(summary) = truthy(&service.summary) {
        out.push_str(" *\n * ");
        out.push_str(summary);
        out.push('\n');
    }
    out.push_str(" */\nexport class ");
    out.push_str(&names.client);
    out.push_str(" {\n  readonly #connection: ");
    out.push_str(&names.connection);
    out.push_str(
        ";\n\n  /** A client of the server at `baseUrl` (such as `http://127.0.0.1:8080`), \
         or over a connection. */\n  constructor(baseUrl: string | ",
    );
    out.push_str(&names.connection);
    out.push_str(
        ") {\n    this.#connection = typeof baseUrl === \"string\" ? { baseUrl } : baseUrl;\n  }\n",
    );
    for request in &view.requests {
        method(&mut out, view, request);
    }
    out.push_str(
        "}\n\n// ---- Events ----------------------------------------------------------------\n\n\
         /** The topic each event is published on. */\nexport const ",
    );
    out.push_str(&names.topics);
    out.push_str(" = {\n");
    for event in &view.events {
        out.push_str("  ");
        push_ts_doc(&mut out, text(&event.summary), "  ");
        out.push_str(&event.ident);
        out.push_str(": ");
        push_json_str(&mut out, &event.topic);
        out.push_str(",\n");
    }
    out.push_str(
        "} as const;\n\n/** The payload type of each event, by topic. */\nexport interface ",
    );
    out.push_str(&names.events);
    out.push_str(" {\n");
    for event in &view.events {
        out.push_str("  ");
        push_json_str(&mut out, &event.topic);
        out.push_str(": ");
        out.push_str(&event.payload.ts_type);
        out.push_str(";\n");
    }
    out.push_str("}\n");
    out
}

/// `{{#if text}}`: present and not empty.
fn truthy(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|t| !t.is_empty())
}

/// The text `{{ts_doc text}}` documents.
fn text(docs: &Option<String>) -> &str {
    docs.as_deref().unwrap_or("").trim()
}

/// `{{#each types}}`: an interface, a union or an alias.
fn type_declaration(out: &mut String, ty: &TypeView) {
    out.push('\n');
    push_ts_doc(out, text(&ty.docs), "");
    match ty.kind.as_str() {
        "interface" => {
            out.push_str("export interface ");
            out.push_str(&ty.ts_name);
            out.push_str(" {\n");
            for property in &ty.properties {
                out.push_str("  ");
                push_ts_doc(out, text(&property.docs), "  ");
                out.push_str(&property.key);
                if !property.required {
                    out.push('?');
                }
                out.push_str(": ");
                out.push_str(&property.ts_type);
                out.push_str(";\n");
            }
            out.push_str("}\n");
        }
        "union" => {
            out.push_str("export type ");
            out.push_str(&ty.ts_name);
            out.push_str(" =\n");
            let last = ty.variants.len().saturating_sub(1);
            for (i, variant) in ty.variants.iter().enumerate() {
                out.push_str("  ");
                push_ts_doc(out, text(&variant.docs), "  ");
                out.push_str("| ");
                out.push_str(&variant.ts_type);
                if i == last {
                    out.push(';');
                }
                out.push('\n');
            }
        }
        _ => {
            out.push_str("export type ");
            out.push_str(&ty.ts_name);
            out.push_str(" = ");
            out.push_str(&ty.ts_type);
            out.push_str(";\n");
        }
    }
}

/// `Promise<...>`: the call result, or the value.
fn promise(out: &mut String, view: &ServiceView, request: &RequestView) {
    out.push_str("Promise<");
    match &request.error {
        Some(error) => {
            out.push_str(&view.names.call_result);
            out.push('<');
            out.push_str(&request.returns);
            out.push_str(", ");
            out.push_str(&error.ts_type);
            out.push('>');
        }
        None => out.push_str(&request.returns),
    }
    out.push('>');
}

/// `{{#each requests}}`: the request's function.
fn function(out: &mut String, view: &ServiceView, request: &RequestView) {
    let names = &view.names;
    out.push_str("\n/**\n * `");
    out.push_str(&request.method);
    out.push(' ');
    out.push_str(&request.path);
    out.push('`');
    if let Some(summary) = truthy(&request.summary) {
        out.push_str(": ");
        out.push_str(summary);
    }
    out.push('\n');
    if let Some(error) = &request.error {
        out.push_str(" *\n * A typed error comes back as `{ ok: false, error }`:\n");
        for variant in &error.variants {
            out.push_str(" * - `");
            out.push_str(&variant.name);
            out.push_str("` (");
            out.push_str(&variant.status.to_string());
            out.push(')');
            if let Some(docs) = truthy(&variant.docs) {
                out.push_str(": ");
                out.push_str(docs);
            }
            out.push('\n');
        }
    }
    out.push_str(" */\nexport async function ");
    out.push_str(&request.function);
    out.push_str("(\n  connection: ");
    out.push_str(&names.connection);
    out.push_str(",\n");
    for argument in &request.arguments {
        out.push_str("  ");
        parameter(out, argument);
    }
    out.push_str("  options?: ");
    out.push_str(&names.call_options);
    out.push_str(",\n): ");
    promise(out, view, request);
    out.push_str(" {\n  const $result = await $send<");
    out.push_str(&request.returns);
    out.push_str(", ");
    match &request.error {
        Some(error) => out.push_str(&error.ts_type),
        None => out.push_str("never"),
    }
    out.push_str(">(\n    connection,\n    {\n      operation: ");
    push_json_str(out, &request.name);
    out.push_str(",\n      method: ");
    push_json_str(out, &request.method);
    out.push_str(",\n      path: ");
    let last = request.path_segments.len().saturating_sub(1);
    for (i, segment) in request.path_segments.iter().enumerate() {
        match truthy(&segment.literal) {
            Some(literal) => push_json_str(out, literal),
            None => {
                out.push_str("$pathParameter(");
                push_json_str(out, &request.name);
                out.push_str(", ");
                match &segment.param {
                    Some(param) => push_json_str(out, param),
                    None => out.push_str("null"),
                }
                out.push_str(", ");
                out.push_str(segment.argument.as_deref().unwrap_or(""));
                out.push(')');
            }
        }
        if i != last {
            out.push_str(" + ");
        }
    }
    out.push_str(",\n      status: ");
    out.push_str(&request.status.to_string());
    out.push_str(",\n      errorStatuses: [");
    if let Some(error) = &request.error {
        let last = error.variants.len().saturating_sub(1);
        for (i, variant) in error.variants.iter().enumerate() {
            out.push_str(&variant.status.to_string());
            if i != last {
                out.push_str(", ");
            }
        }
    }
    out.push_str("],\n      query: ");
    match &request.query {
        Some(query) => {
            out.push_str(&names.encode_query);
            out.push('(');
            out.push_str(&query.argument.ident);
            out.push(')');
        }
        None => out.push_str("undefined"),
    }
    out.push_str(",\n      headers: [");
    let last = request.headers.len().saturating_sub(1);
    for (i, header) in request.headers.iter().enumerate() {
        out.push('[');
        push_json_str(out, &header.wire_name);
        out.push_str(", ");
        out.push_str(&header.ident);
        out.push(']');
        if i != last {
            out.push_str(", ");
        }
    }
    out.push_str("],\n      body: ");
    match &request.body {
        Some(body) => {
            out.push_str("JSON.stringify(");
            out.push_str(&body.ident);
            out.push(')');
        }
        None => out.push_str("undefined"),
    }
    out.push_str(",\n      typed: ");
    out.push_str(if request.error.is_some() {
        "true"
    } else {
        "false"
    });
    out.push_str(",\n");
    if view.service.auth.is_some() {
        out.push_str("      credential: ");
        match truthy(&request.credential) {
            Some(credential) => push_json_str(out, credential),
            None => out.push_str("undefined"),
        }
        out.push_str(",\n");
    }
    out.push_str("    },\n    options,\n  );\n  return ");
    if request.error.is_some() {
        out.push_str("$result");
    } else {
        out.push_str(&names.unwrap);
        out.push_str("($result)");
    }
    out.push_str(";\n}\n");
}

/// `{{ident}}{{#if optional}}?{{/if}}: {{ts_type}},` and a line break.
fn parameter(out: &mut String, argument: &ArgumentView) {
    out.push_str(&argument.ident);
    if argument.optional {
        out.push('?');
    }
    out.push_str(": ");
    out.push_str(&argument.ts_type);
    out.push_str(",\n");
}

/// `{{#each requests}}` in the client class: the request's method.
fn method(out: &mut String, view: &ServiceView, request: &RequestView) {
    out.push_str("\n  ");
    push_ts_doc(out, text(&request.summary), "  ");
    out.push_str(&request.function);
    out.push_str("(\n");
    for argument in &request.arguments {
        out.push_str("    ");
        parameter(out, argument);
    }
    out.push_str("    options?: ");
    out.push_str(&view.names.call_options);
    out.push_str(",\n  ): ");
    promise(out, view, request);
    out.push_str(" {\n    return ");
    out.push_str(&request.function);
    out.push_str("(this.#connection, ");
    for argument in &request.arguments {
        out.push_str(&argument.ident);
        out.push_str(", ");
    }
    out.push_str("options);\n  }\n");
}

/// The expressions of the runtime partial.
struct Runtime<'a>(&'a ServiceView);

impl Fill for Runtime<'_> {
    fn value(&self, expression: &str, out: &mut String) -> bool {
        let view = self.0;
        let names = &view.names;
        let auth = view.service.auth.as_ref();
        let text = match expression {
            "@root.names.field_error" => &names.field_error,
            "@root.names.problem" => &names.problem,
            "@root.names.connection" => &names.connection,
            "@root.names.credential" => &names.credential,
            "@root.names.call_options" => &names.call_options,
            "@root.names.call_result" => &names.call_result,
            "@root.names.service_error" => &names.service_error,
            "@root.names.problem_error" => &names.problem_error,
            "@root.names.protocol_error" => &names.protocol_error,
            "@root.names.unwrap" => &names.unwrap,
            "@root.names.encode_path_segment" => &names.encode_path_segment,
            "@root.names.encode_query" => &names.encode_query,
            "@root.problem_types.service_error" => &view.problem_types.service_error,
            "@root.service.auth.api_key_header" => {
                out.push_str(auth.and_then(|a| a.api_key_header.as_deref()).unwrap_or(""));
                return true;
            }
            "json @root.service.auth.api_key_header" => {
                match auth.and_then(|a| a.api_key_header.as_deref()) {
                    Some(header) => push_json_str(out, header),
                    None => out.push_str("null"),
                }
                return true;
            }
            "json @root.problem_types.service_error" => {
                push_json_str(out, &view.problem_types.service_error);
                return true;
            }
            _ => return false,
        };
        out.push_str(text);
        true
    }

    fn condition(&self, expression: &str) -> Option<bool> {
        let auth = self.0.service.auth.as_ref();
        Some(match expression {
            "@root.service.auth" => auth.is_some(),
            "@root.service.auth.bearer" => auth.is_some_and(|a| a.bearer),
            "@root.service.auth.api_key_header" => auth
                .and_then(|a| a.api_key_header.as_deref())
                .is_some_and(|h| !h.is_empty()),
            _ => return None,
        })
    }
}
