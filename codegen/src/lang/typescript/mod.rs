//! The TypeScript client: one `client.ts` per service version, on `fetch`.
//!
//! [`names`] spells identifiers, [`types`] writes a [`Ty`](crate::view::Ty)
//! as a TypeScript type, [`view`] is the view model the templates
//! (`client.ts.hbs` and its partial `client-runtime.ts.hbs`) render and
//! [`build`] builds it.

pub mod build;
mod compiled;
mod helpers;
pub mod names;
pub mod types;
pub mod view;

use std::collections::BTreeMap;

use anyhow::Result;

use super::{shared_names, Client, Language};
use crate::templates::{TemplateFile, TemplateSet, Templates};
use crate::view::ServiceView;

/// The client file, below the service folder.
pub const CLIENT_FILE: &str = "client.ts";

/// The TypeScript templates.
pub static TEMPLATES: TemplateSet = TemplateSet {
    name: "typescript",
    folder: "typescript",
    html: false,
    files: &[
        TemplateFile {
            file: "client.ts.hbs",
            partial: None,
            about: "client.ts: types, one function per request, the client class, event topics",
            source: include_str!("client.ts.hbs"),
        },
        TemplateFile {
            file: "client-runtime.ts.hbs",
            partial: Some("client-runtime"),
            about: "partial of client.ts: problem documents, errors, encoding, the fetch call",
            source: include_str!("client-runtime.ts.hbs"),
        },
    ],
    helpers: helpers::register,
};

/// The TypeScript language.
#[derive(Debug, Clone, Copy)]
pub struct TypeScript;

impl Language for TypeScript {
    fn name(&self) -> &'static str {
        "typescript"
    }

    fn title(&self) -> &'static str {
        "TypeScript"
    }

    fn templates(&self) -> &'static TemplateSet {
        &TEMPLATES
    }

    fn check_type_names(&self, names: &[&str]) -> Vec<String> {
        shared_names(names, "TypeScript", names::type_name)
    }

    fn render(&self, service: &ServiceView, templates: &Templates) -> Result<Client> {
        let view = build::build(service, CLIENT_FILE);
        let client = if templates.built_in(TEMPLATES.name) {
            compiled::render(&view)
        } else {
            templates.render(TEMPLATES.name, "client.ts.hbs", &view)?
        };
        Ok(Client {
            files: BTreeMap::from([(CLIENT_FILE.to_owned(), client)]),
            entry: CLIENT_FILE.to_owned(),
            calls: view
                .requests
                .iter()
                .map(|r| (r.name.clone(), format!("{}()", r.function)))
                .collect(),
        })
    }
}
