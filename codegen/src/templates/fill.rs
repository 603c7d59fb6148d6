//! Filling the built-in templates whose text is mostly fixed (the clients'
//! runtimes, the Python client's frame) without handlebars, from the
//! template text itself:
//!
//! - each `{{expression}}` is replaced by what the caller writes for it
//!   (`{{~expression}}` first drops the spaces before it on its line);
//! - a line holding only `{{#if expression}}` or `{{#unless expression}}`
//!   opens a block kept when the caller says the expression holds (does
//!   not hold), and a line holding only `{{/if}}` or `{{/unless}}` closes
//!   it;
//! - a block from a line holding only `{{#each expression}}` to its line
//!   `{{/each}}` is written by the caller, in Rust.
//!
//! Such tag lines are dropped with their line break, as handlebars drops
//! them. Anything else in `{{ }}` is a mistake in the caller's list of
//! expressions, and panics: these are built-in templates, and a test fills
//! each of them and compares the result with what handlebars writes.

/// What a template's expressions stand for.
pub(crate) trait Fill {
    /// Appends the value of `{{expression}}` to `out`; `false` when the
    /// expression is not one this template has.
    fn value(&self, expression: &str, out: &mut String) -> bool;

    /// Whether `{{#if expression}}` holds; `None` when the expression is
    /// not one this template has.
    fn condition(&self, expression: &str) -> Option<bool>;

    /// Appends the block `{{#each expression}}`, the `nth` (from 0) of the
    /// template's blocks over that expression; `false` when the template
    /// has no such block.
    fn each(&self, expression: &str, nth: usize, out: &mut String) -> bool {
        let _ = (expression, nth, out);
        false
    }
}

/// Appends `source` filled by `fill` to `out`.
pub(crate) fn fill(out: &mut String, source: &str, fill: &impl Fill) {
    // Whether each open block is kept (its own condition and its parents').
    let mut kept: Vec<bool> = Vec::new();
    // Inside an `{{#each}}` block: how deep.
    let mut each_depth = 0usize;
    // The `{{#each}}` blocks seen so far, by expression.
    let mut seen: Vec<&str> = Vec::new();
    for line in source.split_inclusive('\n') {
        if each_depth == 0 && kept.last().copied().unwrap_or(true) && !line.contains('{') {
            // Most lines are fixed text.
            out.push_str(line);
            continue;
        }
        let tag = line.trim();
        let open = |name: &str| {
            tag.strip_prefix("{{#")
                .and_then(|rest| rest.strip_prefix(name))
                .and_then(|rest| rest.strip_prefix(' '))
                .and_then(|rest| rest.strip_suffix("}}"))
        };
        if each_depth > 0 {
            if open("each").is_some() {
                each_depth += 1;
            } else if tag == "{{/each}}" {
                each_depth -= 1;
            }
            continue;
        }
        let here = kept.last().copied().unwrap_or(true);
        if let Some(expression) = open("each") {
            each_depth = 1;
            if here {
                let nth = seen.iter().filter(|e| **e == expression).count();
                seen.push(expression);
                assert!(
                    fill.each(expression, nth, out),
                    "no block `{{{{#each {expression}}}}}` in a built-in template"
                );
            }
            continue;
        }
        let condition = |expression: &str| {
            fill.condition(expression)
                .unwrap_or_else(|| panic!("no condition `{expression}` in a built-in template"))
        };
        if let Some(expression) = open("if") {
            kept.push(here && condition(expression));
            continue;
        }
        if let Some(expression) = open("unless") {
            kept.push(here && !condition(expression));
            continue;
        }
        if tag == "{{/if}}" || tag == "{{/unless}}" {
            kept.pop().expect("a closing tag closes a block");
            continue;
        }
        assert!(
            !tag.starts_with("{{#") && !tag.starts_with("{{/") && !tag.starts_with("{{else"),
            "`{tag}` in a built-in template is not a block this filler knows"
        );
        if !here {
            continue;
        }
        let mut rest = line;
        while let Some(start) = find_open(rest) {
            let end = rest[start..]
                .find("}}")
                .map(|end| start + end)
                .expect("`{{` is closed by `}}`");
            let mut expression = &rest[start + 2..end];
            match expression.strip_prefix('~') {
                Some(trimmed) => {
                    out.push_str(rest[..start].trim_end());
                    expression = trimmed;
                }
                None => out.push_str(&rest[..start]),
            }
            assert!(
                fill.value(expression, out),
                "no value `{expression}` in a built-in template"
            );
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
    }
    assert!(kept.is_empty(), "every block is closed");
}

/// Where the first `{{` of `text` is.
fn find_open(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = text[from..].find('{') {
        let at = from + at;
        if bytes.get(at + 1) == Some(&b'{') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// `{{json value}}` of a string: a quoted JSON string.
pub(crate) fn push_json_str(out: &mut String, text: &str) {
    out.push_str(&serde_json::to_string(text).expect("strings always serialize"));
}
