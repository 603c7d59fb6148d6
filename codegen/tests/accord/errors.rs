//! What a user sees when something is wrong, and the help.

use std::path::Path;

use crate::support::{accord, generate, root, scratch, temp_crate, text};

const ACCORD_DEP: &str = "accord = { path = \"{runtime}\" }";

/// Runs `accord generate` and returns its stderr, insisting it fails.
fn generate_fails(paths: &[&Path], out: &Path, extra: &[&str]) -> String {
    let mut args: Vec<String> = vec!["generate".into()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    args.extend(["--out".into(), out.display().to_string()]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let output = accord(&args);
    let stderr = text(&output.stderr);
    assert!(
        !output.status.success(),
        "accord {args:?} succeeded; stderr:\n{stderr}"
    );
    stderr
}

#[test]
fn a_contract_crate_that_does_not_compile_is_named_with_the_compiler_message() {
    let krate = temp_crate(
        "broken-contract",
        ACCORD_DEP,
        &[(
            "lib.rs",
            r#"
use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Thing {
    pub id: NoSuchType,
}

#[accord::service(name = "broken", version = "0.1.0")]
pub trait Broken {
    #[request(method = "GET", path = "/thing")]
    async fn thing(&self) -> Thing;
}
"#,
        )],
    );
    let out = scratch("errors/broken-out");
    let stderr = generate_fails(&[&krate], &out, &[]);
    assert!(
        stderr.contains("contract crate `broken-contract`") && stderr.contains("does not compile"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error[E") && stderr.contains("cannot find type `NoSuchType`"),
        "the compiler's message is shown:\n{stderr}"
    );
    assert!(
        stderr.contains(&krate.join("src").join("lib.rs").display().to_string()),
        "the message points at the file:\n{stderr}"
    );
    assert!(!out.join("broken").exists(), "nothing is written");
}

#[test]
fn two_types_under_one_name_are_an_error_naming_both() {
    let krate = temp_crate(
        "colliding-contract",
        ACCORD_DEP,
        &[(
            "lib.rs",
            r#"
use accord::prelude::*;

pub mod probe {
    use accord::prelude::*;
    /// How a probe went.
    #[derive(Serialize, Deserialize, JsonSchema)]
    pub struct Status { pub code: u16 }
}

pub mod switch {
    use accord::prelude::*;
    /// Whether a switch is on.
    #[derive(Serialize, Deserialize, JsonSchema)]
    pub enum Status { On, Off }
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Page<T> { pub items: Vec<T> }

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Product { pub sku: String }

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Review { pub text: String }

#[accord::service(name = "health", version = "1.0.0")]
pub trait Health {
    #[request(method = "GET", path = "/probe")]
    async fn probe(&self) -> probe::Status;
    #[request(method = "PUT", path = "/switch")]
    async fn switch(&self, status: switch::Status);
}

#[accord::service(name = "listing", version = "1.0.0")]
pub trait Listing {
    #[request(method = "GET", path = "/products")]
    async fn products(&self) -> Page<Product>;
    #[request(method = "GET", path = "/reviews")]
    async fn reviews(&self) -> Page<Review>;
}
"#,
        )],
    );
    let out = scratch("errors/colliding-out");
    let stderr = generate_fails(&[&krate], &out, &[]);
    for expected in [
        // Both services are reported, each naming the two types.
        "service `health`",
        "`colliding_contract::probe::Status` (src/lib.rs) and `colliding_contract::switch::Status` (src/lib.rs)",
        "the name `Status`",
        "`Status2`",
        "`probe` response",
        "`switch` body",
        "service `listing`",
        "`colliding_contract::Page` (src/lib.rs) is generic",
        "`Page2`",
        "`products` response",
        "`reviews` response",
        // And how to fix it.
        "#[schemars(rename = \"...\")]",
        "#[schemars(rename = \"{T}Page\")]",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
}

#[test]
fn numbered_names_renamed_dependencies_and_re_exports_are_fine() {
    // A type really named `Point2`, accord under another name, and a service
    // in a private module reached through `pub use`.
    let krate = temp_crate(
        "numbered-contract",
        "contracts = { package = \"accord\", path = \"{runtime}\" }",
        &[
            (
                "lib.rs",
                r#"
mod api;
pub use api::Geometry as Shapes;

use contracts::prelude::*;

/// A point.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Point { pub x: f64 }

/// A point in the plane.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Point2 { pub x: f64, pub y: f64 }
"#,
            ),
            (
                "api.rs",
                r#"
use contracts::service;
use crate::{Point, Point2};

/// Points and more points.
#[service(name = "geometry", version = "1.0.0", crate = "contracts")]
pub trait Geometry {
    #[request(method = "GET", path = "/point")]
    async fn point(&self) -> Point;
    #[request(method = "GET", path = "/point2")]
    async fn point2(&self) -> Point2;
}
"#,
            ),
        ],
    );
    let out = scratch("errors/numbered-out");
    let output = generate(&[&krate.join("Cargo.toml")], &out, &[]);
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("geometry 1.0.0 (numbered-contract)"),
        "{stdout}"
    );
    let schemas = out.join("geometry/1.0.0/schemas");
    assert!(schemas.join("Point.json").is_file());
    assert!(schemas.join("Point2.json").is_file());
}

#[test]
fn paths_without_contracts_are_errors_naming_them() {
    let out = scratch("errors/paths-out");
    let missing = root().join("no-such-folder");
    let stderr = generate_fails(&[&missing], &out, &[]);
    assert!(
        stderr.contains("no-such-folder") && stderr.contains("does not exist"),
        "{stderr}"
    );

    // A crate named directly must declare a service.
    let server = root().join("examples").join("orders-server");
    let stderr = generate_fails(&[&server], &out, &[]);
    assert!(
        stderr.contains("crate `orders-server` declares no `#[accord::service]` trait"),
        "{stderr}"
    );

    let empty = scratch("errors/empty-folder");
    let stderr = generate_fails(&[&empty], &out, &[]);
    assert!(stderr.contains("holds no crate"), "{stderr}");
}

#[test]
fn templates_export_override_and_strict_mode() {
    let templates = scratch("errors/templates");
    let output = accord(["templates", "export", &templates.display().to_string()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    for file in [
        "index.html.hbs",
        "index-style.css.hbs",
        "typescript/client.ts.hbs",
        "typescript/client-runtime.ts.hbs",
        "python/client.py.hbs",
        "python/runtime.py.hbs",
        "python/pyproject.toml.hbs",
    ] {
        assert!(templates.join(file).is_file(), "{file} not exported");
    }
    let again = accord(["templates", "export", &templates.display().to_string()]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("--force"));

    let orders = root().join("contracts").join("orders");
    let templates_arg = templates.display().to_string();

    // Overriding one template changes its output only.
    std::fs::write(
        templates.join("index.html.hbs"),
        "<h1>{{service.name}}</h1>{{#each requests}}<p>{{name}}</p>{{/each}}\n",
    )
    .unwrap();
    let out = scratch("errors/templates-out");
    generate(
        &[&orders],
        &out,
        &["--templates", &templates_arg, "--quiet"],
    );
    let page = std::fs::read_to_string(out.join("orders/1.2.0/index.html")).unwrap();
    assert!(
        page.starts_with("<h1>orders</h1><p>place_order</p>"),
        "{page}"
    );
    let client = std::fs::read_to_string(out.join("orders/1.2.0/client.ts")).unwrap();
    assert!(client.contains("export class OrdersClient"));

    // A language's template overrides in the language's folder.
    std::fs::write(
        templates.join("python/pyproject.toml.hbs"),
        "# {{package.distribution}} {{package.version}}\n",
    )
    .unwrap();
    generate(
        &[&orders],
        &out,
        &["--templates", &templates_arg, "--quiet"],
    );
    let pyproject =
        std::fs::read_to_string(out.join("orders/1.2.0/python/pyproject.toml")).unwrap();
    assert_eq!(pyproject, "# orders-client 1.2.0\n");

    // Where older accords took a language's templates, at the root, they
    // would be silently unused: refused, saying where they go.
    std::fs::write(templates.join("client.ts.hbs"), "").unwrap();
    let stderr = generate_fails(&[&orders], &out, &["--templates", &templates_arg]);
    assert!(
        stderr.contains("it belongs in") && stderr.contains("typescript/client.ts.hbs"),
        "{stderr}"
    );
    std::fs::remove_file(templates.join("client.ts.hbs")).unwrap();

    // A field the view model does not have is an error, not an empty string.
    std::fs::write(
        templates.join("index.html.hbs"),
        "{{#each requests}}{{nmae}}{{/each}}",
    )
    .unwrap();
    let stderr = generate_fails(&[&orders], &out, &["--templates", &templates_arg]);
    assert!(
        stderr.contains("index.html.hbs") && stderr.contains("nmae"),
        "{stderr}"
    );

    // A misspelt template file would be silently unused: refused.
    std::fs::write(templates.join("index.htm.hbs"), "").unwrap();
    let stderr = generate_fails(&[&orders], &out, &["--templates", &templates_arg]);
    assert!(
        stderr.contains("index.htm.hbs") && stderr.contains("not one of"),
        "{stderr}"
    );
}

#[test]
fn help_describes_each_command() {
    let help = text(&accord(["--help"]).stdout);
    for expected in ["generate", "templates", "OpenAPI", "TypeScript"] {
        assert!(help.contains(expected), "{expected} missing from:\n{help}");
    }
    let help = text(&accord(["generate", "--help"]).stdout);
    for expected in [
        "--out <DIR>",
        "--openapi-version <VERSION>",
        "--templates <DIR>",
        "--cache-dir <DIR>",
        "schemas/<Type>.json",
        "Examples:",
    ] {
        assert!(help.contains(expected), "{expected} missing from:\n{help}");
    }
    let help = text(&accord(["templates", "export", "--help"]).stdout);
    assert!(
        help.contains("--templates DIR") && help.contains("--force"),
        "{help}"
    );
    let list = text(&accord(["templates", "list"]).stdout);
    assert!(
        list.contains("typescript/client.ts.hbs")
            && list.contains("python/client.py.hbs")
            && list.contains("index.html.hbs"),
        "{list}"
    );
    let help = text(&accord(["generate", "--help"]).stdout);
    assert!(
        help.contains("--lang <LANGUAGES>")
            && help.contains("typescript")
            && help.contains("python"),
        "{help}"
    );
}

#[test]
fn lang_chooses_the_client_languages() {
    let orders = root().join("contracts").join("orders");
    let out = scratch("errors/lang");
    generate(&[&orders], &out, &["--lang", "python", "--quiet"]);
    let folder = out.join("orders/1.2.0");
    assert!(folder.join("python/pyproject.toml").is_file());
    assert!(
        !folder.join("client.ts").exists(),
        "only the languages asked for"
    );
    let page = std::fs::read_to_string(folder.join("index.html")).unwrap();
    assert!(
        page.contains("Python client") && !page.contains("TypeScript client"),
        "the page links the clients written"
    );

    let output = accord([
        "generate",
        &orders.display().to_string(),
        "--out",
        &out.display().to_string(),
        "--lang",
        "cobol",
    ]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cobol") && stderr.contains("typescript") && stderr.contains("python"),
        "{stderr}"
    );
}
