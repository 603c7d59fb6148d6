//! `accord generate`: discover, export, check names, render, write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::discover::discover;
use accord::spec::AsyncApiOptions;

use crate::emit::{self, digest, template_sets, OpenApiVersion, Publication};
use crate::export::{ExportedService, Exporter};
use crate::lang::{self, Language};
use crate::names::{check_names, RENAME_ADVICE};
use crate::templates::Templates;

/// What `accord generate` was asked to do.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Contract crates, workspaces or folders of crates.
    pub paths: Vec<PathBuf>,
    /// The output folder; each service version goes to `<out>/<service>/<version>/`.
    pub out: PathBuf,
    /// The version of `openapi.json`.
    pub openapi_version: OpenApiVersion,
    /// The client languages (`typescript`, `python`); every language when
    /// empty.
    pub languages: Vec<String>,
    /// A folder of templates replacing built-in ones.
    pub templates: Option<PathBuf>,
    /// Where exporters are built.
    pub cache_dir: PathBuf,
    /// No progress output.
    pub quiet: bool,
    /// The `servers` (and so the protocol bindings) of `asyncapi.json`.
    pub asyncapi: AsyncApiOptions,
}

/// One service version written.
#[derive(Debug, Clone)]
pub struct GeneratedService {
    /// The service name.
    pub name: String,
    /// The contract version.
    pub version: String,
    /// The contract crate.
    pub package: String,
    /// The folder the files went to.
    pub folder: PathBuf,
    /// How many files the service has.
    pub files: usize,
    /// How many of them changed.
    pub changed: usize,
    /// Whether the files were rendered: `false` when the folder already
    /// held the files of the same inputs.
    pub rendered: bool,
    /// Schema files of types the service no longer has, removed.
    pub removed: Vec<PathBuf>,
}

/// Publishes every service of the contract crates under `options.paths`.
pub fn generate(options: &GenerateOptions) -> Result<Vec<GeneratedService>> {
    // Languages and templates first: a mistake fails before minutes of building.
    let languages = lang::select(&options.languages)?;
    let templates = Templates::new(&template_sets(), options.templates.as_deref())?;
    let crates = discover(&options.paths)?;
    let exporter = Exporter::new(options.cache_dir.clone(), options.quiet);

    let mut services: Vec<ExportedService> = Vec::new();
    let mut problems = Vec::new();
    for krate in &crates {
        for service in exporter.export(krate)? {
            let mut found = check_names(&service.descriptor, &krate.schema_types, krate.dir());
            let names: Vec<&str> = service
                .descriptor
                .definitions
                .keys()
                .map(String::as_str)
                .collect();
            for language in &languages {
                found.extend(language.check_type_names(&names));
            }
            if !found.is_empty() {
                problems.push(format!(
                    "Type names of service `{}` {} (`{}`, crate `{}`, {}):\n{}",
                    service.descriptor.name,
                    service.descriptor.version,
                    service.rust_path,
                    service.package,
                    relative(&service.trait_file, krate.dir()),
                    found
                        .iter()
                        .map(|p| format!("  - {p}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                ));
            }
            services.push(service);
        }
    }
    if !problems.is_empty() {
        bail!(
            "published type names are not stable.\n\n{}\n\n{RENAME_ADVICE}",
            problems.join("\n\n")
        );
    }
    publish_with(
        &services,
        &options.out,
        options.openapi_version,
        &languages,
        &templates,
        &options.asyncapi,
    )
}

/// Renders and writes the published files of exported services, below
/// `out`: what [`generate`] does once the services are exported and their
/// type names checked. Nothing is written unless every file rendered.
pub fn publish(
    services: &[ExportedService],
    out: &Path,
    openapi_version: OpenApiVersion,
    languages: &[&dyn Language],
    templates: &Templates,
) -> Result<Vec<GeneratedService>> {
    publish_with(
        services,
        out,
        openapi_version,
        languages,
        templates,
        &AsyncApiOptions::default(),
    )
}

/// [`publish`] with the `servers` and bindings of `asyncapi.json` set by
/// `asyncapi`.
///
/// A service whose folder holds the files of the same inputs, as its
/// [`DIGEST_FILE`](emit::digest::DIGEST_FILE) records, is not rendered
/// again (see [`emit::digest`]).
pub fn publish_with(
    services: &[ExportedService],
    out: &Path,
    openapi_version: OpenApiVersion,
    languages: &[&dyn Language],
    templates: &Templates,
    asyncapi: &AsyncApiOptions,
) -> Result<Vec<GeneratedService>> {
    check_unique_folders(services)?;
    for service in services {
        emit::check_folder_names(service)?;
    }
    let settings = digest::Settings::new(openapi_version, languages, templates, asyncapi);

    // Services are independent: each is checked, rendered if its folder is
    // not up to date, then written, on any core.
    let plans: Vec<Plan> = on_every_core(services, |service| {
        let digest = digest::of(service, &settings);
        let folder = out.join(folder_of(service));
        match digest::up_to_date(&folder, &digest) {
            Some(files) => Ok(Plan::Keep(folder, files)),
            None => emit::render_with(service, openapi_version, languages, templates, asyncapi)
                .map(|publication| Plan::Write(publication, digest)),
        }
    })
    .into_iter()
    .collect::<Result<_>>()?;
    let written = on_every_core(&plans, |plan| match plan {
        Plan::Write(publication, digest) => emit::write_recorded(out, publication, digest),
        Plan::Keep(folder, files) => emit::keep(folder, files),
    });
    plans
        .iter()
        .zip(services)
        .zip(written)
        .map(|((plan, service), written)| {
            let written = written?;
            Ok(GeneratedService {
                name: service.descriptor.name.clone(),
                version: service.descriptor.version.clone(),
                package: service.package.clone(),
                folder: out.join(folder_of(service)),
                files: match plan {
                    Plan::Write(publication, _) => publication.files.len(),
                    Plan::Keep(_, files) => files.len(),
                },
                changed: written.changed,
                rendered: matches!(plan, Plan::Write(..)),
                removed: written.removed,
            })
        })
        .collect()
}

/// What [`publish_with`] does with one service.
enum Plan {
    /// Its folder is up to date: the folder and its files.
    Keep(PathBuf, Vec<String>),
    /// Rendered: write its files and record the digest.
    Write(Publication, String),
}

/// `<service>/<version>`, the service's folder below the output folder.
fn folder_of(service: &ExportedService) -> PathBuf {
    Path::new(&service.descriptor.name).join(&service.descriptor.version)
}

/// `f` of each item, computed on as many threads as there are cores, in
/// the items' order.
fn on_every_core<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<R>> = items.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return done;
                        };
                        done.push((i, f(item)));
                    }
                })
            })
            .collect();
        for worker in workers {
            let done = worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (i, result) in done {
                results[i] = Some(result);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every item was computed"))
        .collect()
}

fn relative(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Two services publishing into one `<service>/<version>` folder would
/// overwrite each other.
fn check_unique_folders(services: &[ExportedService]) -> Result<()> {
    let mut seen: BTreeMap<(&str, &str), &ExportedService> = BTreeMap::new();
    for service in services {
        let key = (
            service.descriptor.name.as_str(),
            service.descriptor.version.as_str(),
        );
        if let Some(first) = seen.insert(key, service) {
            bail!(
                "`{}` (crate `{}`) and `{}` (crate `{}`) both publish service `{}` version {}; \
                 give one of them another `name` or `version` in `#[accord::service(...)]`",
                first.rust_path,
                first.package,
                service.rust_path,
                service.package,
                key.0,
                key.1
            );
        }
    }
    Ok(())
}

/// The cache folder used when none is given: `$XDG_CACHE_HOME/accord`, or
/// `~/.cache/accord`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("accord");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".cache").join("accord");
    }
    std::env::temp_dir().join("accord-cache")
}
