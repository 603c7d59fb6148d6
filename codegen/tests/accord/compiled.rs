//! The compiled renderers of the built-in templates write what handlebars
//! writes from the same templates, byte for byte, for every contract in
//! `contracts/` (their descriptors as published in the golden files).

use std::path::Path;

use accord::ServiceDescriptor;
use accord_codegen::emit::{render, template_sets, Publication};
use accord_codegen::export::ExportedService;
use accord_codegen::templates::Templates;
use accord_codegen::OpenApiVersion;

use crate::support::{read_tree, root};

/// Renders `service` with the compiled renderers and with handlebars
/// alone, and names every file that differs.
pub fn differences(service: &ExportedService) -> Vec<String> {
    let compiled = Templates::new(&template_sets(), None).unwrap();
    let interpreted = Templates::interpreted(&template_sets()).unwrap();
    let languages = accord_codegen::lang::all();
    let both: Vec<Publication> = [&compiled, &interpreted]
        .into_iter()
        .map(|templates| render(service, OpenApiVersion::V3_1, languages, templates).unwrap())
        .collect();
    let (compiled, interpreted) = (&both[0].files, &both[1].files);
    assert_eq!(
        compiled.keys().collect::<Vec<_>>(),
        interpreted.keys().collect::<Vec<_>>(),
        "the same files"
    );
    compiled
        .iter()
        .filter(|(path, text)| interpreted[*path] != **text)
        .map(|(path, text)| {
            let other = &interpreted[path];
            let at = text
                .bytes()
                .zip(other.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(text.len().min(other.len()));
            let around = |s: &str| {
                let bytes =
                    &s.as_bytes()[at.saturating_sub(60).min(s.len())..(at + 60).min(s.len())];
                String::from_utf8_lossy(bytes).into_owned()
            };
            format!(
                "{} {path} differs at byte {at}:\n  compiled:    {:?}\n  handlebars:  {:?}",
                service.descriptor.name,
                around(text),
                around(other)
            )
        })
        .collect()
}

#[test]
fn compiled_templates_write_what_handlebars_writes_for_every_contract() {
    let golden = root().join("codegen/tests/golden");
    let descriptors: Vec<(String, Vec<u8>)> = read_tree(&golden)
        .into_iter()
        .filter(|(path, _)| path.ends_with("/descriptor.json"))
        .collect();
    assert!(descriptors.len() >= 5, "{descriptors:?} descriptors");
    let mut problems = Vec::new();
    for (path, json) in descriptors {
        let descriptor: ServiceDescriptor = serde_json::from_slice(&json).unwrap();
        let package = path.split('/').next().unwrap().to_owned();
        let service = ExportedService {
            rust_path: format!("{package}::{}", descriptor.name),
            manifest_path: Path::new("contracts").join(&package).join("Cargo.toml"),
            trait_file: Path::new("contracts").join(&package).join("src/lib.rs"),
            package,
            descriptor,
        };
        problems.extend(differences(&service));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
