//! The documentation page's own template helpers.

use handlebars::{Context, Handlebars, Helper, HelperDef, RenderContext, RenderError, ScopedJson};

use crate::templates::helpers::{derived, param};
use serde_json::Value;

/// Registers the page's helpers on `registry`.
pub(super) fn register(registry: &mut Handlebars<'static>) {
    registry.register_helper("doc_html", Box::new(DocHtml));
    registry.register_helper("type_html", Box::new(TypeHtml));
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

/// `{{{type_html type refs}}}`: a type in the page's notation, escaped,
/// with each name in `refs` linked to `#type-<name>`.
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
    // Longest names first, so `Order` does not link the start of `OrderId`.
    let mut refs: Vec<&str> = refs.iter().copied().filter(|r| !r.is_empty()).collect();
    refs.sort_by_key(|r| std::cmp::Reverse(r.len()));
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let mut html = String::new();
    let mut rest = text;
    let mut in_string = false;
    let mut after_word = false;
    while let Some(c) = rest.chars().next() {
        if !in_string && !after_word {
            let found = refs
                .iter()
                .find(|r| rest.starts_with(**r) && !rest[r.len()..].starts_with(word));
            if let Some(name) = found {
                let shown = escape(name);
                html.push_str(&format!("<a href=\"#type-{shown}\">{shown}</a>"));
                rest = &rest[name.len()..];
                after_word = true;
                continue;
            }
        }
        html.push_str(&escape(&c.to_string()));
        if c == '"' {
            in_string = !in_string;
        }
        after_word = word(c);
        rest = &rest[c.len_utf8()..];
    }
    html
}

fn escape(text: &str) -> String {
    handlebars::html_escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_html_escapes_and_marks_code() {
        assert_eq!(
            doc_html("Use `a<b>` & more.\n\nSecond."),
            "<p>Use <code>a&lt;b&gt;</code> &amp; more.</p>\n<p>Second.</p>"
        );
    }

    #[test]
    fn type_html_links_whole_names_only() {
        assert_eq!(
            type_html("Order | OrderId | a-b[]", &["Order", "OrderId", "a-b"]),
            "<a href=\"#type-Order\">Order</a> | <a href=\"#type-OrderId\">OrderId</a> | \
             <a href=\"#type-a-b\">a-b</a>[]"
        );
        assert_eq!(type_html("XOrder", &["Order"]), "XOrder");
    }

    #[test]
    fn type_html_links_known_names_only() {
        assert_eq!(
            type_html("Line[] | \"Line\" | Other", &["Line"]),
            "<a href=\"#type-Line\">Line</a>[] | &quot;Line&quot; | Other"
        );
    }
}
