//! Golden files and determinism.
//!
//! `codegen/tests/golden/<crate>/` holds what `accord generate` writes for
//! each crate in `contracts/`, plus each service's OpenAPI 3.0 document as
//! `openapi-3.0.json`. `ACCORD_BLESS=1 cargo test -p accord-codegen`
//! rewrites them from the current output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{
    contract_crates, generate, published, read_tree, root, scratch, service_folders, text,
};

fn golden_dir() -> PathBuf {
    root().join("codegen").join("tests").join("golden")
}

fn blessing() -> bool {
    std::env::var_os("ACCORD_BLESS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// What the golden folder of a crate should hold: its 3.1 output, plus
/// each service's 3.0 OpenAPI document as `openapi-3.0.json`.
fn expected_tree(v31: &Path, v30: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = read_tree(v31);
    let v30_files = read_tree(v30);
    for (path, contents) in &v30_files {
        match path.strip_suffix("/openapi.json") {
            Some(folder) => {
                files.insert(format!("{folder}/openapi-3.0.json"), contents.clone());
            }
            None => assert_eq!(
                Some(contents),
                files.get(path),
                "{path} differs between the 3.1 and 3.0 runs; only openapi.json may"
            ),
        }
    }
    files
}

#[test]
fn generated_files_match_the_golden_files() {
    let mut problems = Vec::new();
    for (name, _) in contract_crates() {
        let outputs = &published()[&name];
        let actual = expected_tree(&outputs.v31, &outputs.v30);
        let golden = golden_dir().join(&name);
        if blessing() {
            if golden.exists() {
                std::fs::remove_dir_all(&golden).unwrap();
            }
            for (path, contents) in &actual {
                let file = golden.join(path);
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(file, contents).unwrap();
            }
            eprintln!("blessed {} files in {}", actual.len(), golden.display());
            continue;
        }
        let expected = read_tree(&golden);
        if expected.is_empty() {
            problems.push(format!("{} has no golden files yet", golden.display()));
            continue;
        }
        for path in expected.keys().filter(|p| !actual.contains_key(*p)) {
            problems.push(format!(
                "{name}/{path} is in the golden files but was not generated"
            ));
        }
        for (path, contents) in &actual {
            match expected.get(path) {
                None => problems.push(format!(
                    "{name}/{path} was generated but has no golden file"
                )),
                Some(golden) if golden != contents => problems.push(format!(
                    "{name}/{path}: {}",
                    first_difference(golden, contents)
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the generated files differ from codegen/tests/golden:\n  {}\n\nIf the change is \
         intended, run `ACCORD_BLESS=1 cargo test -p accord-codegen` and review the diff.",
        problems.join("\n  ")
    );
}

fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let expected = text(expected);
    let actual = text(actual);
    let mut expected_lines = expected.lines();
    let mut actual_lines = actual.lines();
    let mut line = 1;
    loop {
        match (expected_lines.next(), actual_lines.next()) {
            (Some(e), Some(a)) if e == a => line += 1,
            (e, a) => {
                return format!(
                    "line {line} differs: golden {:?}, generated {:?}",
                    e.unwrap_or("<end of file>"),
                    a.unwrap_or("<end of file>")
                )
            }
        }
    }
}

#[test]
fn golden_files_cover_every_service_and_file_kind() {
    if blessing() {
        return;
    }
    for (name, _) in contract_crates() {
        let outputs = &published()[&name];
        for folder in service_folders(&outputs.v31) {
            for file in [
                "openapi.json",
                "asyncapi.json",
                "client.ts",
                "index.html",
                "descriptor.json",
                "python/pyproject.toml",
            ] {
                assert!(
                    folder.join(file).is_file(),
                    "{} has no {file}",
                    folder.display()
                );
            }
            let schemas = std::fs::read_dir(folder.join("schemas")).unwrap().count();
            assert!(schemas > 0, "{} has no schema files", folder.display());
        }
    }
}

#[test]
fn output_is_byte_identical_across_runs_and_ways_of_naming_the_crates() {
    // One run over the folder of crates, against the per-crate runs above.
    let together = scratch("determinism/together");
    generate(&[&root().join("contracts")], &together, &["--quiet"]);
    let mut separately = BTreeMap::new();
    for (name, _) in contract_crates() {
        separately.extend(read_tree(&published()[&name].v31));
    }
    let first = read_tree(&together);
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        separately.keys().collect::<Vec<_>>(),
        "the same services, whether crates are named one by one or found in their folder"
    );
    for (path, contents) in &first {
        assert!(
            separately[path] == *contents,
            "{path} differs between the runs"
        );
    }

    // The crates named in another order, into the same folder: nothing changes.
    let mut crates: Vec<PathBuf> = contract_crates().into_iter().map(|(_, p)| p).collect();
    crates.reverse();
    let paths: Vec<&Path> = crates.iter().map(PathBuf::as_path).collect();
    let stale = service_folders(&together)[0]
        .join("schemas")
        .join("Removed.json");
    std::fs::write(&stale, "{}").unwrap();
    let rerun = generate(&paths, &together, &["--quiet"]);
    let report = text(&rerun.stdout);
    for line in report.lines() {
        assert!(
            line.contains(", 0 changed"),
            "a rerun changed files: {line}"
        );
    }
    assert!(report.contains("1 stale schema file removed"), "{report}");
    assert!(
        !stale.exists(),
        "a schema file of a type the service no longer has stays"
    );
    assert_eq!(read_tree(&together), first, "a rerun gives other bytes");
}
