//! `accord check`: breaking-change detection against published versions.
//!
//! The contracts are exported as `accord generate` exports them, and each
//! service is compared with a version of it already published by
//! `accord generate` (its `descriptor.json`):
//!
//! 1. [`diff`] pairs the operations of the two descriptors and compares
//!    their bindings and, through [`subset`], their schemas as sets of JSON
//!    values. Every difference becomes a [`Change`] under a named [`Rule`],
//!    with the parties it breaks or the party to upgrade first.
//! 2. [`policy`] judges the changes against the version step ([`version`]):
//!    breaking changes need a major version, compatible ones a minor one, and
//!    a published version must not change.
//! 3. [`report`] prints the result for people or as JSON.

mod auth;
pub mod diff;
pub mod issue;
pub mod policy;
pub mod report;
pub mod rules;
mod schema;
pub mod subset;
mod value;
pub mod version;

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use accord::ServiceDescriptor;
use anyhow::{bail, Context, Result};

use crate::emit::DESCRIPTOR_FILE;
use crate::export::export_contracts;

pub use diff::compare;
pub use policy::{judge, Level, Verdict};
pub use rules::{Breaking, Change, Location, Party, Rule};
pub use version::{Bump, Version};

/// What `accord check` was asked to do.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Contract crates, workspaces or folders of crates.
    pub paths: Vec<PathBuf>,
    /// The folder `accord generate --out` published to.
    pub against: PathBuf,
    /// The published version to compare with, instead of the newest one.
    pub against_version: Option<String>,
    /// Where exporters are built.
    pub cache_dir: PathBuf,
    /// No progress output.
    pub quiet: bool,
}

/// The published version a contract was compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Against {
    /// Its version.
    pub version: String,
    /// Its `descriptor.json`.
    pub descriptor: PathBuf,
}

/// The check of one service.
#[derive(Debug, Clone)]
pub struct ServiceReport {
    /// The service name.
    pub service: String,
    /// The contract crate.
    pub package: String,
    /// The contract's version.
    pub version: String,
    /// What it was compared with; `None` when nothing is published.
    pub against: Option<Against>,
    /// How the version steps from the published one.
    pub bump: Option<Bump>,
    /// Every change found.
    pub changes: Vec<Change>,
    /// Whether the contract's own version is published with other content.
    pub changed_in_place: bool,
    /// The outcome.
    pub level: Level,
    /// Why, in sentences.
    pub reasons: Vec<String>,
    /// What else is worth knowing (versions skipped, nothing published).
    pub notes: Vec<String>,
}

impl ServiceReport {
    fn new(descriptor: &ServiceDescriptor, package: &str) -> ServiceReport {
        ServiceReport {
            service: descriptor.name.clone(),
            package: package.to_owned(),
            version: descriptor.version.clone(),
            against: None,
            bump: None,
            changes: Vec::new(),
            changed_in_place: false,
            level: Level::Ok,
            reasons: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn fail(&mut self, reason: String) {
        self.level = Level::Error;
        self.reasons.push(reason);
    }
}

/// The check of every service.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// One report per service, in the order the crates were read.
    pub services: Vec<ServiceReport>,
}

impl CheckReport {
    /// The worst outcome of any service.
    pub fn level(&self) -> Level {
        self.services
            .iter()
            .map(|s| s.level)
            .max()
            .unwrap_or(Level::Ok)
    }
}

/// Exports the contracts under `options.paths` and checks each service
/// against the published folder.
pub fn check(options: &CheckOptions) -> Result<CheckReport> {
    if !options.against.is_dir() {
        bail!(
            "`{}` is not a folder; give the folder `accord generate --out` published the \
             contracts to",
            options.against.display()
        );
    }
    let services = export_contracts(&options.paths, &options.cache_dir, options.quiet)?;
    let services = services
        .iter()
        .map(|service| {
            check_service(
                &service.descriptor,
                &service.package,
                &options.against,
                options.against_version.as_deref(),
            )
        })
        .collect::<Result<_>>()?;
    Ok(CheckReport { services })
}

/// One published version of a service.
#[derive(Debug, Clone)]
struct Published {
    version: Version,
    folder: PathBuf,
}

impl Published {
    fn descriptor_path(&self) -> PathBuf {
        self.folder.join(DESCRIPTOR_FILE)
    }
}

/// Checks one service's `current` descriptor against `against`, the folder
/// holding `<service>/<version>/descriptor.json`: against `against_version`
/// when given, else against the newest published version not newer than
/// the contract's own.
pub fn check_service(
    current: &ServiceDescriptor,
    package: &str,
    against: &Path,
    against_version: Option<&str>,
) -> Result<ServiceReport> {
    let mut report = ServiceReport::new(current, package);
    let service_dir = against.join(&current.name);
    let Some(current_version) = Version::parse(&current.version) else {
        report.fail(format!(
            "version `{}` is not a semantic version (MAJOR.MINOR.PATCH), so its changes cannot \
             be judged",
            current.version
        ));
        return Ok(report);
    };
    let versions = published_versions(&service_dir, &mut report.notes)?;

    let baseline = match against_version {
        Some(wanted) => {
            let found = versions
                .iter()
                .find(|p| p.version.text == wanted)
                .or_else(|| {
                    Version::parse(wanted).and_then(|wanted| {
                        versions
                            .iter()
                            .find(|p| p.version.precedence(&wanted) == Ordering::Equal)
                    })
                });
            match found {
                Some(found) => found,
                None => {
                    report.fail(format!(
                        "version {wanted} of `{}` is not published in `{}`{}",
                        current.name,
                        service_dir.display(),
                        listed(&versions)
                    ));
                    return Ok(report);
                }
            }
        }
        None => {
            if versions.is_empty() {
                report.notes.push(format!(
                    "not published in `{}` yet: nothing to compare with",
                    service_dir.display()
                ));
                return Ok(report);
            }
            let not_newer = versions
                .iter()
                .rev()
                .find(|p| p.version.precedence(&current_version) != Ordering::Greater);
            match not_newer {
                Some(found) => {
                    if let Some(newest) = versions.last() {
                        if newest.version.precedence(&current_version) == Ordering::Greater {
                            report.notes.push(format!(
                                "newer versions are published (the newest is {}); compared with \
                                 {}, the newest not newer than {}",
                                newest.version, found.version, current_version
                            ));
                        }
                    }
                    found
                }
                None => {
                    report.fail(format!(
                        "every published version of `{}` is newer than {current_version}{}; \
                         choose one with --against-version",
                        current.name,
                        listed(&versions)
                    ));
                    return Ok(report);
                }
            }
        }
    };

    let published = load(baseline, &current.name)?;
    report.against = Some(Against {
        version: baseline.version.text.clone(),
        descriptor: baseline.descriptor_path(),
    });
    report.changes = compare(&published, current);
    let identical = published == *current;
    let verdict = judge(
        &baseline.version,
        &current_version,
        &report.changes,
        identical,
    );
    report.bump = Some(verdict.bump);
    report.level = verdict.level;
    report.reasons = verdict.reasons;
    if verdict.bump == Bump::Same {
        report.changed_in_place = !identical;
    } else if let Some(own) = versions
        .iter()
        .find(|p| p.version.precedence(&current_version) == Ordering::Equal)
    {
        if load(own, &current.name)? != *current {
            report.changed_in_place = true;
            report.fail(format!(
                "version {} is already published in `{}` with a different contract; a \
                 published version must not change: give the contract a new version",
                own.version,
                own.folder.display()
            ));
        }
    }
    Ok(report)
}

/// ` (published: 1.0.0, 1.1.0)`, or nothing.
fn listed(versions: &[Published]) -> String {
    if versions.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = versions.iter().map(|p| p.version.text.as_str()).collect();
    format!(" (published: {})", names.join(", "))
}

/// The versions below `service_dir` that have a descriptor, oldest first.
fn published_versions(service_dir: &Path, notes: &mut Vec<String>) -> Result<Vec<Published>> {
    let Ok(entries) = std::fs::read_dir(service_dir) else {
        return Ok(Vec::new());
    };
    let mut versions = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read `{}`", service_dir.display()))?;
        let folder = entry.path();
        if !folder.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(version) = Version::parse(&name) else {
            notes.push(format!(
                "`{}` is not named after a semantic version: skipped",
                folder.display()
            ));
            continue;
        };
        let published = Published { version, folder };
        if !published.descriptor_path().is_file() {
            notes.push(format!(
                "`{}` has no {DESCRIPTOR_FILE} (it was published by an older accord; run \
                 `accord generate` on that version of the contract to add it): skipped",
                published.folder.display()
            ));
            continue;
        }
        versions.push(published);
    }
    versions.sort_by(|a, b| a.version.cmp(&b.version));
    Ok(versions)
}

fn load(published: &Published, service: &str) -> Result<ServiceDescriptor> {
    let path = published.descriptor_path();
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let descriptor: ServiceDescriptor = serde_json::from_str(&text).with_context(|| {
        format!(
            "`{}` is not a descriptor accord can read; publish it again with this version of \
             accord",
            path.display()
        )
    })?;
    let same_version = Version::parse(&descriptor.version)
        .is_some_and(|v| v.precedence(&published.version) == Ordering::Equal);
    if descriptor.name != service || !same_version {
        bail!(
            "`{}` describes `{}` {}, not `{service}` {}: the published folder has been \
             rearranged",
            path.display(),
            descriptor.name,
            descriptor.version,
            published.version
        );
    }
    Ok(descriptor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A published folder in the system's temporary folder, emptied first.
    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("accord-check-{}", std::process::id()))
            .join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The `shop` service at `version` with the requests `ops`.
    fn shop(version: &str, ops: &[&str]) -> ServiceDescriptor {
        let operations: Vec<_> = ops
            .iter()
            .map(|name| {
                json!({"name": name, "kind": "request", "method": "GET", "path": format!("/{name}"),
                       "status": 200, "idempotent": true, "response": {"type": "string"}})
            })
            .collect();
        serde_json::from_value(json!({"name": "shop", "version": version,
            "operations": operations, "definitions": {}}))
        .unwrap()
    }

    fn publish(dir: &Path, descriptor: &ServiceDescriptor) {
        let folder = dir.join(&descriptor.name).join(&descriptor.version);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join(DESCRIPTOR_FILE),
            crate::emit::descriptor_json(descriptor),
        )
        .unwrap();
    }

    #[test]
    fn compares_with_the_newest_version_not_newer_than_the_contract() {
        let dir = folder("newest");
        publish(&dir, &shop("1.0.0", &["a"]));
        publish(&dir, &shop("1.10.0", &["a", "b"]));
        publish(&dir, &shop("1.9.0", &["a"]));
        publish(&dir, &shop("2.0.0", &["x"]));
        std::fs::create_dir_all(dir.join("shop/latest")).unwrap();
        std::fs::create_dir_all(dir.join("shop/0.9.0")).unwrap();

        let report = check_service(&shop("1.11.0", &["a", "b", "c"]), "shop", &dir, None).unwrap();
        assert_eq!(report.against.as_ref().unwrap().version, "1.10.0");
        assert_eq!(report.bump, Some(Bump::Minor));
        assert_eq!(report.level, Level::Ok);
        assert_eq!(report.changes.len(), 1);
        let notes = report.notes.join("\n");
        assert!(notes.contains("the newest is 2.0.0"), "{notes}");
        assert!(
            notes.contains("latest` is not named after a semantic version"),
            "{notes}"
        );
        assert!(notes.contains("0.9.0` has no descriptor.json"), "{notes}");

        let report = check_service(&shop("1.11.0", &["a"]), "shop", &dir, Some("1.0.0")).unwrap();
        assert_eq!(report.against.unwrap().version, "1.0.0");
        assert_eq!(report.level, Level::Ok);

        let report = check_service(&shop("1.11.0", &["a"]), "shop", &dir, None).unwrap();
        assert_eq!(
            report.level,
            Level::Error,
            "b was removed in a minor version"
        );
        assert!(
            report.reasons[0].contains("make it 2.0.0"),
            "{:?}",
            report.reasons
        );
    }

    #[test]
    fn a_published_version_changed_in_place_is_an_error() {
        let dir = folder("in-place");
        publish(&dir, &shop("1.0.0", &["a"]));
        publish(&dir, &shop("1.1.0", &["a", "b"]));
        let unchanged = check_service(&shop("1.1.0", &["a", "b"]), "shop", &dir, None).unwrap();
        assert_eq!(
            (unchanged.level, unchanged.changed_in_place),
            (Level::Ok, false)
        );
        assert_eq!(unchanged.bump, Some(Bump::Same));

        let mut documented = shop("1.1.0", &["a", "b"]);
        documented.docs = Some("Now with docs.".into());
        let report = check_service(&documented, "shop", &dir, None).unwrap();
        assert_eq!(
            (report.level, report.changed_in_place),
            (Level::Error, true)
        );
        assert!(report.changes.is_empty());
        assert!(
            report.reasons[0].contains("version 1.1.1"),
            "{:?}",
            report.reasons
        );

        // Compared with another version, the contract's own is still checked.
        let report = check_service(
            &shop("1.1.0", &["a", "b", "c"]),
            "shop",
            &dir,
            Some("1.0.0"),
        )
        .unwrap();
        assert!(report.changed_in_place);
        assert_eq!(report.level, Level::Error);
        assert!(report
            .reasons
            .iter()
            .any(|r| r.contains("already published")));
    }

    #[test]
    fn nothing_to_compare_with() {
        let dir = folder("nothing");
        let report = check_service(&shop("1.0.0", &["a"]), "shop", &dir, None).unwrap();
        assert_eq!(report.level, Level::Ok);
        assert!(report.against.is_none());
        assert!(
            report.notes[0].contains("not published"),
            "{:?}",
            report.notes
        );

        let report = check_service(&shop("1.0.0", &["a"]), "shop", &dir, Some("0.1.0")).unwrap();
        assert_eq!(report.level, Level::Error);
        assert!(report.reasons[0].contains("0.1.0 of `shop` is not published"));

        publish(&dir, &shop("2.0.0", &["a"]));
        let report = check_service(&shop("1.0.0", &["a"]), "shop", &dir, None).unwrap();
        assert_eq!(report.level, Level::Error);
        assert!(
            report.reasons[0].contains("newer than 1.0.0"),
            "{:?}",
            report.reasons
        );

        let report = check_service(&shop("one", &["a"]), "shop", &dir, None).unwrap();
        assert!(report.reasons[0].contains("not a semantic version"));
    }

    #[test]
    fn a_misplaced_descriptor_is_refused() {
        let dir = folder("misplaced");
        publish(&dir, &shop("1.0.0", &["a"]));
        std::fs::rename(dir.join("shop/1.0.0"), dir.join("shop/1.5.0")).unwrap();
        let error = check_service(&shop("1.6.0", &["a"]), "shop", &dir, None).unwrap_err();
        assert!(format!("{error:#}").contains("rearranged"), "{error:#}");
    }
}
