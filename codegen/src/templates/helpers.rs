//! The helpers templates can call besides handlebars' built-ins
//! (`if`, `each`, `eq`, `and`, `not`, `len`, ...). Each is documented in
//! `codegen/TEMPLATES.md`.

use handlebars::{
    Context, Handlebars, Helper, HelperDef, RenderContext, RenderError, RenderErrorReason,
    ScopedJson,
};
use serde_json::Value;

/// Registers every helper on `registry`.
pub(super) fn register(registry: &mut Handlebars<'static>) {
    registry.register_helper("json", Box::new(Json));
    registry.register_helper("ts_doc", Box::new(TsDoc));
    registry.register_helper("doc_html", Box::new(DocHtml));
    registry.register_helper("type_html", Box::new(TypeHtml));
    registry.register_helper("lower", Box::new(Lower));
}

/// The value of parameter `index`; an error when it is missing, so strict
/// mode also covers helper arguments.
fn param<'a>(
    h: &'a Helper<'_>,
    name: &'static str,
    index: usize,
) -> Result<&'a Value, RenderError> {
    match h.param(index) {
        Some(p) if !p.is_value_missing() => Ok(p.value()),
        Some(p) => {
            Err(RenderErrorReason::MissingVariable(p.relative_path().map(|s| s.to_owned())).into())
        }
        None => Err(RenderErrorReason::ParamNotFoundForIndex(name, index).into()),
    }
}

fn derived(text: String) -> Result<ScopedJson<'static>, RenderError> {
    Ok(ScopedJson::Derived(Value::String(text)))
}

/// `{{json value}}`: the value as compact JSON (a string becomes a quoted,
/// escaped literal, valid in TypeScript).
struct Json;

impl HelperDef for Json {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let value = param(h, "json", 0)?;
        derived(serde_json::to_string(value).unwrap_or_default())
    }
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
    if text.is_empty() {
        return String::new();
    }
    let text = text.replace("*/", "*\\/");
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() == 1 {
        return format!("/** {} */\n{indent}", lines[0]);
    }
    let mut out = String::from("/**\n");
    for line in lines {
        let line = line.trim_end();
        if line.is_empty() {
            out.push_str(&format!("{indent} *\n"));
        } else {
            out.push_str(&format!("{indent} * {line}\n"));
        }
    }
    out.push_str(&format!("{indent} */\n{indent}"));
    out
}

/// `{{{doc_html text}}}`: a doc comment as HTML paragraphs, escaped, with
/// `` `code` `` spans; nothing for null.
struct DocHtml;

impl HelperDef for DocHtml {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let text = param(h, "doc_html", 0)?.as_str().unwrap_or("");
        derived(doc_html(text))
    }
}

fn doc_html(text: &str) -> String {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|paragraph| {
            let mut html = String::from("<p>");
            for (i, part) in paragraph.split('`').enumerate() {
                let escaped = escape(part);
                if i % 2 == 1 {
                    html.push_str(&format!("<code>{escaped}</code>"));
                } else {
                    html.push_str(&escaped);
                }
            }
            html.push_str("</p>");
            html
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `{{{type_html ts_type refs}}}`: a TypeScript type, escaped, with each
/// name in `refs` linked to `#type-<name>`.
struct TypeHtml;

impl HelperDef for TypeHtml {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let text = param(h, "type_html", 0)?.as_str().unwrap_or("");
        let refs: Vec<&str> = param(h, "type_html", 1)?
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        derived(type_html(text, &refs))
    }
}

fn type_html(text: &str, refs: &[&str]) -> String {
    let mut html = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, html: &mut String| {
        if word.is_empty() {
            return;
        }
        if refs.contains(&word.as_str()) {
            html.push_str(&format!("<a href=\"#type-{word}\">{word}</a>"));
        } else {
            html.push_str(&escape(word));
        }
        word.clear();
    };
    let mut in_string = false;
    for c in text.chars() {
        if in_string {
            html.push_str(&escape(&c.to_string()));
            if c == '"' {
                in_string = false;
            }
        } else if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
            word.push(c);
        } else {
            flush(&mut word, &mut html);
            html.push_str(&escape(&c.to_string()));
            in_string = c == '"';
        }
    }
    flush(&mut word, &mut html);
    html
}

/// `{{lower text}}`: lower case.
struct Lower;

impl HelperDef for Lower {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let text = param(h, "lower", 0)?.as_str().unwrap_or("");
        derived(text.to_lowercase())
    }
}

fn escape(text: &str) -> String {
    handlebars::html_escape(text)
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

    #[test]
    fn doc_html_escapes_and_marks_code() {
        assert_eq!(
            doc_html("Use `a<b>` & more.\n\nSecond."),
            "<p>Use <code>a&lt;b&gt;</code> &amp; more.</p>\n<p>Second.</p>"
        );
    }

    #[test]
    fn type_html_links_known_names_only() {
        assert_eq!(
            type_html("Line[] | \"Line\" | Other", &["Line"]),
            "<a href=\"#type-Line\">Line</a>[] | &quot;Line&quot; | Other"
        );
    }
}
