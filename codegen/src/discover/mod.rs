//! Finding contract crates and the service traits in them.
//!
//! A path given to `accord generate` is a crate (a folder whose Cargo.toml
//! has a `[package]`, or that Cargo.toml itself), a workspace (a virtual
//! manifest: its members are searched), or any other folder (searched for
//! crates below it). `cargo metadata` reads each manifest, so workspace
//! inheritance, renamed dependencies and custom `[lib] path`s are
//! understood exactly as cargo understands them. A crate found by searching
//! a folder is a contract crate when it depends on accord and declares at
//! least one `#[accord::service]` trait; a crate named directly must.
//!
//! The traits themselves are found by [`scan`], which parses the library's
//! source with syn and follows its `mod` declarations.

pub mod scan;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

pub use scan::{SchemaType, ServiceTrait};

/// A crate holding one or more `#[accord::service]` traits.
#[derive(Debug, Clone)]
pub struct ContractCrate {
    /// The package name, as in `Cargo.toml` (`orders-contract`).
    pub package: String,
    /// The package version.
    pub version: String,
    /// The crate's `Cargo.toml`, absolute.
    pub manifest_path: PathBuf,
    /// The library's crate name (`orders_contract`).
    pub lib_name: String,
    /// The root of the cargo workspace the crate belongs to.
    pub workspace_root: PathBuf,
    /// The service traits, in the order the source declares them.
    pub services: Vec<ServiceTrait>,
    /// The types in the crate that derive `JsonSchema`.
    pub schema_types: Vec<SchemaType>,
}

impl ContractCrate {
    /// The folder holding the crate's `Cargo.toml`.
    pub fn dir(&self) -> &Path {
        self.manifest_path.parent().unwrap_or(Path::new("."))
    }
}

/// Folders never searched for crates.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules"];
/// How deep below a given folder crates are searched for.
const MAX_DEPTH: usize = 6;

/// Finds the contract crates under `paths`, each once, sorted by package
/// name and manifest path.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<ContractCrate>> {
    let mut metadata = MetadataCache::default();
    // manifest path -> whether it was named directly
    let mut candidates: BTreeMap<PathBuf, bool> = BTreeMap::new();
    for path in paths {
        let full = path
            .canonicalize()
            .with_context(|| format!("`{}` does not exist", path.display()))?;
        if full.is_file() {
            if full.file_name().and_then(|n| n.to_str()) != Some("Cargo.toml") {
                bail!(
                    "`{}` is a file; give a crate's folder, its Cargo.toml, or a folder of crates",
                    path.display()
                );
            }
            mark(&mut candidates, full, true);
            continue;
        }
        let manifest = full.join("Cargo.toml");
        if manifest.is_file() {
            let packages = metadata.packages_of(&manifest)?;
            if packages.iter().any(|p| p.manifest_path == manifest) {
                mark(&mut candidates, manifest, true);
            } else {
                // A virtual manifest: its members below this folder.
                for package in packages {
                    if package.manifest_path.starts_with(&full) {
                        mark(&mut candidates, package.manifest_path.clone(), false);
                    }
                }
            }
            continue;
        }
        let mut found = Vec::new();
        find_manifests(&full, 0, &mut found)?;
        if found.is_empty() {
            bail!(
                "`{}` holds no crate: no Cargo.toml in it or in the folders below it",
                path.display()
            );
        }
        for manifest in found {
            mark(&mut candidates, manifest, false);
        }
    }

    let mut crates = Vec::new();
    for (manifest, named) in candidates {
        let packages = metadata.packages_of(&manifest)?;
        let Some(package) = packages.iter().find(|p| p.manifest_path == manifest) else {
            // A workspace manifest found while searching a folder.
            continue;
        };
        if let Some(krate) = contract_crate(package, named)? {
            crates.push(krate);
        }
    }
    if crates.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        bail!(
            "no contract crate found in {}: a contract crate depends on accord and declares \
             a `#[accord::service]` trait in its library",
            shown.join(", ")
        );
    }
    crates.sort_by(|a, b| {
        (a.package.as_str(), &a.manifest_path).cmp(&(b.package.as_str(), &b.manifest_path))
    });
    Ok(crates)
}

fn mark(candidates: &mut BTreeMap<PathBuf, bool>, manifest: PathBuf, named: bool) {
    let entry = candidates.entry(manifest).or_insert(named);
    *entry |= named;
}

/// Collects the `Cargo.toml` files below `dir`, skipping hidden folders and
/// build output.
fn find_manifests(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) -> Result<()> {
    let manifest = dir.join("Cargo.toml");
    if manifest.is_file() {
        found.push(manifest);
    }
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read `{}`", dir.display()))?;
    let mut subdirs = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read `{}`", dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || SKIPPED_DIRS.contains(&name.as_ref()) {
            continue;
        }
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            subdirs.push(entry.path());
        }
    }
    subdirs.sort();
    for subdir in subdirs {
        find_manifests(&subdir, depth + 1, found)?;
    }
    Ok(())
}

/// The parts of a `cargo metadata` package accord uses.
#[derive(Debug, Clone)]
struct Package {
    name: String,
    version: String,
    manifest_path: PathBuf,
    workspace_root: PathBuf,
    /// `(crate name, src_path)` of the library target.
    lib: Option<(String, PathBuf)>,
    /// The name the package's code uses for accord, if it depends on it.
    accord_alias: Option<String>,
}

/// `cargo metadata --no-deps` results, one call per workspace.
#[derive(Default)]
struct MetadataCache {
    packages: BTreeMap<PathBuf, Package>,
    workspaces: BTreeMap<PathBuf, Vec<PathBuf>>,
    /// Manifests already asked about: manifest -> its workspace root.
    asked: BTreeMap<PathBuf, PathBuf>,
}

impl MetadataCache {
    /// The packages of the workspace `manifest` belongs to.
    fn packages_of(&mut self, manifest: &Path) -> Result<Vec<Package>> {
        let root = match self.asked.get(manifest) {
            Some(root) => root.clone(),
            None => match self.packages.get(manifest) {
                Some(package) => package.workspace_root.clone(),
                None => {
                    let root = self.load(manifest)?;
                    self.asked.insert(manifest.to_path_buf(), root.clone());
                    root
                }
            },
        };
        Ok(self.workspaces[&root]
            .iter()
            .map(|m| self.packages[m].clone())
            .collect())
    }

    fn load(&mut self, manifest: &Path) -> Result<PathBuf> {
        let dir = manifest.parent().unwrap_or(Path::new("."));
        let output = Command::new(cargo())
            .args([
                "metadata",
                "--no-deps",
                "--format-version",
                "1",
                "--manifest-path",
            ])
            .arg(manifest)
            .current_dir(dir)
            .output()
            .with_context(|| format!("cannot run `{} metadata`", cargo()))?;
        if !output.status.success() {
            bail!(
                "cargo cannot read `{}`:\n{}",
                manifest.display(),
                String::from_utf8_lossy(&output.stderr).trim_end()
            );
        }
        let value: Value = serde_json::from_slice(&output.stdout).with_context(|| {
            format!("cannot parse `cargo metadata` for `{}`", manifest.display())
        })?;
        let root = PathBuf::from(value["workspace_root"].as_str().unwrap_or_default());
        let mut members = Vec::new();
        for package in value["packages"].as_array().into_iter().flatten() {
            let package = parse_package(package, &root);
            members.push(package.manifest_path.clone());
            self.packages.insert(package.manifest_path.clone(), package);
        }
        members.sort();
        self.workspaces.insert(root.clone(), members);
        Ok(root)
    }
}

fn parse_package(package: &Value, workspace_root: &Path) -> Package {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let lib = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| {
            t["kind"].as_array().is_some_and(|kinds| {
                kinds
                    .iter()
                    .any(|k| matches!(k.as_str(), Some("lib" | "rlib" | "dylib")))
            })
        })
        .map(|t| (text(&t["name"]), PathBuf::from(text(&t["src_path"]))));
    let accord_alias = package["dependencies"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["name"] == "accord" && d["kind"].is_null())
        .map(|d| match d["rename"].as_str() {
            Some(rename) => rename.replace('-', "_"),
            None => "accord".to_owned(),
        });
    let manifest_path = PathBuf::from(text(&package["manifest_path"]));
    Package {
        name: text(&package["name"]),
        version: text(&package["version"]),
        manifest_path: manifest_path.canonicalize().unwrap_or(manifest_path),
        workspace_root: workspace_root.to_path_buf(),
        lib,
        accord_alias,
    }
}

/// Builds the contract crate for `package`; `None` when a crate found by
/// searching is not a contract crate.
fn contract_crate(package: &Package, named: bool) -> Result<Option<ContractCrate>> {
    let Some(alias) = &package.accord_alias else {
        if named {
            bail!(
                "crate `{}` ({}) does not depend on accord, so it declares no service; \
                 add `accord` to its [dependencies]",
                package.name,
                package.manifest_path.display()
            );
        }
        return Ok(None);
    };
    let Some((lib_name, lib_src)) = &package.lib else {
        if named {
            bail!(
                "crate `{}` ({}) has no library target; accord exports the services a \
                 library declares",
                package.name,
                package.manifest_path.display()
            );
        }
        return Ok(None);
    };
    let scanned = scan::scan_crate(lib_src, lib_name, alias)
        .with_context(|| format!("in crate `{}`", package.name))?;
    if scanned.services.is_empty() {
        if named {
            bail!(
                "crate `{}` declares no `#[{alias}::service]` trait (looked in {} and the \
                 modules it declares)",
                package.name,
                lib_src.display()
            );
        }
        return Ok(None);
    }
    // Two traits with one public path would be one exporter item twice.
    let mut seen = BTreeSet::new();
    for service in &scanned.services {
        if !seen.insert(service.public_path.clone()) {
            bail!(
                "crate `{}` declares two service traits reachable as `{}`",
                package.name,
                service.public_path.join("::")
            );
        }
    }
    Ok(Some(ContractCrate {
        package: package.name.clone(),
        version: package.version.clone(),
        manifest_path: package.manifest_path.clone(),
        lib_name: lib_name.clone(),
        workspace_root: package.workspace_root.clone(),
        services: scanned.services,
        schema_types: scanned.schema_types,
    }))
}

/// The cargo to run: the one running us, when cargo runs us.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}
