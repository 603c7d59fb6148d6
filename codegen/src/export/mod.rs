//! Reading each contract crate's descriptors by compiling against it.
//!
//! For every contract crate accord writes a small binary crate, the
//! exporter, into `<cache>/exporters/<package>-<hash>/`. It depends on the
//! contract crate by path and prints `Trait::descriptor()` of each of its
//! services as JSON, so the schemas are exactly what schemars produces when
//! the service runs; nothing is re-derived from source text.
//!
//! All exporters build into one target directory, `<cache>/target`, and
//! start from a copy of the contract workspace's `Cargo.lock`, so they use
//! the dependency versions the workspace uses and, after the first build,
//! only the contract crate and the exporter itself are rebuilt. Files are
//! rewritten only when their contents change, so an unchanged crate is not
//! rebuilt at all. A file lock per exporter keeps concurrent runs apart.

mod cargo;

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use accord::ServiceDescriptor;
use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

use crate::discover::{discover, ContractCrate};

/// One service read back from an exporter.
#[derive(Debug, Clone)]
pub struct ExportedService {
    /// The contract crate's package name.
    pub package: String,
    /// The contract crate's `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// `crate::path::Trait`, as the exporter named it.
    pub rust_path: String,
    /// The file declaring the trait.
    pub trait_file: PathBuf,
    /// The contract.
    pub descriptor: ServiceDescriptor,
}

/// The services of every contract crate under `paths`, exported as
/// `accord generate` exports them, in the order the crates were found.
pub fn export_contracts(
    paths: &[PathBuf],
    cache_dir: &Path,
    quiet: bool,
) -> Result<Vec<ExportedService>> {
    let crates = discover(paths)?;
    let exporter = Exporter::new(cache_dir.to_path_buf(), quiet);
    let mut services = Vec::new();
    for krate in &crates {
        services.extend(exporter.export(krate)?);
    }
    Ok(services)
}

/// Where exporters are built and how progress is shown.
#[derive(Debug, Clone)]
pub struct Exporter {
    cache_dir: PathBuf,
    quiet: bool,
}

impl Exporter {
    /// Exporters live in `cache_dir`; `quiet` hides progress.
    pub fn new(cache_dir: PathBuf, quiet: bool) -> Self {
        // cargo runs in each contract crate's folder, so relative paths
        // would point elsewhere.
        let cache_dir = std::path::absolute(&cache_dir).unwrap_or(cache_dir);
        Exporter { cache_dir, quiet }
    }

    /// The cache folder.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// Builds and runs the exporter of `krate`.
    pub fn export(&self, krate: &ContractCrate) -> Result<Vec<ExportedService>> {
        let started = Instant::now();
        let dir = self.prepare_cache()?.join(exporter_name(krate));
        fs::create_dir_all(dir.join("src"))
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        let _lock = self.lock(&dir, krate)?;

        write_if_changed(&dir.join("Cargo.toml"), &exporter_manifest(krate))?;
        write_if_changed(&dir.join("src/main.rs"), &exporter_main(krate))?;
        sync_lockfile(&krate.workspace_root.join("Cargo.lock"), &dir)?;

        let executable = cargo::build(
            krate,
            &dir.join("Cargo.toml"),
            &self.cache_dir.join("target"),
            &exporter_name(krate),
            self.quiet,
        )?;
        let services = run_exporter(&executable, krate)?;
        if !self.quiet {
            eprintln!(
                "{:>12} {} ({} service{}) in {:.1}s",
                "Exported",
                krate.package,
                services.len(),
                if services.len() == 1 { "" } else { "s" },
                started.elapsed().as_secs_f64()
            );
        }
        Ok(services)
    }

    fn prepare_cache(&self) -> Result<PathBuf> {
        let exporters = self.cache_dir.join("exporters");
        fs::create_dir_all(&exporters).with_context(|| {
            format!(
                "cannot create the cache folder `{}` (choose another with --cache-dir)",
                exporters.display()
            )
        })?;
        // Tells backup and archiving tools the folder can be rebuilt.
        let tag = self.cache_dir.join("CACHEDIR.TAG");
        if !tag.exists() {
            let _ = fs::write(
                &tag,
                "Signature: 8a477f597d28d172789f06886806bc55\n\
                 # This folder holds accord's exporter builds; it is safe to delete.\n",
            );
        }
        Ok(exporters)
    }

    /// Holds the exporter folder for this process until dropped.
    fn lock(&self, dir: &Path, krate: &ContractCrate) -> Result<File> {
        let file = File::create(dir.join(".accord-lock"))
            .with_context(|| format!("cannot create a lock file in `{}`", dir.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                if !self.quiet {
                    eprintln!(
                        "{:>12} for another accord run to finish exporting {}",
                        "Waiting", krate.package
                    );
                }
                file.lock()
                    .with_context(|| format!("cannot lock `{}`", dir.display()))?;
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock `{}`", dir.display()))
            }
        }
        Ok(file)
    }
}

/// `accord-export-<package>-<hash of the manifest path>`: unique per
/// contract crate, stable across runs.
fn exporter_name(krate: &ContractCrate) -> String {
    let hash = fnv1a(krate.manifest_path.to_string_lossy().as_bytes());
    format!("accord-export-{}-{:08x}", krate.package, hash as u32)
}

fn exporter_manifest(krate: &ContractCrate) -> String {
    let path = krate.dir().to_string_lossy();
    format!(
        "# Written by accord: prints the service descriptors of `{package}`.\n\
         [package]\n\
         name = \"{name}\"\n\
         version = \"0.0.0\"\n\
         edition = \"2021\"\n\
         publish = false\n\
         \n\
         [dependencies]\n\
         contract = {{ package = {package_toml}, path = {path_toml} }}\n\
         serde_json = \"1\"\n\
         \n\
         # Its own workspace, wherever the cache folder is.\n\
         [workspace]\n\
         \n\
         [profile.dev]\n\
         debug = false\n",
        package = krate.package,
        name = exporter_name(krate),
        package_toml = toml_string(&krate.package),
        path_toml = toml_string(&path),
    )
}

fn exporter_main(krate: &ContractCrate) -> String {
    let mut entries = String::new();
    for service in &krate.services {
        let display = format!("{}::{}", krate.lib_name, service.public_path.join("::"));
        entries.push_str(&format!(
            "        ({display:?}, serde_json::to_value(contract::{}::descriptor())),\n",
            service.public_path.join("::")
        ));
    }
    format!(
        "//! Written by accord: prints the service descriptors of `{package}` as JSON.\n\
         \n\
         fn main() {{\n\
         \x20   let services = [\n\
         {entries}\
         \x20   ];\n\
         \x20   let mut exported = Vec::new();\n\
         \x20   for (rust_path, descriptor) in services {{\n\
         \x20       match descriptor {{\n\
         \x20           Ok(descriptor) => exported.push(serde_json::json!({{\n\
         \x20               \"rust_path\": rust_path,\n\
         \x20               \"descriptor\": descriptor,\n\
         \x20           }})),\n\
         \x20           Err(error) => {{\n\
         \x20               eprintln!(\"cannot serialize the descriptor of {{rust_path}}: {{error}}\");\n\
         \x20               std::process::exit(1);\n\
         \x20           }}\n\
         \x20       }}\n\
         \x20   }}\n\
         \x20   println!(\"{{}}\", serde_json::json!({{ \"services\": exported }}));\n\
         }}\n",
        package = krate.package,
    )
}

/// A TOML basic string; JSON's escapes are a subset of TOML's.
fn toml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("\"{text}\""))
}

/// Copies the contract workspace's lock file into the exporter when it
/// changed since the last copy, so the exporter builds with the versions
/// the workspace uses. Without one, cargo resolves the versions itself.
fn sync_lockfile(source: &Path, dir: &Path) -> Result<()> {
    let Ok(contents) = fs::read(source) else {
        return Ok(());
    };
    let stamp = dir.join(".accord-lockfile");
    let digest = format!("{:016x} {}\n", fnv1a(&contents), source.display());
    let lockfile = dir.join("Cargo.lock");
    if lockfile.exists() && fs::read_to_string(&stamp).ok().as_deref() == Some(digest.as_str()) {
        return Ok(());
    }
    fs::write(&lockfile, &contents)
        .with_context(|| format!("cannot write `{}`", lockfile.display()))?;
    fs::write(&stamp, digest).with_context(|| format!("cannot write `{}`", stamp.display()))
}

/// Writes `contents` unless the file already holds them, so cargo sees an
/// unchanged file as unchanged. Writes go through a temporary file and a
/// rename, so a reader never sees half a file. They are not synced to disk
/// one by one: everything written here is derived and written again by
/// the next run, and a sync per file would make publishing hundreds of
/// files take seconds.
pub fn write_if_changed(path: &Path, contents: &str) -> Result<bool> {
    if fs::read(path).is_ok_and(|old| old == contents.as_bytes()) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let write = || -> io::Result<()> {
        let mut file = File::create(&tmp)?;
        file.write_all(contents.as_bytes())?;
        fs::rename(&tmp, path)
    };
    write().with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(true)
}

/// Writes `contents` into `path` when no file is there yet, straight into
/// place rather than through a temporary file and a rename: there is no
/// earlier version a reader could need whole. `false`, writing nothing,
/// when a file is there. The parent folder must exist.
pub fn write_new(path: &Path, contents: &str) -> Result<bool> {
    let mut file = match File::options().write(true).create_new(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("cannot write `{}`", path.display())),
    };
    if let Err(e) = file.write_all(contents.as_bytes()) {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(e).with_context(|| format!("cannot write `{}`", path.display()));
    }
    Ok(true)
}

#[derive(Deserialize)]
struct ExporterOutput {
    services: Vec<ExporterEntry>,
}

#[derive(Deserialize)]
struct ExporterEntry {
    rust_path: String,
    descriptor: serde_json::Value,
}

fn run_exporter(executable: &Path, krate: &ContractCrate) -> Result<Vec<ExportedService>> {
    let output = Command::new(executable)
        .output()
        .with_context(|| format!("cannot run the exporter `{}`", executable.display()))?;
    if !output.status.success() {
        bail!(
            "the exporter of contract crate `{}` failed ({}) while building its descriptors:\n{}",
            krate.package,
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    let parsed: ExporterOutput = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "cannot read the output of the exporter of `{}`",
            krate.package
        )
    })?;
    if parsed.services.len() != krate.services.len() {
        bail!(
            "the exporter of `{}` printed {} descriptors for {} services",
            krate.package,
            parsed.services.len(),
            krate.services.len()
        );
    }
    parsed
        .services
        .into_iter()
        .zip(&krate.services)
        .map(|(entry, service)| {
            let descriptor: ServiceDescriptor =
                serde_json::from_value(entry.descriptor).map_err(|e| {
                    anyhow!(
                        "cannot read the descriptor of `{}` (crate `{}`): {e}. The crate may \
                         use a version of accord whose descriptor this CLI ({}) does not know; \
                         use the CLI of the same version",
                        entry.rust_path,
                        krate.package,
                        env!("CARGO_PKG_VERSION")
                    )
                })?;
            Ok(ExportedService {
                package: krate.package.clone(),
                manifest_path: krate.manifest_path.clone(),
                rust_path: entry.rust_path,
                trait_file: service.file.clone(),
                descriptor,
            })
        })
        .collect()
}

/// 64-bit FNV-1a: a stable hash for names and stamps (std's hasher may
/// change between Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::ServiceTrait;

    fn krate() -> ContractCrate {
        ContractCrate {
            package: "shop-contract".into(),
            version: "1.0.0".into(),
            manifest_path: PathBuf::from("/src/shop \"x\"/Cargo.toml"),
            lib_name: "shop_contract".into(),
            workspace_root: PathBuf::from("/src"),
            services: vec![ServiceTrait {
                ident: "Orders".into(),
                file: PathBuf::from("/src/shop/src/lib.rs"),
                declared_path: vec!["api".into(), "Orders".into()],
                public_path: vec!["api".into(), "Orders".into()],
            }],
            schema_types: Vec::new(),
        }
    }

    #[test]
    fn exporter_names_are_stable_and_per_manifest() {
        let a = krate();
        let mut b = krate();
        b.manifest_path = PathBuf::from("/elsewhere/Cargo.toml");
        assert_eq!(exporter_name(&a), exporter_name(&krate()));
        assert_ne!(exporter_name(&a), exporter_name(&b));
        assert!(exporter_name(&a).starts_with("accord-export-shop-contract-"));
    }

    #[test]
    fn manifest_quotes_the_path_and_main_calls_each_descriptor() {
        let manifest = exporter_manifest(&krate());
        assert!(
            manifest
                .contains(r#"contract = { package = "shop-contract", path = "/src/shop \"x\"" }"#),
            "{manifest}"
        );
        assert!(manifest.contains("[workspace]"));
        let main = exporter_main(&krate());
        assert!(
            main.contains(r#"("shop_contract::api::Orders", serde_json::to_value(contract::api::Orders::descriptor())),"#),
            "{main}"
        );
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
