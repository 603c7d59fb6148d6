//! The Python client's files written without handlebars: the output of
//! the built-in `client.py.hbs`, `runtime.py.hbs` and `pyproject.toml.hbs`,
//! byte for byte. The fixed text comes from the templates themselves
//! ([`fill`]); the blocks repeated per model, request or event are written
//! here. It is used only while none of the set's templates is overridden;
//! a test renders every contract both ways and compares them.

use super::helpers::push_py_doc;
use super::view::*;
use crate::templates::fill::{fill, push_json_str, Fill};

const CLIENT: &str = include_str!("client.py.hbs");
const RUNTIME: &str = include_str!("runtime.py.hbs");
const PYPROJECT: &str = include_str!("pyproject.toml.hbs");

/// The built-in `client.py.hbs` for `view`.
pub fn client(view: &PythonView) -> String {
    let mut out = String::with_capacity(64 * 1024);
    fill(&mut out, CLIENT, &View(view));
    out
}

/// The built-in `runtime.py.hbs` for `view`.
pub fn runtime(view: &PythonView) -> String {
    let mut out = String::with_capacity(RUNTIME.len() + 256);
    fill(&mut out, RUNTIME, &View(view));
    out
}

/// The built-in `pyproject.toml.hbs` for `view`.
pub fn pyproject(view: &PythonView) -> String {
    let mut out = String::with_capacity(PYPROJECT.len() + 256);
    fill(&mut out, PYPROJECT, &View(view));
    out
}

/// The expressions and blocks of the Python templates.
struct View<'a>(&'a PythonView);

/// `{{#if text}}`: present and not empty.
fn truthy(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|t| !t.is_empty())
}

/// `{{py_doc text indent="..."}}`.
fn doc(out: &mut String, text: &str, indent: &str) {
    push_py_doc(out, text.trim(), indent);
}

impl Fill for View<'_> {
    fn value(&self, expression: &str, out: &mut String) -> bool {
        let view = self.0;
        let names = &view.names;
        let package = &view.package;
        let text: &str = match expression {
            "service.name" => &view.service.name,
            "service.version" => &view.service.version,
            "service.rust_path" => &view.service.rust_path,
            "service.auth.api_key_header" => view
                .service
                .auth
                .as_ref()
                .and_then(|a| a.api_key_header.as_deref())
                .unwrap_or(""),
            "names.client" => &names.client,
            "names.service_error" => &names.service_error,
            "names.problem_error" => &names.problem_error,
            "names.protocol_error" => &names.protocol_error,
            "names.problem" => &names.problem,
            "names.field_error" => &names.field_error,
            "names.topics" => &names.topics,
            "names.events" => &names.events,
            "names.event_payloads" => &names.event_payloads,
            "names.default_timeout" => &names.default_timeout,
            "names.default_reply_limit" => &names.default_reply_limit,
            "names.credential" => &names.credential,
            "package.module" => &package.module,
            "py_doc module_doc indent=\"\"" => {
                doc(out, &view.module_doc, "");
                return true;
            }
            "py_doc client_doc indent=\"    \"" => {
                doc(out, &view.client_doc, "    ");
                return true;
            }
            _ => {
                let Some(path) = expression.strip_prefix("json ") else {
                    return false;
                };
                let text = match path {
                    "names.events" => &names.events,
                    "problem_types.service_error" => &view.problem_types.service_error,
                    "problem_types.invalid_request" => &view.problem_types.invalid_request,
                    "package.build_requires" => &package.build_requires,
                    "package.distribution" => &package.distribution,
                    "package.version" => &package.version,
                    "package.description" => &package.description,
                    "package.requires_python" => &package.requires_python,
                    "package.module" => &package.module,
                    "service.auth.api_key_header" => {
                        match view
                            .service
                            .auth
                            .as_ref()
                            .and_then(|a| a.api_key_header.as_deref())
                        {
                            Some(header) => push_json_str(out, header),
                            None => out.push_str("null"),
                        }
                        return true;
                    }
                    _ => return false,
                };
                push_json_str(out, text);
                return true;
            }
        };
        out.push_str(text);
        true
    }

    fn condition(&self, expression: &str) -> Option<bool> {
        let view = self.0;
        let auth = view.service.auth.as_ref();
        Some(match expression {
            "service.auth" => auth.is_some(),
            "service.auth.bearer" => auth.is_some_and(|a| a.bearer),
            "service.auth.api_key_header" => auth
                .and_then(|a| a.api_key_header.as_deref())
                .is_some_and(|h| !h.is_empty()),
            "events" => !view.events.is_empty(),
            _ => return None,
        })
    }

    fn each(&self, expression: &str, nth: usize, out: &mut String) -> bool {
        let view = self.0;
        match (expression, nth) {
            ("package.dependencies", 0) => {
                for dependency in &view.package.dependencies {
                    out.push_str("    ");
                    push_json_str(out, dependency);
                    out.push_str(",\n");
                }
            }
            ("exports", 0) => {
                for export in &view.exports {
                    out.push_str("    ");
                    push_json_str(out, export);
                    out.push_str(",\n");
                }
            }
            ("models", 0) => view.models.iter().for_each(|m| model(out, m)),
            ("aliases", 0) => {
                for alias in &view.aliases {
                    out.push('\n');
                    out.push_str(&alias.name);
                    out.push_str(": _t.TypeAlias = ");
                    out.push_str(&alias.annotation);
                    out.push('\n');
                    if let Some(docs) = truthy(&alias.docs) {
                        doc(out, docs, "");
                        out.push('\n');
                    }
                }
            }
            ("errors", 0) => {
                for error in &view.errors {
                    out.push_str("\n\nclass ");
                    out.push_str(&error.exception);
                    out.push('(');
                    out.push_str(&view.names.service_error);
                    out.push('[');
                    out.push_str(&error.annotation);
                    out.push_str("]):\n    ");
                    doc(out, &error.doc, "    ");
                    out.push('\n');
                }
            }
            ("models", 1) => {
                for model in &view.models {
                    out.push_str(&model.name);
                    out.push_str(".model_rebuild()\n");
                }
            }
            ("adapters", 0) => {
                for adapter in &view.adapters {
                    out.push_str(&adapter.name);
                    out.push_str(": _p.TypeAdapter[");
                    out.push_str(&adapter.annotation);
                    out.push_str("] = _p.TypeAdapter(");
                    out.push_str(&adapter.annotation);
                    out.push_str(")\n");
                }
            }
            ("errors", 1) => {
                for error in &view.errors {
                    out.push_str(&error.decoder);
                    out.push_str(": _runtime.TypedError[");
                    out.push_str(&error.annotation);
                    out.push_str("] = _runtime.TypedError(");
                    out.push_str(&error.adapter);
                    out.push_str(", ");
                    out.push_str(&error.exception);
                    out.push_str(")\n");
                }
            }
            ("requests", 0) => view.requests.iter().for_each(|r| request(out, r)),
            ("events", 0) => {
                for event in &view.events {
                    out.push_str("\n    ");
                    out.push_str(&event.constant);
                    out.push_str(": _t.Final = ");
                    push_json_str(out, &event.topic);
                    out.push('\n');
                    if let Some(docs) = truthy(&event.docs) {
                        out.push_str("    ");
                        doc(out, docs, "    ");
                        out.push('\n');
                    }
                }
            }
            ("events", 1) => {
                for event in &view.events {
                    out.push_str("        ");
                    push_json_str(out, &event.topic);
                    out.push_str(": ");
                    out.push_str(&event.payload);
                    out.push_str(",\n");
                }
            }
            ("events", 2) => {
                for event in &view.events {
                    out.push_str("    ");
                    push_json_str(out, &event.topic);
                    out.push_str(": ");
                    out.push_str(&event.adapter);
                    out.push_str(",\n");
                }
            }
            _ => return false,
        }
        true
    }
}

/// `{{#each models}}`: a model class.
fn model(out: &mut String, model: &ModelView) {
    out.push_str("\n\nclass ");
    out.push_str(&model.name);
    out.push_str("(_runtime.Model):\n");
    if let Some(docs) = truthy(&model.docs) {
        out.push_str("    ");
        doc(out, docs, "    ");
        out.push_str("\n\n");
    }
    if model.extra {
        out.push_str("    model_config = _p.ConfigDict(extra=\"allow\")\n\n");
    }
    if !model.optional.is_empty() {
        out.push_str("    _accord_optional: _t.ClassVar[frozenset[str]] = frozenset({");
        for (i, name) in model.optional.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            push_json_str(out, name);
        }
        out.push_str("})\n\n");
    }
    for field in &model.fields {
        out.push_str("    ");
        out.push_str(&field.name);
        out.push_str(": ");
        out.push_str(&field.annotation);
        if let Some(default) = truthy(&field.default) {
            out.push_str(" = ");
            out.push_str(default);
        }
        out.push('\n');
        if let Some(docs) = truthy(&field.docs) {
            out.push_str("    ");
            doc(out, docs, "    ");
            out.push('\n');
        }
    }
    if model.fields.is_empty() {
        out.push_str("    pass\n");
    }
}

/// `_runtime.headers(...)` of a request's headers.
fn headers(out: &mut String, request: &RequestView) {
    out.push_str("_runtime.headers(");
    for (i, header) in request.headers.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('(');
        push_json_str(out, &header.wire_name);
        out.push_str(", ");
        out.push_str(&header.ident);
        out.push(')');
    }
    out.push(')');
}

/// `{{#each requests}}`: a method of the client.
fn request(out: &mut String, request: &RequestView) {
    out.push_str("\n    async def ");
    out.push_str(&request.name);
    out.push_str("(\n        self,\n");
    for parameter in &request.parameters {
        out.push_str("        ");
        out.push_str(&parameter.ident);
        out.push_str(": ");
        out.push_str(&parameter.annotation);
        if let Some(default) = truthy(&parameter.default) {
            out.push_str(" = ");
            out.push_str(default);
        }
        out.push_str(",\n");
    }
    out.push_str(
        "        *,\n        timeout: float | None = None,\n        \
         headers: _Mapping[str, str] | None = None,\n    ) -> ",
    );
    out.push_str(&request.returns);
    out.push_str(":\n        ");
    doc(out, &request.doc, "        ");
    out.push_str(
        "\n        reply = await self._connection.send(\n            _runtime.Call(\n                \
         operation=",
    );
    push_json_str(out, &request.operation);
    out.push_str(",\n                method=");
    push_json_str(out, &request.method);
    out.push_str(",\n                path=");
    out.push_str(&request.path_expr);
    out.push_str(",\n                query=");
    match &request.query {
        Some(query) => {
            out.push_str("_runtime.encode_query(None if ");
            out.push_str(&query.ident);
            out.push_str(" is None else ");
            out.push_str(&query.adapter);
            out.push_str(".dump_python(");
            out.push_str(&query.ident);
            out.push_str(", mode=\"json\"))");
        }
        None => out.push_str("None"),
    }
    out.push_str(",\n                headers=");
    match truthy(&request.credential) {
        Some(credential) => {
            out.push_str("{\n                    **");
            headers(out, request);
            out.push_str(",\n                    **await self._credential(");
            push_json_str(out, credential);
            out.push_str("),\n                }");
        }
        None => headers(out, request),
    }
    out.push_str(",\n                body=");
    match &request.body {
        Some(body) => {
            out.push_str(&body.adapter);
            out.push_str(".dump_json(");
            out.push_str(&body.ident);
            out.push(')');
        }
        None => out.push_str("None"),
    }
    out.push_str(
        ",\n            ),\n            timeout=timeout,\n            headers=headers,\n        )\n",
    );
    let decoder = request
        .error
        .as_ref()
        .map_or("None", |e| e.decoder.as_str());
    match truthy(&request.response_adapter) {
        Some(adapter) => {
            out.push_str("        return reply.value(");
            out.push_str(adapter);
            out.push_str(", ");
            out.push_str(decoder);
            out.push_str(")\n");
        }
        None => {
            out.push_str("        reply.check(");
            out.push_str(decoder);
            out.push_str(")\n");
        }
    }
}
