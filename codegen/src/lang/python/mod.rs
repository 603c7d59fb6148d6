//! The Python client: a typed async package per service version, on httpx
//! and pydantic v2, under `python/` in the service folder.
//!
//! ```text
//! python/pyproject.toml             pip install python/
//! python/<service>_client/__init__.py   models, type aliases, errors, the client
//! python/<service>_client/_runtime.py   calls, problem documents, encoding
//! python/<service>_client/py.typed      the package is typed (PEP 561)
//! ```
//!
//! [`names`] spells identifiers, [`types`] maps a [`Ty`](crate::view::Ty)
//! to a Python annotation and declares the model classes, [`view`] is the
//! view model and [`build`] builds it for the templates (`client.py.hbs`, `runtime.py.hbs`,
//! `pyproject.toml.hbs`) render. pydantic is the validation library Python
//! teams expect: it checks replies against the contract's types (integer
//! bounds included) and tells the discriminated unions of serde's tagged
//! enums apart by their tag.

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

/// The folder of the package, below the service folder.
pub const PACKAGE_FOLDER: &str = "python";

/// The Python templates.
pub static TEMPLATES: TemplateSet = TemplateSet {
    name: "python",
    folder: "python",
    html: false,
    files: &[
        TemplateFile {
            file: "client.py.hbs",
            partial: None,
            about: "python/<package>/__init__.py: models, type aliases, errors, the client class, event topics",
            source: include_str!("client.py.hbs"),
        },
        TemplateFile {
            file: "runtime.py.hbs",
            partial: None,
            about: "python/<package>/_runtime.py: problem documents, errors, encoding, the httpx call",
            source: include_str!("runtime.py.hbs"),
        },
        TemplateFile {
            file: "pyproject.toml.hbs",
            partial: None,
            about: "python/pyproject.toml: the package's metadata, for pip install",
            source: include_str!("pyproject.toml.hbs"),
        },
    ],
    helpers: helpers::register,
};

/// The Python language.
#[derive(Debug, Clone, Copy)]
pub struct Python;

impl Language for Python {
    fn name(&self) -> &'static str {
        "python"
    }

    fn title(&self) -> &'static str {
        "Python"
    }

    fn templates(&self) -> &'static TemplateSet {
        &TEMPLATES
    }

    fn check_type_names(&self, names: &[&str]) -> Vec<String> {
        shared_names(names, "Python", names::type_name)
    }

    fn render(&self, service: &ServiceView, templates: &Templates) -> Result<Client> {
        let view = build::build(service);
        let module = format!("{PACKAGE_FOLDER}/{}", view.package.module);
        let [pyproject, client, runtime] = if templates.built_in(TEMPLATES.name) {
            [
                compiled::pyproject(&view),
                compiled::client(&view),
                compiled::runtime(&view),
            ]
        } else {
            // Converted for the templates once, for its three files.
            let context = Templates::context(&view)?;
            let render = |file: &str| templates.render_context(TEMPLATES.name, file, &context);
            [
                render("pyproject.toml.hbs")?,
                render("client.py.hbs")?,
                render("runtime.py.hbs")?,
            ]
        };
        let files = BTreeMap::from([
            (format!("{PACKAGE_FOLDER}/pyproject.toml"), pyproject),
            (format!("{module}/__init__.py"), client),
            (format!("{module}/_runtime.py"), runtime),
            (format!("{module}/py.typed"), String::new()),
        ]);
        Ok(Client {
            files,
            entry: format!("{PACKAGE_FOLDER}/"),
            calls: view
                .requests
                .iter()
                .map(|r| (r.operation.clone(), format!("{}()", r.name)))
                .collect(),
        })
    }
}
