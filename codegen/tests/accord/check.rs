//! `accord check` end to end: `accord generate` publishes a crate, the
//! crate changes, and `accord check` compares it with what was published.

use std::path::Path;

use serde_json::Value;

use crate::support::{accord, generate, published, root, scratch, temp_crate, text};

const PUBLISHED: &str = r#"
use accord::prelude::*;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct NewOrder { pub sku: String, #[serde(default)] pub quantity: u32 }

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Order { pub id: u64, pub sku: String, pub quantity: u32 }

#[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum OrderError { #[status(404)] NotFound { id: u64 } }

/// A shop.
#[accord::service(name = "shop", version = "1.0.0")]
pub trait Shop {
    #[request(method = "POST", path = "/orders", status = 201)]
    async fn place(&self, order: NewOrder) -> Result<Order, OrderError>;
    #[request(method = "GET", path = "/orders/{id}")]
    async fn get(&self, id: u64) -> Result<Order, OrderError>;
    #[event(topic = "shop.placed", key = "id")]
    async fn placed(&self, event: Order);
}
"#;

/// `quantity` became required, a new error variant, a new operation, and
/// only a minor version.
const CHANGED: &str = r#"
use accord::prelude::*;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct NewOrder { pub sku: String, pub quantity: u32 }

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Order { pub id: u64, pub sku: String, pub quantity: u32 }

#[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum OrderError { #[status(404)] NotFound { id: u64 }, #[status(410)] Archived { id: u64 } }

/// A shop.
#[accord::service(name = "shop", version = "1.1.0")]
pub trait Shop {
    #[request(method = "POST", path = "/orders", status = 201)]
    async fn place(&self, order: NewOrder) -> Result<Order, OrderError>;
    #[request(method = "GET", path = "/orders/{id}")]
    async fn get(&self, id: u64) -> Result<Order, OrderError>;
    #[request(method = "GET", path = "/orders")]
    async fn list(&self) -> Vec<Order>;
    #[event(topic = "shop.placed", key = "id")]
    async fn placed(&self, event: Order);
}
"#;

fn check(paths: &[&Path], against: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["check".to_owned()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    args.extend(["--against".to_owned(), against.display().to_string()]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.push("--quiet".to_owned());
    accord(&args)
}

/// Moves a published version to another version number, as if it had
/// been published under it.
fn republish_as(published: &Path, from: &str, to: &str) {
    let service = published.join("shop");
    let descriptor = service.join(from).join("descriptor.json");
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(&descriptor).unwrap()).unwrap();
    value["version"] = Value::String(to.to_owned());
    let target = service.join(to);
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(
        target.join("descriptor.json"),
        serde_json::to_string_pretty(&value).unwrap(),
    )
    .unwrap();
}

#[test]
fn the_published_example_contracts_match_their_contracts() {
    let orders = &published()["orders"].v31;
    let descriptor = orders.join("orders/1.2.0/descriptor.json");
    assert!(
        descriptor.is_file(),
        "accord generate writes descriptor.json"
    );

    let output = check(&[&root().join("contracts/orders")], orders, &[]);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(
        stdout.contains("orders 1.2.0 (orders-contract) against published 1.2.0: the same version"),
        "{stdout}"
    );
    assert!(stdout.contains("  no changes\n  ok\n"), "{stdout}");
    assert!(
        stdout.ends_with("1 service checked: 0 errors, 0 warnings\n"),
        "{stdout}"
    );
}

#[test]
fn changes_to_a_crate_are_reported_by_rule_and_judged_by_its_version() {
    let krate = temp_crate(
        "check-contract",
        "accord = { path = \"{runtime}\" }",
        &[("lib.rs", PUBLISHED)],
    );
    let published = scratch("check/published");
    generate(&[&krate], &published, &["--quiet"]);
    assert!(published.join("shop/1.0.0/descriptor.json").is_file());

    std::fs::write(krate.join("src/lib.rs"), CHANGED).unwrap();
    let output = check(&[&krate], &published, &[]);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    for expected in [
        "shop 1.1.0 (check-contract) against published 1.0.0: a minor version",
        "breaking    request-body-narrowed  place body (NewOrder): `quantity` became required; breaks clients",
        "breaking    error-variant-added    place error: variant `Archived` (410) added: old clients cannot read it; breaks clients",
        "compatible  operation-added        list: request GET /orders added; upgrade servers first",
        "error: 3 breaking changes with the same major version as 1.0.0: make it 2.0.0",
        "1 service checked: 1 error, 0 warnings",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }

    // The same for machines.
    let output = check(&[&krate], &published, &["--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(report["verdict"], "error");
    let service = &report["services"][0];
    assert_eq!(service["service"], "shop");
    assert_eq!(service["crate"], "check-contract");
    assert_eq!(service["against"]["version"], "1.0.0");
    assert_eq!(service["bump"], "minor");
    assert_eq!(service["changed_in_place"], false);
    let rules: Vec<&str> = service["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "request-body-narrowed",
            "error-variant-added",
            "error-variant-added",
            "operation-added"
        ]
    );
    let first = &service["changes"][0];
    assert_eq!(first["breaking"], "yes");
    assert_eq!(first["affects"], serde_json::json!(["clients"]));
    assert_eq!(first["operation"], "place");
    assert_eq!(first["location"], "body");
    assert_eq!(first["type"], "NewOrder");
    assert_eq!(first["schema_change"], "property-became-required");

    // Published as 0.9.0 instead, 1.1.0 is a major version: allowed.
    republish_as(&published, "1.0.0", "0.9.0");
    let output = check(&[&krate], &published, &["--against-version", "0.9.0"]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("against published 0.9.0: a major version"),
        "{stdout}"
    );

    // A published 1.1.0 that is not this contract: changed in place.
    republish_as(&published, "1.0.0", "1.1.0");
    let output = check(&[&krate], &published, &[]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("error: version 1.1.0 is already published with a different contract"),
        "{stdout}"
    );
}

#[test]
fn what_cannot_be_checked_exits_with_2() {
    let missing = scratch("check/missing").join("nowhere");
    let output = check(&[&root().join("contracts/orders")], &missing, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("is not a folder"));

    // Nothing published yet is fine.
    let empty = scratch("check/empty");
    let output = check(&[&root().join("contracts/orders")], &empty, &[]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("note: not published in"), "{stdout}");

    let help = text(&accord(["check", "--help"]).stdout);
    for expected in [
        "--against <DIR>",
        "--against-version <VERSION>",
        "--format <FORMAT>",
        "Exit status",
    ] {
        assert!(help.contains(expected), "{expected} missing from:\n{help}");
    }
}
