//! The published files of one service version.
//!
//! Everything is rendered in memory first ([`render`]) and written only
//! when all of it succeeded ([`write`]), so a failing template never leaves
//! a half-updated folder. JSON is pretty-printed with sorted keys and a
//! final newline; the same descriptor gives the same bytes.

pub mod digest;
pub mod openapi30;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use accord::spec::{
    asyncapi_document, bound_integer_formats, openapi, openapi_document, AsyncApiOptions,
};
use accord::ServiceDescriptor;
use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::export::{write_if_changed, write_new, ExportedService};
use crate::lang::Language;
use crate::names::is_file_safe;
use crate::templates::{TemplateSet, Templates};
use crate::view::{ASYNCAPI_FILE, OPENAPI_FILE, PAGE_FILE, SCHEMAS_FOLDER};
use crate::{lang, page, pretty, view};

/// Which OpenAPI version `openapi.json` is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OpenApiVersion {
    /// OpenAPI 3.1: schemas are JSON Schema 2020-12, as published.
    #[default]
    #[value(name = "3.1")]
    V3_1,
    /// OpenAPI 3.0.3, for generators that do not read 3.1 yet.
    #[value(name = "3.0")]
    V3_0,
}

/// The template sets of every target: the page's, then each language's.
pub fn template_sets() -> Vec<&'static TemplateSet> {
    std::iter::once(&page::TEMPLATES)
        .chain(lang::all().iter().map(|l| l.templates()))
        .collect()
}

pub use crate::view::SCHEMA_DIALECT;

/// The descriptor as exported, which `accord check` compares contracts
/// against.
pub const DESCRIPTOR_FILE: &str = "descriptor.json";

/// The files of one service version, by path relative to its folder.
#[derive(Debug, Clone)]
pub struct Publication {
    /// The service name.
    pub service: String,
    /// The contract version.
    pub version: String,
    /// Path (with `/`) -> contents.
    pub files: BTreeMap<String, String>,
}

impl Publication {
    /// `<service>/<version>`, where the files go below the output folder.
    pub fn folder(&self) -> PathBuf {
        Path::new(&self.service).join(&self.version)
    }
}

/// Renders every file of `service`: the documents, the clients in
/// `languages` and the documentation page.
pub fn render(
    service: &ExportedService,
    openapi_version: OpenApiVersion,
    languages: &[&dyn Language],
    templates: &Templates,
) -> Result<Publication> {
    let asyncapi = AsyncApiOptions::default();
    render_with(service, openapi_version, languages, templates, &asyncapi)
}

/// [`render`] with the `servers` and bindings of `asyncapi.json` set by
/// `asyncapi_options`.
pub fn render_with(
    service: &ExportedService,
    openapi_version: OpenApiVersion,
    languages: &[&dyn Language],
    templates: &Templates,
    asyncapi_options: &AsyncApiOptions,
) -> Result<Publication> {
    let descriptor = &service.descriptor;
    check_folder_names(service)?;

    let mut files = BTreeMap::new();
    let openapi = match openapi_version {
        OpenApiVersion::V3_1 => pretty::to_file(&openapi_document(descriptor)),
        OpenApiVersion::V3_0 => to_json(&openapi30::downgrade(&openapi(descriptor))),
    };
    files.insert(OPENAPI_FILE.to_owned(), openapi);
    files.insert(
        ASYNCAPI_FILE.to_owned(),
        pretty::to_file(&asyncapi_document(descriptor, asyncapi_options)),
    );
    files.insert(DESCRIPTOR_FILE.to_owned(), descriptor_json(descriptor));

    let view = view::build(descriptor, &service.package, &service.rust_path);
    // The view spells each schema file already.
    for def in &view.types {
        let mut text = String::with_capacity(def.schema_json.len() + 1);
        text.push_str(&def.schema_json);
        text.push('\n');
        files.insert(format!("{SCHEMAS_FOLDER}/{}.json", def.name), text);
    }
    let failed = |what: &str| {
        format!(
            "cannot render {what} for service `{}` {}",
            descriptor.name, descriptor.version
        )
    };
    let mut clients = Vec::new();
    for language in languages {
        let mut client = language
            .render(&view, templates)
            .with_context(|| failed(&format!("the {} client", language.title())))?;
        // The page needs the client's entry and calls, not its files.
        for (path, contents) in std::mem::take(&mut client.files) {
            if files.insert(path.clone(), contents).is_some() {
                bail!(
                    "the {} client writes `{path}`, which another file already is",
                    language.title()
                );
            }
        }
        clients.push((language.title(), client));
    }
    let listed: Vec<(&str, &lang::Client)> = clients.iter().map(|(t, c)| (*t, c)).collect();
    let index = page::render(&view, &listed, templates)
        .with_context(|| failed(&format!("`{}`", PAGE_FILE)))?;
    files.insert(PAGE_FILE.to_owned(), index);
    Ok(Publication {
        service: descriptor.name.clone(),
        version: descriptor.version.clone(),
        files,
    })
}

/// Refuses a service whose name or version cannot be a folder name.
pub(crate) fn check_folder_names(service: &ExportedService) -> Result<()> {
    check_folder_name(&service.descriptor.name, "service name", service)?;
    check_folder_name(&service.descriptor.version, "version", service)
}

fn check_folder_name(value: &str, what: &str, service: &ExportedService) -> Result<()> {
    if !is_file_safe(value) {
        bail!(
            "the {what} `{value}` of `{}` (crate `{}`) cannot be a folder name: use letters, \
             digits, `_`, `-` and `.`",
            service.rust_path,
            service.package
        );
    }
    Ok(())
}

/// One JSON Schema 2020-12 document per named schema, referring to the
/// others as sibling files (`"$ref": "Line.json"`): what
/// [`view::published_schema`] makes of each definition.
pub fn schema_files(descriptor: &ServiceDescriptor) -> BTreeMap<String, Value> {
    descriptor
        .definitions
        .iter()
        .map(|(name, schema)| {
            let mut schema = schema.clone();
            bound_integer_formats(&mut schema);
            (name.clone(), view::published_schema(name, schema))
        })
        .collect()
}

/// The descriptor as JSON: pretty, keys sorted, operations in declaration
/// order, with a final newline.
pub fn descriptor_json(descriptor: &ServiceDescriptor) -> String {
    pretty::to_file_sorted(descriptor)
}

/// Pretty JSON with a final newline.
pub fn to_json(value: &Value) -> String {
    pretty::to_file(value)
}

/// What [`write`] did.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// Files whose contents changed (or that are new).
    pub changed: usize,
    /// Files already up to date.
    pub unchanged: usize,
    /// Schema files of types the service no longer has, removed.
    pub removed: Vec<PathBuf>,
}

/// Writes `publication` below `out`, and removes schema files of types it
/// no longer has. Files whose contents are unchanged are not touched. A
/// [`digest::DIGEST_FILE`] in the folder is removed: the files it
/// described are being replaced.
pub fn write(out: &Path, publication: &Publication) -> Result<Written> {
    let folder = out.join(publication.folder());
    forget_digest(&folder)?;
    write_files(&folder, publication)
}

/// [`write`], then records `digest` (from [`digest::of`]) next to the
/// files, so that a later run with the same inputs can skip the service.
pub fn write_recorded(out: &Path, publication: &Publication, digest: &str) -> Result<Written> {
    let folder = out.join(publication.folder());
    forget_digest(&folder)?;
    let written = write_files(&folder, publication)?;
    let path = folder.join(digest::DIGEST_FILE);
    write_if_changed(&path, &digest::record(digest, &publication.files))?;
    Ok(written)
}

/// What a service whose `folder` is up to date still needs: schema files
/// of types it no longer has, if any were put there since, removed.
/// `files` are the folder's files, as [`digest::up_to_date`] listed them.
pub fn keep(folder: &Path, files: &[String]) -> Result<Written> {
    let current: BTreeSet<&str> = files.iter().map(String::as_str).collect();
    Ok(Written {
        changed: 0,
        unchanged: files.len(),
        removed: remove_stale_schemas(folder, &current)?,
    })
}

fn forget_digest(folder: &Path) -> Result<()> {
    let path = folder.join(digest::DIGEST_FILE);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove `{}`", path.display()))
        }
        _ => Ok(()),
    }
}

fn write_files(folder: &Path, publication: &Publication) -> Result<Written> {
    // Each folder is created once, not once per file.
    let folders: BTreeSet<PathBuf> = publication
        .files
        .keys()
        .filter_map(|path| Path::new(path).parent())
        .map(|parent| folder.join(parent))
        .collect();
    for dir in &folders {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    let mut written = Written::default();
    for (path, contents) in &publication.files {
        let path = folder.join(path);
        // A new file is written in place; one that exists is compared
        // first, and replaced through a rename when it differs.
        if write_new(&path, contents)? || write_if_changed(&path, contents)? {
            written.changed += 1;
        } else {
            written.unchanged += 1;
        }
    }
    let current: BTreeSet<&str> = publication.files.keys().map(String::as_str).collect();
    written.removed = remove_stale_schemas(folder, &current)?;
    Ok(written)
}

/// Removes the schema files of `folder` that are not among `current`.
fn remove_stale_schemas(folder: &Path, current: &BTreeSet<&str>) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    if let Ok(entries) = std::fs::read_dir(folder.join(SCHEMAS_FOLDER)) {
        let mut stale = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json")
                && !current.contains(format!("{SCHEMAS_FOLDER}/{name}").as_str())
            {
                stale.push(entry.path());
            }
        }
        stale.sort();
        for path in stale {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove `{}`", path.display()))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schema_files_refer_to_each_other_by_file_name() {
        let descriptor = ServiceDescriptor {
            name: "s".into(),
            version: "1.0.0".into(),
            docs: None,
            auth: None,
            operations: Vec::new(),
            definitions: BTreeMap::from([
                (
                    "Order".to_owned(),
                    json!({"type": "object", "properties": {
                        "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}},
                        "n": {"type": "integer", "format": "uint8"}
                    }, "default": {"$ref": "#/$defs/Kept"}}),
                ),
                (
                    "Line".to_owned(),
                    json!({"title": "A line", "type": "object"}),
                ),
            ]),
        };
        let files = schema_files(&descriptor);
        let order = &files["Order"];
        assert_eq!(order["$schema"], SCHEMA_DIALECT);
        assert_eq!(order["title"], "Order");
        assert_eq!(order["properties"]["lines"]["items"]["$ref"], "Line.json");
        assert_eq!(order["properties"]["n"]["maximum"], 255);
        assert_eq!(
            order["default"]["$ref"], "#/$defs/Kept",
            "instance data is left alone"
        );
        assert_eq!(files["Line"]["title"], "A line");
    }
}
