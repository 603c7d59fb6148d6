//! The handlebars templates behind `client.ts` and `index.html`.
//!
//! The defaults are embedded in the binary. `--templates DIR` replaces any
//! of them with the file of the same name in `DIR`; `accord templates
//! export DIR` writes the defaults out as a starting point. Templates,
//! partials and helpers are registered here and nowhere else. Rendering is
//! strict: a template that names a field the view model does not have is an
//! error, not an empty string.
//!
//! Two registries keep escaping right: HTML templates escape every `{{x}}`
//! for HTML (`{{{x}}}` for the helpers that return HTML), code templates
//! escape nothing.

mod helpers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use handlebars::Handlebars;

use crate::view::ServiceView;

/// One template file.
#[derive(Debug, Clone, Copy)]
pub struct TemplateFile {
    /// Its file name (`client.ts.hbs`).
    pub file: &'static str,
    /// The file it renders, below the service folder; `None` for a partial.
    pub output: Option<&'static str>,
    /// The partial name other templates include it by (`{{> name}}`).
    pub partial: Option<&'static str>,
    /// Whether it is HTML (escaped) rather than code (not escaped).
    pub html: bool,
    /// What it is, for `accord templates list` and errors.
    pub about: &'static str,
    /// The built-in text.
    pub source: &'static str,
}

/// Every template accord renders, in rendering order.
pub const TEMPLATES: &[TemplateFile] = &[
    TemplateFile {
        file: "client.ts.hbs",
        output: Some("client.ts"),
        partial: None,
        html: false,
        about: "the TypeScript client: types, one function per request, the client class",
        source: include_str!("client.ts.hbs"),
    },
    TemplateFile {
        file: "client-runtime.ts.hbs",
        output: None,
        partial: Some("client-runtime"),
        html: false,
        about: "partial of client.ts: problem documents, errors, encoding, the fetch call",
        source: include_str!("client-runtime.ts.hbs"),
    },
    TemplateFile {
        file: "index.html.hbs",
        output: Some("index.html"),
        partial: None,
        html: true,
        about: "the documentation page: operations, events and types",
        source: include_str!("index.html.hbs"),
    },
    TemplateFile {
        file: "index-style.css.hbs",
        output: None,
        partial: Some("index-style"),
        html: true,
        about: "partial of index.html: its style sheet",
        source: include_str!("index-style.css.hbs"),
    },
];

/// The registered templates, ready to render.
#[derive(Debug)]
pub struct Templates {
    code: Handlebars<'static>,
    html: Handlebars<'static>,
    /// Template file -> where its text came from.
    origins: BTreeMap<&'static str, String>,
}

impl Templates {
    /// The built-in templates, each replaced by `<overrides>/<file>` where
    /// that file exists.
    pub fn new(overrides: Option<&Path>) -> Result<Self> {
        if let Some(dir) = overrides {
            check_override_dir(dir)?;
        }
        let mut code = Handlebars::new();
        let mut html = Handlebars::new();
        for registry in [&mut code, &mut html] {
            registry.set_strict_mode(true);
            helpers::register(registry);
        }
        code.register_escape_fn(handlebars::no_escape);

        let mut origins = BTreeMap::new();
        for template in TEMPLATES {
            let (source, origin) = match overrides.map(|d| d.join(template.file)) {
                Some(path) if path.is_file() => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read `{}`", path.display()))?;
                    (text, path.display().to_string())
                }
                _ => (
                    template.source.to_owned(),
                    format!("built-in {}", template.file),
                ),
            };
            let registry = if template.html { &mut html } else { &mut code };
            let name = template
                .partial
                .or(template.output)
                .unwrap_or(template.file);
            let registered = match template.partial {
                Some(_) => registry.register_partial(name, source),
                None => registry.register_template_string(name, source),
            };
            registered.map_err(|e| anyhow!("template {origin} does not parse: {e}"))?;
            origins.insert(template.file, origin);
        }
        Ok(Templates {
            code,
            html,
            origins,
        })
    }

    /// The files the templates render, in order.
    pub fn outputs(&self) -> impl Iterator<Item = &'static str> {
        TEMPLATES.iter().filter_map(|t| t.output)
    }

    /// Renders the template for `output` with `view`.
    pub fn render(&self, output: &str, view: &ServiceView) -> Result<String> {
        let template = TEMPLATES
            .iter()
            .find(|t| t.output == Some(output))
            .ok_or_else(|| anyhow!("no template renders `{output}`"))?;
        let registry = if template.html {
            &self.html
        } else {
            &self.code
        };
        registry.render(output, view).map_err(|e| {
            anyhow!(
                "template {} failed: {e}. Its fields are documented in codegen/TEMPLATES.md.",
                self.origins[template.file]
            )
        })
    }
}

/// Refuses a `--templates` folder that is missing or holds a template
/// accord does not know (most likely a misspelt name, silently unused).
fn check_override_dir(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the templates folder `{}`", dir.display()))?;
    let known: Vec<&str> = TEMPLATES.iter().map(|t| t.file).collect();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".hbs") && !known.contains(&name.as_str()) {
            bail!(
                "`{}` is not one of accord's templates ({}); `accord templates export DIR` \
                 writes them all",
                dir.join(&name).display(),
                known.join(", ")
            );
        }
    }
    Ok(())
}

/// Writes the built-in templates into `dir`; refuses to replace an existing
/// file unless `force`.
pub fn export(dir: &Path, force: bool) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    if !force {
        let existing: Vec<String> = TEMPLATES
            .iter()
            .map(|t| dir.join(t.file))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            bail!(
                "{} already exist{}; pass --force to replace {}",
                existing.join(", "),
                if existing.len() == 1 { "s" } else { "" },
                if existing.len() == 1 { "it" } else { "them" }
            );
        }
    }
    TEMPLATES
        .iter()
        .map(|t| {
            let path = dir.join(t.file);
            std::fs::write(&path, t.source)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("accord-templates-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn built_in_templates_parse() {
        Templates::new(None).unwrap();
    }

    #[test]
    fn export_refuses_to_overwrite_without_force() {
        let dir = temp("export");
        let written = export(&dir, false).unwrap();
        assert_eq!(written.len(), TEMPLATES.len());
        let error = export(&dir, false).unwrap_err().to_string();
        assert!(error.contains("--force"), "{error}");
        export(&dir, true).unwrap();
        // Exported templates are the built-in ones, so they parse as overrides.
        Templates::new(Some(&dir)).unwrap();
    }

    #[test]
    fn unknown_template_files_are_refused() {
        let dir = temp("unknown");
        std::fs::write(dir.join("clinet.ts.hbs"), "x").unwrap();
        let error = Templates::new(Some(&dir)).unwrap_err().to_string();
        assert!(error.contains("clinet.ts.hbs"), "{error}");
        assert!(error.contains("client.ts.hbs"), "{error}");
    }
}
