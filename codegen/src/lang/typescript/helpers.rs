//! The TypeScript set's own template helpers.

use handlebars::{Context, Handlebars, Helper, HelperDef, RenderContext, RenderError, ScopedJson};

use crate::templates::helpers::{derived, param};

/// Registers the TypeScript helpers on `registry`.
pub(super) fn register(registry: &mut Handlebars<'static>) {
    registry.register_helper("ts_doc", Box::new(TsDoc));
}

/// `{{ts_doc text indent="  "}}`: a `/** ... */` comment for `text`
/// followed by a line break and the indent, or nothing when `text` is null
/// or empty.
struct TsDoc;

impl HelperDef for TsDoc {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let text = param(h, "ts_doc", 0)?.as_str().unwrap_or("").trim();
        let indent = h
            .hash_get("indent")
            .and_then(|v| v.value().as_str())
            .unwrap_or("");
        derived(ts_doc(text, indent))
    }
}

fn ts_doc(text: &str, indent: &str) -> String {
    let mut out = String::new();
    push_ts_doc(&mut out, text, indent);
    out
}

/// [`TsDoc`]'s output for `text` (already trimmed), appended to `out`.
pub(super) fn push_ts_doc(out: &mut String, text: &str, indent: &str) {
    if text.is_empty() {
        return;
    }
    let escaped;
    let text = if text.contains("*/") {
        escaped = text.replace("*/", "*\\/");
        escaped.as_str()
    } else {
        text
    };
    let mut lines = text.lines();
    if let (Some(line), None) = (lines.next(), lines.next()) {
        out.push_str("/** ");
        out.push_str(line);
        out.push_str(" */\n");
        out.push_str(indent);
        return;
    }
    out.push_str("/**\n");
    for line in text.lines() {
        let line = line.trim_end();
        out.push_str(indent);
        if line.is_empty() {
            out.push_str(" *\n");
        } else {
            out.push_str(" * ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(indent);
    out.push_str(" */\n");
    out.push_str(indent);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_doc_comments() {
        assert_eq!(ts_doc("", "  "), "");
        assert_eq!(ts_doc("One line.", "  "), "/** One line. */\n  ");
        assert_eq!(
            ts_doc("First.\n\nEnds */ here.", ""),
            "/**\n * First.\n *\n * Ends *\\/ here.\n */\n"
        );
    }
}
