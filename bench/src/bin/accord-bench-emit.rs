//! The emit step of `accord generate`, measured in a process of its own
//! built as the `accord` binary is (the same allocator), for the `cli`
//! section of the harness, which runs it.
//!
//! Each run emits the synthetic contracts into an empty folder, then again
//! into the folder just written (nothing changed), then writes the same
//! files, read back into memory first, into another empty folder by hand:
//! the file system's share. One JSON line per run on stdout. The folders
//! are removed when every run is done, not between runs.
//!
//! To profile the emit alone: `valgrind --tool=callgrind
//! target/release/accord-bench-emit --out /tmp/emit --emit-only`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Parser;

#[path = "../emit.rs"]
mod emit;
// `synth::write` is the harness's `synth` command.
#[allow(dead_code)]
#[path = "../synth.rs"]
mod synth;

/// As the `accord` binary allocates (`accord-codegen`'s `mimalloc` feature).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(about = "Time the emit of the synthetic contracts (the harness's `cli` section)")]
struct Args {
    /// A folder to emit into, created and removed by this run; it must not
    /// exist yet.
    #[arg(long)]
    out: PathBuf,
    /// How many runs.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Only the emit into an empty folder: no incremental emit and no
    /// files written by hand (for profiling).
    #[arg(long)]
    emit_only: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.out.exists() {
        bail!("{} exists: give a folder that does not", args.out.display());
    }
    let result = runs(&args);
    let _ = std::fs::remove_dir_all(&args.out);
    result
}

fn runs(args: &Args) -> Result<()> {
    let root = synth::workspace_root();
    for run in 0..args.runs {
        let out = args.out.join(format!("emit-{run}"));
        let (emit_ms, written) = emit::emit_once(&root, &out)?;
        if written.rendered != synth::EMIT_SERVICES {
            bail!(
                "an emit into an empty folder rendered {} of {} services",
                written.rendered,
                synth::EMIT_SERVICES
            );
        }
        let mut line = serde_json::json!({
            "emit_ms": emit_ms,
            "files": written.files,
        });
        if args.emit_only {
            line["bytes"] = emit::folder_size(&out)?.into();
        } else {
            let (incremental_ms, again) = emit::emit_once(&root, &out)?;
            if again.rendered > 0 {
                bail!(
                    "an emit with nothing changed rendered {} services",
                    again.rendered
                );
            }
            let files = emit::read_tree(&out)?;
            let bytes: usize = files.iter().map(|(_, contents)| contents.len()).sum();
            line["bytes"] = bytes.into();
            let by_hand_ms = emit::write_by_hand(&files, &args.out.join(format!("by-hand-{run}")))?;
            line["incremental_ms"] = incremental_ms.into();
            line["by_hand_ms"] = by_hand_ms.into();
        }
        println!("{line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use accord_codegen::emit::{render, template_sets};
    use accord_codegen::templates::Templates;
    use accord_codegen::OpenApiVersion;

    use super::*;

    /// One emit of the synthetic services renders every one of them and
    /// writes their files; the same files written by hand are the same
    /// bytes; an emit with nothing changed renders none.
    #[test]
    fn emit_renders_every_service_and_the_copy_matches() {
        let out = std::env::temp_dir().join(format!("accord-bench-emit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let root = synth::workspace_root();
        let (_, written) = emit::emit_once(&root, &out.join("emit")).unwrap();
        assert_eq!(written.rendered, synth::EMIT_SERVICES);
        let files = emit::read_tree(&out.join("emit")).unwrap();
        assert_eq!(
            files.len(),
            written.files + synth::EMIT_SERVICES,
            "a digest each"
        );
        emit::write_by_hand(&files, &out.join("by-hand")).unwrap();
        assert_eq!(emit::read_tree(&out.join("by-hand")).unwrap(), files);
        let (_, again) = emit::emit_once(&root, &out.join("emit")).unwrap();
        assert_eq!(again.rendered, 0);
        std::fs::remove_dir_all(&out).unwrap();
    }

    /// The synthetic services the emit renders come out the same bytes
    /// with the compiled built-in templates as with handlebars.
    #[test]
    fn synthetic_services_render_the_same_with_handlebars() {
        let synthetic = emit::synthetic(&synth::workspace_root());
        let compiled = Templates::new(&template_sets(), None).unwrap();
        let interpreted = Templates::interpreted(&template_sets()).unwrap();
        let languages = accord_codegen::lang::all();
        for service in &synthetic {
            let [fast, reference] = [&compiled, &interpreted].map(|templates| {
                render(service, OpenApiVersion::V3_1, languages, templates)
                    .unwrap()
                    .files
            });
            assert_eq!(
                fast.keys().collect::<Vec<_>>(),
                reference.keys().collect::<Vec<_>>()
            );
            for (path, text) in &fast {
                assert!(
                    *text == reference[path],
                    "{} {path} differs from what handlebars writes",
                    service.descriptor.name
                );
            }
        }
    }
}
