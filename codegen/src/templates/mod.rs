//! The handlebars templates behind the documentation page and the clients.
//!
//! Templates come in sets, one per target: the documentation page's set
//! sits at the root of a templates folder, each client language's in a
//! folder named after the language (`typescript/`, `python/`). The defaults
//! are embedded in the binary. `--templates DIR` replaces any of them with
//! the file of the same name in the same place below `DIR`; `accord
//! templates export DIR` writes the defaults out as a starting point.
//! Templates, partials and helpers are registered here, one registry per
//! set, so two languages may use the same partial name. Rendering is
//! strict: a template that names a field its view model does not have is
//! an error, not an empty string.
//!
//! The page's set escapes every `{{x}}` for HTML (`{{{x}}}` for the helpers
//! that return HTML); code sets escape nothing.

pub(crate) mod fill;
pub(crate) mod helpers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context, Result};
use handlebars::Handlebars;
use serde::Serialize;

/// One template file.
#[derive(Debug, Clone, Copy)]
pub struct TemplateFile {
    /// Its file name (`client.ts.hbs`).
    pub file: &'static str,
    /// The partial name other templates of its set include it by
    /// (`{{> name}}`); `None` for a template rendered on its own.
    pub partial: Option<&'static str>,
    /// What it is, for `accord templates list` and errors.
    pub about: &'static str,
    /// The built-in text.
    pub source: &'static str,
}

/// The templates of one target: the documentation page or a language.
#[derive(Debug, Clone, Copy)]
pub struct TemplateSet {
    /// The target's name (`page`, `typescript`, `python`).
    pub name: &'static str,
    /// Its folder below a templates folder; empty for the root.
    pub folder: &'static str,
    /// Whether it renders HTML (escaped) rather than code (not escaped).
    pub html: bool,
    /// Its templates, in rendering order.
    pub files: &'static [TemplateFile],
    /// Registers the helpers of the set besides the shared ones.
    pub helpers: fn(&mut Handlebars<'static>),
}

impl TemplateSet {
    /// Where `file` of this set goes below a templates folder `dir`.
    pub fn path(&self, dir: &Path, file: &str) -> PathBuf {
        if self.folder.is_empty() {
            dir.join(file)
        } else {
            dir.join(self.folder).join(file)
        }
    }

    /// `file` as it is named below a templates folder (`typescript/client.ts.hbs`).
    pub fn display(&self, file: &str) -> String {
        if self.folder.is_empty() {
            file.to_owned()
        } else {
            format!("{}/{file}", self.folder)
        }
    }
}

/// The registered templates, ready to render.
///
/// Templates read from an overrides folder are parsed at once, so a
/// mistake in one is reported before anything else is done. When every
/// template is built in, parsing waits for the first render: a run that
/// renders nothing (every service up to date) does not parse them.
#[derive(Debug)]
pub struct Templates {
    /// The sets, with the text of each template.
    sources: Vec<SetSources>,
    /// Set name -> its registry, built once.
    registries: OnceLock<Registries>,
    /// A hash of every template's text, by set and file.
    digest: u64,
    /// Whether a set whose templates are all built in is rendered by its
    /// compiled renderer (the same bytes, written by Rust) rather than
    /// by handlebars.
    compiled: bool,
}

type Registries = BTreeMap<&'static str, Handlebars<'static>>;

/// One set's templates: (template, its text, where the text came from).
#[derive(Debug)]
struct SetSources {
    set: &'static TemplateSet,
    templates: Vec<(&'static TemplateFile, String, String)>,
    /// Whether any of them came from an overrides folder.
    overridden: bool,
}

impl Templates {
    /// The built-in templates of `sets`, each replaced by the file of the
    /// same name in `overrides` where that file exists.
    pub fn new(sets: &[&'static TemplateSet], overrides: Option<&Path>) -> Result<Self> {
        if let Some(dir) = overrides {
            check_override_dir(dir, sets)?;
        }
        let mut sources = Vec::new();
        let mut digest = crate::emit::digest::Fnv1a::default();
        let mut overridden = false;
        for set in sets {
            let mut templates = Vec::new();
            let mut set_overridden = false;
            for template in set.files {
                let (source, origin) = match overrides.map(|d| set.path(d, template.file)) {
                    Some(path) if path.is_file() => {
                        let text = std::fs::read_to_string(&path)
                            .with_context(|| format!("cannot read `{}`", path.display()))?;
                        overridden = true;
                        set_overridden = true;
                        (text, path.display().to_string())
                    }
                    _ => (
                        template.source.to_owned(),
                        format!("built-in {}", set.display(template.file)),
                    ),
                };
                for part in [set.name, template.file, &source] {
                    digest.add(part.as_bytes());
                    digest.add(&(part.len() as u64).to_le_bytes());
                }
                templates.push((template, source, origin));
            }
            sources.push(SetSources {
                set,
                templates,
                overridden: set_overridden,
            });
        }
        let templates = Templates {
            sources,
            registries: OnceLock::new(),
            digest: digest.0,
            compiled: true,
        };
        if overridden {
            let registries = templates.register()?;
            let _ = templates.registries.set(registries);
        }
        Ok(templates)
    }

    /// The built-in templates of `sets`, every one rendered by handlebars,
    /// even where a compiled renderer of the same output exists: the
    /// reference the compiled renderers are compared with.
    pub fn interpreted(sets: &[&'static TemplateSet]) -> Result<Self> {
        let mut templates = Self::new(sets, None)?;
        templates.compiled = false;
        Ok(templates)
    }

    /// Whether the set `set` is to be rendered by its compiled renderer:
    /// none of its templates is overridden, and these templates were not
    /// made [`interpreted`](Self::interpreted). Its compiled renderer
    /// writes what handlebars would from the built-in templates.
    pub fn built_in(&self, set: &str) -> bool {
        self.compiled
            && self
                .sources
                .iter()
                .any(|s| s.set.name == set && !s.overridden)
    }

    /// Registers every template, partial and helper, one registry per set.
    fn register(&self) -> Result<Registries> {
        let mut registries = BTreeMap::new();
        for SetSources { set, templates, .. } in &self.sources {
            let mut registry = Handlebars::new();
            registry.set_strict_mode(true);
            helpers::register(&mut registry);
            (set.helpers)(&mut registry);
            if !set.html {
                registry.register_escape_fn(handlebars::no_escape);
            }
            for (template, source, origin) in templates {
                let registered = match template.partial {
                    Some(partial) => registry.register_partial(partial, source),
                    None => registry.register_template_string(template.file, source),
                };
                registered.map_err(|e| anyhow!("template {origin} does not parse: {e}"))?;
            }
            registries.insert(set.name, registry);
        }
        Ok(registries)
    }

    fn registries(&self) -> &Registries {
        self.registries.get_or_init(|| {
            // Only built-in templates are parsed here (overrides were at
            // `new`), and a test parses every one of them.
            self.register()
                .unwrap_or_else(|e| panic!("the built-in templates parse: {e}"))
        })
    }

    /// A hash of the text of every template, built-in or override: two
    /// `Templates` with the same digest render the same files.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// Renders the template `file` of the set `set` with `view`.
    pub fn render(&self, set: &str, file: &str, view: &impl Serialize) -> Result<String> {
        self.render_context(set, file, &Self::context(view)?)
    }

    /// `view` as the templates see it, for rendering several templates
    /// with one view ([`render_context`](Self::render_context)) without
    /// converting it again for each.
    pub fn context(view: &impl Serialize) -> Result<handlebars::Context> {
        handlebars::Context::wraps(view)
            .map_err(|e| anyhow!("cannot convert a view for the templates: {e}"))
    }

    /// Renders the template `file` of the set `set` with a view converted
    /// by [`context`](Self::context).
    pub fn render_context(
        &self,
        set: &str,
        file: &str,
        context: &handlebars::Context,
    ) -> Result<String> {
        let registry = self
            .registries()
            .get(set)
            .ok_or_else(|| anyhow!("no templates are registered for `{set}`"))?;
        let origin = self
            .sources
            .iter()
            .filter(|s| s.set.name == set)
            .flat_map(|s| &s.templates)
            .find(|(template, _, _)| template.file == file)
            .map(|(_, _, origin)| origin.as_str())
            .ok_or_else(|| anyhow!("`{set}` has no template `{file}`"))?;
        registry.render_with_context(file, context).map_err(|e| {
            anyhow!(
                "template {origin} failed: {e}. Its fields are documented in codegen/TEMPLATES.md."
            )
        })
    }
}

/// Appends `text` to `out` escaped for HTML as handlebars escapes `{{x}}`
/// (`handlebars::html_escape`: `<`, `>`, `"`, `&`, `'`, `` ` `` and `=`).
pub(crate) fn push_html_escaped(out: &mut String, text: &str) {
    let mut start = 0;
    for (i, byte) in text.bytes().enumerate() {
        let escaped = match byte {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'&' => "&amp;",
            b'\'' => "&#x27;",
            b'`' => "&#x60;",
            b'=' => "&#x3D;",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        out.push_str(escaped);
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

/// Refuses a `--templates` folder that is missing or holds a template
/// accord does not know (most likely a misspelt name or a file in the
/// wrong folder, silently unused).
fn check_override_dir(dir: &Path, sets: &[&'static TemplateSet]) -> Result<()> {
    std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the templates folder `{}`", dir.display()))?;
    let mut folders: Vec<&str> = sets.iter().map(|s| s.folder).collect();
    folders.dedup();
    for folder in folders {
        let here: Vec<&TemplateSet> = sets
            .iter()
            .copied()
            .filter(|s| s.folder == folder)
            .collect();
        let Ok(entries) = std::fs::read_dir(dir.join(folder)) else {
            continue;
        };
        let known: Vec<&str> = here
            .iter()
            .flat_map(|s| s.files.iter().map(|t| t.file))
            .collect();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".hbs") || known.contains(&name.as_str()) {
                continue;
            }
            let elsewhere = sets
                .iter()
                .find(|s| s.files.iter().any(|t| t.file == name))
                .map(|s| format!("; it belongs in `{}`", s.path(dir, &name).display()))
                .unwrap_or_default();
            bail!(
                "`{}` is not one of accord's templates ({}){elsewhere}; `accord templates \
                 export DIR` writes them all",
                dir.join(folder).join(&name).display(),
                here.iter()
                    .flat_map(|s| s.files.iter().map(|t| s.display(t.file)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(())
}

/// Writes the built-in templates of `sets` into `dir`, each set in its
/// folder; refuses to replace an existing file unless `force`.
pub fn export(dir: &Path, force: bool, sets: &[&'static TemplateSet]) -> Result<Vec<PathBuf>> {
    let files: Vec<(PathBuf, &str)> = sets
        .iter()
        .flat_map(|set| set.files.iter().map(|t| (set.path(dir, t.file), t.source)))
        .collect();
    if !force {
        let existing: Vec<String> = files
            .iter()
            .filter(|(p, _)| p.exists())
            .map(|(p, _)| p.display().to_string())
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
    files
        .into_iter()
        .map(|(path, source)| {
            let parent = path.parent().unwrap_or(dir);
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", parent.display()))?;
            std::fs::write(&path, source)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;
    use crate::emit::template_sets;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("accord-templates-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn keys(value: &Value, found: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    found.insert(key.clone());
                    keys(value, found);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| keys(v, found)),
            _ => {}
        }
    }

    /// Every field name of `view` is documented in the section `heading`
    /// of TEMPLATES.md (up to the next `## ` heading), and the view has
    /// more than `at_least` fields (so a view that lost its content fails).
    pub(crate) fn assert_documented(view: &Value, heading: &str, at_least: usize) {
        let docs = include_str!("../../TEMPLATES.md");
        let start = docs
            .find(heading)
            .unwrap_or_else(|| panic!("TEMPLATES.md has no section {heading:?}"));
        let rest = &docs[start + heading.len()..];
        let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
        let mut found = BTreeSet::new();
        keys(view, &mut found);
        let missing: Vec<&String> = found
            .iter()
            .filter(|key| !section.contains(&format!("`{key}`")))
            .collect();
        assert!(
            missing.is_empty(),
            "TEMPLATES.md, {heading:?}, does not document {missing:?}"
        );
        assert!(
            found.len() > at_least,
            "the view has only {} fields",
            found.len()
        );
    }

    #[test]
    fn built_in_templates_parse() {
        Templates::new(&template_sets(), None).unwrap();
    }

    #[test]
    fn export_writes_a_folder_per_language_and_refuses_to_overwrite_without_force() {
        let dir = temp("export");
        let written = export(&dir, false, &template_sets()).unwrap();
        let count: usize = template_sets().iter().map(|s| s.files.len()).sum();
        assert_eq!(written.len(), count);
        assert!(dir.join("index.html.hbs").is_file());
        assert!(dir.join("typescript/client.ts.hbs").is_file());
        assert!(dir.join("python/client.py.hbs").is_file());
        let error = export(&dir, false, &template_sets())
            .unwrap_err()
            .to_string();
        assert!(error.contains("--force"), "{error}");
        export(&dir, true, &template_sets()).unwrap();
        // Exported templates are the built-in ones, so they parse as overrides.
        Templates::new(&template_sets(), Some(&dir)).unwrap();
    }

    #[test]
    fn unknown_or_misplaced_template_files_are_refused() {
        let dir = temp("unknown");
        std::fs::create_dir_all(dir.join("typescript")).unwrap();
        std::fs::write(dir.join("typescript/clinet.ts.hbs"), "x").unwrap();
        let error = Templates::new(&template_sets(), Some(&dir))
            .unwrap_err()
            .to_string();
        assert!(error.contains("clinet.ts.hbs"), "{error}");
        assert!(error.contains("typescript/client.ts.hbs"), "{error}");

        // A language's template at the root, where older accords took it.
        let dir = temp("misplaced");
        std::fs::write(dir.join("client.ts.hbs"), "x").unwrap();
        let error = Templates::new(&template_sets(), Some(&dir))
            .unwrap_err()
            .to_string();
        assert!(error.contains("it belongs in"), "{error}");
        assert!(error.contains("typescript/client.ts.hbs"), "{error}");
    }

    #[test]
    fn an_override_replaces_only_its_own_template() {
        let dir = temp("override");
        std::fs::create_dir_all(dir.join("python")).unwrap();
        std::fs::write(
            dir.join("python/pyproject.toml.hbs"),
            "name {{package.distribution}}",
        )
        .unwrap();
        let templates = Templates::new(&template_sets(), Some(&dir)).unwrap();
        let view = serde_json::json!({"package": {"distribution": "x"}});
        assert_eq!(
            templates
                .render("python", "pyproject.toml.hbs", &view)
                .unwrap(),
            "name x"
        );
        let error = templates
            .render("python", "pyproject.toml.hbs", &serde_json::json!({}))
            .unwrap_err()
            .to_string();
        assert!(error.contains("python/pyproject.toml.hbs"), "{error}");
    }
}
