//! The Python set's own template helpers.

use handlebars::{Context, Handlebars, Helper, HelperDef, RenderContext, RenderError, ScopedJson};

use crate::templates::helpers::{derived, param};

/// Registers the Python helpers on `registry`.
pub(super) fn register(registry: &mut Handlebars<'static>) {
    registry.register_helper("py_doc", Box::new(PyDoc));
}

/// `{{py_doc text indent="    "}}`: a `"""..."""` docstring of `text`,
/// its later lines indented by `indent`; nothing when `text` is null or
/// empty.
struct PyDoc;

impl HelperDef for PyDoc {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let text = param(h, "py_doc", 0)?.as_str().unwrap_or("").trim();
        let indent = h
            .hash_get("indent")
            .and_then(|v| v.value().as_str())
            .unwrap_or("");
        derived(py_doc(text, indent))
    }
}

fn py_doc(text: &str, indent: &str) -> String {
    let mut out = String::new();
    push_py_doc(&mut out, text, indent);
    out
}

/// [`PyDoc`]'s output for `text` (already trimmed), appended to `out`.
pub(super) fn push_py_doc(out: &mut String, text: &str, indent: &str) {
    if text.is_empty() {
        return;
    }
    let text = text.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"");
    let start = out.len();
    out.push_str("\"\"\"");
    let mut lines = 0;
    for (i, line) in text.lines().map(str::trim_end).enumerate() {
        if i > 0 {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(indent);
            }
        }
        out.push_str(line);
        lines += 1;
    }
    if lines > 1 {
        out.push('\n');
        out.push_str(indent);
    } else if out[start..].ends_with('"') {
        out.push(' ');
    }
    out.push_str("\"\"\"");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docstrings_are_escaped_and_indented() {
        assert_eq!(py_doc("", "    "), "");
        assert_eq!(py_doc("One line.", "    "), "\"\"\"One line.\"\"\"");
        assert_eq!(
            py_doc("First.\n\nSecond \\ \"\"\" end.", "    "),
            "\"\"\"First.\n\n    Second \\\\ \\\"\\\"\\\" end.\n    \"\"\""
        );
        assert_eq!(py_doc("Say \"hi\"", ""), "\"\"\"Say \"hi\" \"\"\"");
    }
}
