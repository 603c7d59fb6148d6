//! `index.html` written by Rust from the page's view: the output of the
//! built-in `index.html.hbs` (and its `index-style` partial), byte for
//! byte, without going through handlebars and JSON values. It is used
//! only while neither template is overridden; a test renders every
//! contract both ways and compares them.
//!
//! Each block below names the template lines it stands for. Handlebars
//! drops a line holding nothing but a block tag (`{{#each}}`, `{{/if}}`,
//! `{{else}}`) with its line break, and treats a missing, empty or `null`
//! value as false in `{{#if}}`.

use std::fmt::Write;

use super::helpers::{push_doc_html, push_type_html};
use super::view::*;
use crate::templates::push_html_escaped as esc;

/// The built-in style sheet, included by `{{> index-style}}`.
const STYLE: &str = include_str!("index-style.css.hbs");

/// Renders the built-in `index.html.hbs` for `page`.
pub fn render(page: &PageView) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let service = &page.service;
    out.push_str(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"accord\">\n<title>",
    );
    esc(&mut out, &service.name);
    out.push(' ');
    esc(&mut out, &service.version);
    out.push_str("</title>\n<style>\n");
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<header>\n  <h1>");
    esc(&mut out, &service.name);
    out.push_str(" <span class=\"version\">");
    esc(&mut out, &service.version);
    out.push_str("</span></h1>\n  ");
    doc(&mut out, &service.docs);
    out.push_str("\n  <p class=\"files\">\n    <a href=\"");
    esc(&mut out, &page.files.openapi);
    out.push_str("\">OpenAPI</a>\n    <a href=\"");
    esc(&mut out, &page.files.asyncapi);
    out.push_str("\">AsyncAPI</a>\n");
    for client in &page.clients {
        out.push_str("    <a href=\"");
        esc(&mut out, &client.entry);
        out.push_str("\">");
        esc(&mut out, &client.language);
        out.push_str(" client</a>\n");
    }
    out.push_str("    <a href=\"");
    esc(&mut out, &page.files.schemas);
    out.push_str(
        "/\">JSON Schemas</a>\n  </p>\n</header>\n<div class=\"layout\">\n\
         <nav aria-label=\"Contents\">\n  <h2><a href=\"#operations\">Operations</a></h2>\n  <ul>\n",
    );
    for request in &page.requests {
        out.push_str("    <li><a href=\"#op-");
        esc(&mut out, &request.name);
        out.push_str("\">");
        method(&mut out, &request.method);
        out.push(' ');
        esc(&mut out, &request.name);
        out.push_str("</a></li>\n");
    }
    out.push_str("  </ul>\n  <h2><a href=\"#events\">Events</a></h2>\n  <ul>\n");
    for event in &page.events {
        out.push_str("    <li><a href=\"#event-");
        esc(&mut out, &event.name);
        out.push_str("\">");
        esc(&mut out, &event.name);
        out.push_str("</a></li>\n");
    }
    out.push_str("  </ul>\n  <h2><a href=\"#types\">Types</a></h2>\n  <ul>\n");
    for ty in &page.types {
        out.push_str("    <li><a href=\"#type-");
        esc(&mut out, &ty.anchor);
        out.push_str("\">");
        esc(&mut out, &ty.name);
        out.push_str("</a></li>\n");
    }
    out.push_str("  </ul>\n</nav>\n<main>\n<section id=\"operations\">\n  <h2>Operations</h2>\n");
    if page.requests.is_empty() {
        out.push_str("  <p class=\"none\">This service answers no requests.</p>\n");
    }
    for request in &page.requests {
        operation(&mut out, request);
    }
    out.push_str("</section>\n\n<section id=\"events\">\n  <h2>Events</h2>\n");
    if page.events.is_empty() {
        out.push_str("  <p class=\"none\">This service publishes no events.</p>\n");
    }
    for event in &page.events {
        self::event(&mut out, event);
    }
    out.push_str("</section>\n\n<section id=\"types\">\n  <h2>Types</h2>\n");
    if page.types.is_empty() {
        out.push_str("  <p class=\"none\">This service has no named types.</p>\n");
    }
    for ty in &page.types {
        type_section(&mut out, ty);
    }
    out.push_str("</section>\n</main>\n</div>\n<footer>Written by accord from <code>");
    esc(&mut out, &service.rust_path);
    out.push_str("</code> in crate <code>");
    esc(&mut out, &service.package);
    out.push_str("</code>.</footer>\n</body>\n</html>\n");
    out
}

/// `{{{doc_html docs}}}`.
fn doc(out: &mut String, docs: &Option<String>) {
    push_doc_html(out, docs.as_deref().unwrap_or(""));
}

/// `{{{type_html type refs}}}`.
fn ty(out: &mut String, text: &str, refs: &[String]) {
    push_type_html(out, text, refs);
}

/// `<span class="method method-{{lower method}}">{{method}}</span>`.
fn method(out: &mut String, method: &str) {
    out.push_str("<span class=\"method method-");
    esc(out, &method.to_lowercase());
    out.push_str("\">");
    esc(out, method);
    out.push_str("</span>");
}

/// `{{#if required}}yes{{else}}no{{/if}}`.
fn yes_no(required: bool) -> &'static str {
    if required {
        "yes"
    } else {
        "no"
    }
}

/// `{{#if text}}`: present and not empty.
fn truthy(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|t| !t.is_empty())
}

/// One `<tr>` of the parameters table: `location` is the "In" column.
fn argument_row(out: &mut String, argument: &ArgumentView, location: &str, required: &str) {
    out.push_str("        <tr><td><code>");
    esc(out, &argument.wire_name);
    let _ = write!(out, "</code></td><td>{location}</td><td><code>");
    ty(out, &argument.type_, &argument.refs);
    let _ = write!(out, "</code></td><td>{required}</td><td>");
    doc(out, &argument.docs);
    out.push_str("</td></tr>\n");
}

/// `{{#each requests}}<article class="operation">...{{/each}}`.
fn operation(out: &mut String, request: &RequestView) {
    out.push_str("  <article class=\"operation\" id=\"op-");
    esc(out, &request.name);
    out.push_str("\">\n    <h3>");
    method(out, &request.method);
    out.push_str(" <code class=\"path\">");
    esc(out, &request.path);
    out.push_str("</code> <span class=\"name\">");
    esc(out, &request.name);
    out.push_str("</span></h3>\n    ");
    doc(out, &request.docs);
    let _ = write!(
        out,
        "\n    <p class=\"facts\">Replies <strong>{}</strong>",
        request.status
    );
    match &request.response {
        Some(response) => {
            out.push_str(" with <code>");
            ty(out, &response.type_, &response.refs);
            out.push_str("</code>");
        }
        None => out.push_str(" with no content"),
    }
    out.push_str(".\n      ");
    out.push_str(if request.idempotent {
        "Idempotent: a repeated call has the same effect, so clients may retry it."
    } else {
        "Not idempotent: clients do not retry it."
    });
    out.push('\n');
    if !request.calls.is_empty() {
        out.push_str("      ");
        for (i, call) in request.calls.iter().enumerate() {
            out.push_str(if i == 0 { "In " } else { "; in " });
            esc(out, &call.language);
            out.push_str(": <code>");
            esc(out, &call.call);
            out.push_str("</code>");
        }
        out.push('.');
    }
    out.push_str("</p>\n");
    if !request.arguments.is_empty() {
        out.push_str(
            "    <table class=\"params\">\n      <thead><tr><th>Parameter</th><th>In</th>\
             <th>Type</th><th>Required</th><th>Description</th></tr></thead>\n      <tbody>\n",
        );
        for param in &request.path_params {
            argument_row(out, param, "path", "yes");
        }
        if let Some(query) = &request.query {
            for field in &query.fields {
                argument_row(out, field, "query", yes_no(field.required));
            }
            if query.fields.is_empty() {
                let argument = &query.argument;
                out.push_str("        <tr><td><code>");
                esc(out, &argument.wire_name);
                out.push_str("</code></td><td>query</td><td><code>");
                ty(out, &argument.type_, &argument.refs);
                let _ = writeln!(
                    out,
                    "</code></td><td>{}</td><td></td></tr>",
                    yes_no(argument.required)
                );
            }
        }
        for header in &request.headers {
            argument_row(out, header, "header", yes_no(header.required));
        }
        if let Some(body) = &request.body {
            out.push_str("        <tr><td><code>");
            esc(out, &body.wire_name);
            out.push_str("</code></td><td>body</td><td><code>");
            ty(out, &body.type_, &body.refs);
            out.push_str("</code></td><td>yes</td><td>The JSON request body.</td></tr>\n");
        }
        out.push_str("      </tbody>\n    </table>\n");
    }
    if let Some(error) = &request.error {
        out.push_str(
            "    <table class=\"errors\">\n      <caption>Service errors: a problem document \
             whose <code>error</code> member is <code>",
        );
        ty(out, &error.type_, &error.refs);
        out.push_str(
            "</code></caption>\n      <thead><tr><th>Status</th><th>Variant</th>\
             <th>Description</th></tr></thead>\n      <tbody>\n",
        );
        for variant in &error.variants {
            let _ = write!(out, "        <tr><td>{}</td><td><code>", variant.status);
            esc(out, &variant.name);
            out.push_str("</code></td><td>");
            doc(out, &variant.docs);
            out.push_str("</td></tr>\n");
        }
        out.push_str("      </tbody>\n    </table>\n");
    }
    out.push_str("  </article>\n");
}

/// `{{#each events}}<article class="event">...{{/each}}`.
fn event(out: &mut String, event: &EventView) {
    out.push_str("  <article class=\"event\" id=\"event-");
    esc(out, &event.name);
    out.push_str("\">\n    <h3><span class=\"topic\">");
    esc(out, &event.topic);
    out.push_str("</span> <span class=\"name\">");
    esc(out, &event.name);
    out.push_str("</span></h3>\n    ");
    doc(out, &event.docs);
    out.push_str("\n    <p class=\"facts\">Payload <code>");
    ty(out, &event.payload.type_, &event.payload.refs);
    out.push_str("</code>");
    if let Some(key) = truthy(&event.key) {
        out.push_str(", ordered and partitioned by its <code>");
        esc(out, key);
        out.push_str("</code>");
    }
    out.push_str(".\n      Delivered at least once, as a CloudEvent.");
    if let Some(error) = &event.error {
        out.push_str(" A subscriber's handler may fail with <code>");
        ty(out, &error.type_, &error.refs);
        out.push_str("</code>, and the event is retried.");
    }
    out.push_str("</p>\n  </article>\n");
}

/// `{{#each types}}<article class="type">...{{/each}}`.
fn type_section(out: &mut String, def: &TypeView) {
    out.push_str("  <article class=\"type\" id=\"type-");
    esc(out, &def.anchor);
    out.push_str("\">\n    <h3>");
    esc(out, &def.name);
    out.push_str("</h3>\n    ");
    doc(out, &def.docs);
    out.push('\n');
    match def.kind.as_str() {
        "interface" => {
            out.push_str(
                "    <table class=\"properties\">\n      <thead><tr><th>Property</th>\
                 <th>Type</th><th>Required</th><th>Description</th></tr></thead>\n      <tbody>\n",
            );
            for property in &def.properties {
                out.push_str("        <tr><td><code>");
                esc(out, &property.name);
                out.push_str("</code></td><td><code>");
                ty(out, &property.type_, &property.refs);
                out.push_str("</code>");
                if let Some(schema) = truthy(&property.schema) {
                    out.push_str("<br><span class=\"schema\">");
                    esc(out, schema);
                    out.push_str("</span>");
                }
                let _ = write!(out, "</td><td>{}</td><td>", yes_no(property.required));
                doc(out, &property.docs);
                if !property.examples.is_empty() {
                    out.push_str("<p class=\"examples\">Example: ");
                    let last = property.examples.len() - 1;
                    for (i, example) in property.examples.iter().enumerate() {
                        out.push_str("<code>");
                        esc(out, example);
                        out.push_str("</code>");
                        if i != last {
                            out.push_str(", ");
                        }
                    }
                    out.push_str("</p>");
                }
                out.push_str("</td></tr>\n");
            }
            out.push_str("      </tbody>\n    </table>\n");
        }
        "union" => {
            out.push_str("    <p>One of:</p>\n    <ul class=\"variants\">\n");
            for variant in &def.variants {
                out.push_str("      <li><code>");
                ty(out, &variant.type_, &variant.refs);
                out.push_str("</code>");
                if let Some(docs) = truthy(&variant.docs) {
                    out.push_str(": ");
                    esc(out, docs);
                }
                out.push_str("</li>\n");
            }
            out.push_str("    </ul>\n");
        }
        _ => {
            out.push_str("    <p><code>");
            ty(out, &def.type_, &def.refs);
            out.push_str("</code>");
            if let Some(schema) = truthy(&def.schema) {
                out.push_str(" <span class=\"schema\">(");
                esc(out, schema);
                out.push_str(")</span>");
            }
            out.push_str("</p>\n");
        }
    }
    if !def.examples.is_empty() {
        out.push_str("    <p class=\"examples-title\">Example");
        if def.examples.get(1).is_some_and(|e| !e.is_empty()) {
            out.push('s');
        }
        out.push_str(":</p>\n");
        for example in &def.examples {
            out.push_str("    <pre class=\"example\">");
            esc(out, example);
            out.push_str("</pre>\n");
        }
    }
    out.push_str("    <p class=\"facts\">");
    if !def.used_by.is_empty() {
        out.push_str("Used by ");
        let last = def.used_by.len() - 1;
        for (i, user) in def.used_by.iter().enumerate() {
            out.push_str("<a href=\"#");
            esc(out, &user.anchor);
            out.push_str("\">");
            esc(out, &user.name);
            out.push_str("</a>");
            if i != last {
                out.push_str(", ");
            }
        }
        out.push_str(". ");
    }
    out.push_str("Schema: <a href=\"");
    esc(out, &def.schema_file);
    out.push_str("\">");
    esc(out, &def.schema_file);
    out.push_str("</a>.</p>\n    <details><summary>JSON Schema</summary><pre>");
    esc(out, &def.schema_json);
    out.push_str("</pre></details>\n  </article>\n");
}
