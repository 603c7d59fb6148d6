//! The emit step of `accord generate` over the synthetic contracts, as the
//! CLI does it after export, and the same files written by hand: what the
//! `accord-bench-emit` process measures for the `cli` section.

use std::path::{Path, PathBuf};
use std::time::Instant;

use accord::ServiceDescriptor;
use accord_codegen::export::ExportedService;
use accord_codegen::generate::publish;
use accord_codegen::names::check_names;
use accord_codegen::templates::Templates;
use accord_codegen::OpenApiVersion;
use anyhow::{bail, Context, Result};

/// What one [`emit_once`] did.
pub struct Emitted {
    /// The files the services have.
    pub files: usize,
    /// How many services were rendered (not up to date in the folder).
    pub rendered: usize,
}

/// The synthetic contracts the `cli` section emits, as exported from a
/// crate below `root`.
pub fn synthetic(root: &Path) -> Vec<ExportedService> {
    exported(
        crate::synth::services(crate::synth::EMIT_SERVICES, crate::synth::EMIT_OPERATIONS),
        &root.join("synthetic"),
    )
}

/// The descriptors as the exporter would have read them back.
fn exported(descriptors: Vec<ServiceDescriptor>, root: &Path) -> Vec<ExportedService> {
    descriptors
        .into_iter()
        .enumerate()
        .map(|(i, descriptor)| ExportedService {
            package: "synthetic-contracts".to_owned(),
            manifest_path: root.join("Cargo.toml"),
            rust_path: format!("synthetic_contracts::Service{i:02}"),
            trait_file: root.join("src/lib.rs"),
            descriptor,
        })
        .collect()
}

/// Emits the synthetic contracts into `out` as the CLI does after export:
/// milliseconds taken, and what was written.
pub fn emit_once(root: &Path, out: &Path) -> Result<(f64, Emitted)> {
    let synthetic = synthetic(root);
    let started = Instant::now();
    let templates = Templates::new(&accord_codegen::emit::template_sets(), None)?;
    for service in &synthetic {
        let problems = check_names(&service.descriptor, &[], root);
        if !problems.is_empty() {
            bail!("synthetic names refused: {problems:?}");
        }
    }
    let written = publish(
        &synthetic,
        out,
        OpenApiVersion::V3_1,
        accord_codegen::lang::all(),
        &templates,
    )?;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    Ok((
        millis,
        Emitted {
            files: written.iter().map(|s| s.files).sum(),
            rendered: written.iter().filter(|s| s.rendered).count(),
        },
    ))
}

/// The files below `from` with their contents, by path relative to it.
pub fn read_tree(from: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    let mut folders = vec![from.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)
            .with_context(|| format!("cannot list `{}`", folder.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let contents = std::fs::read(&path)
                    .with_context(|| format!("cannot read `{}`", path.display()))?;
                let relative = path.strip_prefix(from).expect("below `from`").to_path_buf();
                files.push((relative, contents));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Writes `files` below `to` (which does not exist yet) the way a
/// hand-written emitter at its fastest would: each folder created once,
/// each file written whole, the files shared out over every core.
/// Milliseconds taken: the file system's share of an emit.
pub fn write_by_hand(files: &[(PathBuf, Vec<u8>)], to: &Path) -> Result<f64> {
    let started = Instant::now();
    let mut folders: Vec<PathBuf> = files
        .iter()
        .filter_map(|(path, _)| path.parent().map(|parent| to.join(parent)))
        .collect();
    folders.sort();
    folders.dedup();
    for folder in &folders {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create `{}`", folder.display()))?;
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = files.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(share)
            .map(|chunk| {
                scope.spawn(move || -> Result<()> {
                    for (path, contents) in chunk {
                        let path = to.join(path);
                        std::fs::write(&path, contents)
                            .with_context(|| format!("cannot write `{}`", path.display()))?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|worker| worker.join().expect("a writer panicked"))
    })?;
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// The bytes of every file below `dir`.
pub fn folder_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            folder_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
