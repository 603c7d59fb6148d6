//! The documentation page's own template helpers.

use handlebars::{Context, Handlebars, Helper, HelperDef, RenderContext, RenderError, ScopedJson};

use crate::templates::helpers::{derived, param};
use crate::templates::push_html_escaped;
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
    let mut html = String::new();
    push_doc_html(&mut html, text);
    html
}

/// [`DocHtml`]'s output, appended to `html`.
pub(super) fn push_doc_html(html: &mut String, text: &str) {
    let paragraphs = text.split("\n\n").map(str::trim).filter(|p| !p.is_empty());
    for (n, paragraph) in paragraphs.enumerate() {
        if n > 0 {
            html.push('\n');
        }
        html.push_str("<p>");
        for (i, part) in paragraph.split('`').enumerate() {
            if i % 2 == 1 {
                html.push_str("<code>");
                push_html_escaped(html, part);
                html.push_str("</code>");
            } else {
                push_html_escaped(html, part);
            }
        }
        html.push_str("</p>");
    }
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
    let mut html = String::new();
    push_type_html(&mut html, text, refs);
    html
}

/// [`TypeHtml`]'s output, appended to `html`.
pub(super) fn push_type_html(html: &mut String, text: &str, refs: &[impl AsRef<str>]) {
    // Longest names first, so `Order` does not link the start of `OrderId`.
    let mut refs: Vec<&str> = refs
        .iter()
        .map(AsRef::as_ref)
        .filter(|r| !r.is_empty())
        .collect();
    refs.sort_by_key(|r| std::cmp::Reverse(r.len()));
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let mut rest = text;
    let mut in_string = false;
    let mut after_word = false;
    while let Some(c) = rest.chars().next() {
        if !in_string && !after_word {
            let found = refs
                .iter()
                .find(|r| rest.starts_with(**r) && !rest[r.len()..].starts_with(word));
            if let Some(name) = found {
                html.push_str("<a href=\"#type-");
                push_html_escaped(html, name);
                html.push_str("\">");
                push_html_escaped(html, name);
                html.push_str("</a>");
                rest = &rest[name.len()..];
                after_word = true;
                continue;
            }
        }
        let len = c.len_utf8();
        push_html_escaped(html, &rest[..len]);
        if c == '"' {
            in_string = !in_string;
        }
        after_word = word(c);
        rest = &rest[len..];
    }
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
