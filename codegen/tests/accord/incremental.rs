//! A run whose inputs did not change renders nothing; any change to what
//! shapes a service's files renders that service again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use accord::spec::{AsyncApiOptions, AsyncApiServer};
use accord_codegen::emit::digest::DIGEST_FILE;
use accord_codegen::emit::template_sets;
use accord_codegen::export::ExportedService;
use accord_codegen::generate::{publish_with, GeneratedService};
use accord_codegen::templates::Templates;
use accord_codegen::{lang, OpenApiVersion};

use crate::support::{read_tree, root, scratch};

fn exported(descriptor: accord::ServiceDescriptor, package: &str) -> ExportedService {
    let dir = root().join("contracts").join(package);
    ExportedService {
        package: format!("{package}-contract"),
        manifest_path: dir.join("Cargo.toml"),
        rust_path: format!("{package}_contract::Service"),
        trait_file: dir.join("src/lib.rs"),
        descriptor,
    }
}

/// The orders and payments services.
fn services() -> Vec<ExportedService> {
    vec![
        exported(orders_contract::Orders::descriptor().clone(), "orders"),
        exported(
            payments_contract::Payments::descriptor().clone(),
            "payments",
        ),
    ]
}

/// One run's inputs besides the services.
struct Inputs {
    openapi: OpenApiVersion,
    languages: Vec<&'static dyn lang::Language>,
    templates: Option<PathBuf>,
    asyncapi: AsyncApiOptions,
}

impl Default for Inputs {
    fn default() -> Self {
        Inputs {
            openapi: OpenApiVersion::V3_1,
            languages: lang::all().to_vec(),
            templates: None,
            asyncapi: AsyncApiOptions::default(),
        }
    }
}

/// Publishes `services` into `out`: service name -> what was done.
fn publish(
    services: &[ExportedService],
    out: &Path,
    inputs: &Inputs,
) -> BTreeMap<String, GeneratedService> {
    let templates = Templates::new(&template_sets(), inputs.templates.as_deref()).unwrap();
    publish_with(
        services,
        out,
        inputs.openapi,
        &inputs.languages,
        &templates,
        &inputs.asyncapi,
    )
    .unwrap()
    .into_iter()
    .map(|s| (s.name.clone(), s))
    .collect()
}

/// Names of the services that were rendered.
fn rendered(run: &BTreeMap<String, GeneratedService>) -> Vec<&str> {
    run.values()
        .filter(|s| s.rendered)
        .map(|s| s.name.as_str())
        .collect()
}

/// A folder published once with the default inputs, and its files.
fn published(name: &str) -> (PathBuf, BTreeMap<String, Vec<u8>>) {
    let out = scratch(&format!("incremental/{name}"));
    let first = publish(&services(), &out, &Inputs::default());
    assert_eq!(rendered(&first), ["orders", "payments"]);
    for service in first.values() {
        assert_eq!(service.changed, service.files, "{}", service.name);
        assert!(service.folder.join(DIGEST_FILE).is_file());
    }
    let files = read_tree(&out);
    (out, files)
}

fn orders_folder(out: &Path) -> PathBuf {
    out.join("orders")
        .join(&orders_contract::Orders::descriptor().version)
}

#[test]
fn a_rerun_with_the_same_inputs_renders_nothing_and_changes_nothing() {
    let (out, files) = published("same");
    let digest = std::fs::read_to_string(orders_folder(&out).join(DIGEST_FILE)).unwrap();
    let second = publish(&services(), &out, &Inputs::default());
    assert_eq!(rendered(&second), Vec::<&str>::new());
    for service in second.values() {
        assert_eq!(service.changed, 0, "{}", service.name);
        assert!(
            service.files > 10,
            "{}: {} files",
            service.name,
            service.files
        );
    }
    assert_eq!(read_tree(&out), files);
    assert_eq!(
        std::fs::read_to_string(orders_folder(&out).join(DIGEST_FILE)).unwrap(),
        digest
    );
}

#[test]
fn a_changed_contract_renders_only_its_own_service_again() {
    let (out, files) = published("contract");
    let mut changed = services();
    changed[0].descriptor.docs = Some("Orders, with new documentation.".into());
    let second = publish(&changed, &out, &Inputs::default());
    assert_eq!(rendered(&second), ["orders"]);
    let descriptor = std::fs::read_to_string(orders_folder(&out).join("descriptor.json")).unwrap();
    assert!(descriptor.contains("Orders, with new documentation."));

    // The crate and trait the page names shape the files too.
    let mut moved = changed.clone();
    moved[1].rust_path = "payments_contract::api::Payments".into();
    assert_eq!(
        rendered(&publish(&moved, &out, &Inputs::default())),
        ["payments"]
    );

    // Back to the first contract: the first files again.
    assert_eq!(
        rendered(&publish(&services(), &out, &Inputs::default())),
        ["orders", "payments"]
    );
    assert_eq!(read_tree(&out), files);
}

#[test]
fn other_options_render_every_service_again() {
    let (out, _) = published("options");
    let v30 = Inputs {
        openapi: OpenApiVersion::V3_0,
        ..Inputs::default()
    };
    assert_eq!(
        rendered(&publish(&services(), &out, &v30)),
        ["orders", "payments"]
    );
    let openapi = std::fs::read_to_string(orders_folder(&out).join("openapi.json")).unwrap();
    assert!(openapi.contains("\"openapi\": \"3.0.3\""), "{openapi:.200}");
    assert_eq!(
        rendered(&publish(&services(), &out, &v30)),
        Vec::<&str>::new()
    );

    let typescript = Inputs {
        languages: lang::select(&["typescript".to_owned()]).unwrap(),
        ..v30
    };
    let run = publish(&services(), &out, &typescript);
    assert_eq!(rendered(&run), ["orders", "payments"]);
    let page = std::fs::read_to_string(orders_folder(&out).join("index.html")).unwrap();
    assert!(
        !page.contains("python/"),
        "the page still lists the Python client"
    );

    let servers = Inputs {
        asyncapi: AsyncApiOptions {
            servers: vec![AsyncApiServer::parse("production=nats://nats.internal:4222").unwrap()],
            ..AsyncApiOptions::default()
        },
        ..Inputs::default()
    };
    assert_eq!(
        rendered(&publish(&services(), &out, &servers)),
        ["orders", "payments"]
    );
    let asyncapi = std::fs::read_to_string(orders_folder(&out).join("asyncapi.json")).unwrap();
    assert!(asyncapi.contains("nats.internal:4222"));
}

#[test]
fn templates_that_change_render_every_service_again() {
    let (out, _) = published("templates");
    let dir = scratch("incremental/templates-folder");
    std::fs::create_dir_all(dir.join("python")).unwrap();
    let template = dir.join("python/pyproject.toml.hbs");
    std::fs::write(&template, "name = \"{{package.distribution}}\"\n").unwrap();
    let overridden = Inputs {
        templates: Some(dir.clone()),
        ..Inputs::default()
    };
    let pyproject = orders_folder(&out).join("python/pyproject.toml");
    assert_eq!(
        rendered(&publish(&services(), &out, &overridden)),
        ["orders", "payments"]
    );
    let first = std::fs::read_to_string(&pyproject).unwrap();
    assert!(first.starts_with("name = "), "{first}");
    assert_eq!(
        rendered(&publish(&services(), &out, &overridden)),
        Vec::<&str>::new()
    );

    // The same file name, other text.
    std::fs::write(&template, "project = \"{{package.distribution}}\"\n").unwrap();
    assert_eq!(
        rendered(&publish(&services(), &out, &overridden)),
        ["orders", "payments"]
    );
    assert!(std::fs::read_to_string(&pyproject)
        .unwrap()
        .starts_with("project = "));

    // No override any more: the built-in template again.
    assert_eq!(
        rendered(&publish(&services(), &out, &Inputs::default())),
        ["orders", "payments"]
    );
    assert!(std::fs::read_to_string(&pyproject)
        .unwrap()
        .contains("[project]"));
}

#[test]
fn a_file_deleted_or_edited_by_hand_is_written_again() {
    let (out, files) = published("by-hand");
    let folder = orders_folder(&out);
    std::fs::remove_file(folder.join("client.ts")).unwrap();
    assert_eq!(
        rendered(&publish(&services(), &out, &Inputs::default())),
        ["orders"]
    );
    assert_eq!(read_tree(&out), files);

    let mut page = std::fs::read_to_string(folder.join("index.html")).unwrap();
    page.push_str("<!-- edited -->\n");
    std::fs::write(folder.join("index.html"), page).unwrap();
    let schema = std::fs::read_dir(folder.join("schemas"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(&schema).unwrap();
    let run = publish(&services(), &out, &Inputs::default());
    assert_eq!(rendered(&run), ["orders"]);
    assert_eq!(run["orders"].changed, 2);
    assert_eq!(read_tree(&out), files);

    // Without its digest file a folder is rendered again too.
    std::fs::remove_file(folder.join(DIGEST_FILE)).unwrap();
    let run = publish(&services(), &out, &Inputs::default());
    assert_eq!(rendered(&run), ["orders"]);
    assert_eq!(run["orders"].changed, 0, "the files were up to date");
    assert!(folder.join(DIGEST_FILE).is_file());
}

#[test]
fn files_of_another_accord_version_are_rendered_again() {
    let (out, _) = published("version");
    let path = orders_folder(&out).join(DIGEST_FILE);
    let digest = std::fs::read_to_string(&path).unwrap();
    let current = format!("generator accord {}\n", env!("CARGO_PKG_VERSION"));
    assert!(digest.contains(&current), "{digest}");
    std::fs::write(&path, digest.replace(&current, "generator accord 0.0.1\n")).unwrap();
    assert_eq!(
        rendered(&publish(&services(), &out, &Inputs::default())),
        ["orders"]
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), digest);
}

#[test]
fn a_stale_schema_file_is_removed_from_a_folder_that_is_up_to_date() {
    let (out, files) = published("stale");
    let stale = orders_folder(&out).join("schemas").join("Removed.json");
    std::fs::write(&stale, "{}").unwrap();
    let run = publish(&services(), &out, &Inputs::default());
    assert_eq!(rendered(&run), Vec::<&str>::new());
    assert_eq!(run["orders"].removed, std::slice::from_ref(&stale));
    assert!(!stale.exists());
    assert_eq!(read_tree(&out), files);
}
