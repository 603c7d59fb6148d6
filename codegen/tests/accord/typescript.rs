//! The generated TypeScript clients compile under `tsc --strict` with the
//! stricter flags many projects turn on, and the orders client works
//! against the example server.

use std::process::Command;
use std::time::Duration;

/// The flags a client must compile with: `--strict` and the checks many
/// TypeScript projects add to it.
const STRICT: &[&str] = &[
    "--strict",
    "--noUncheckedIndexedAccess",
    "--exactOptionalPropertyTypes",
    "--noUnusedLocals",
    "--noUnusedParameters",
    "--noImplicitReturns",
    "--noFallthroughCasesInSwitch",
    "--noImplicitOverride",
    "--noPropertyAccessFromIndexSignature",
];

use crate::support::{
    node, published, root, run_with_timeout, scratch, service_folders, text, tsc, OrdersServer,
    PaymentsServer, TestCa,
};

#[test]
fn every_client_compiles_with_tsc_strict_and_the_stricter_flags() {
    let Some(tsc) = tsc() else { return };
    let mut clients = Vec::new();
    for outputs in published().values() {
        for folder in service_folders(&outputs.v31) {
            clients.push(folder.join("client.ts"));
        }
    }
    let output = run_with_timeout(
        Command::new(&tsc)
            .arg("--noEmit")
            .args(STRICT)
            .args(["--target", "es2022", "--lib", "es2022,dom"])
            .args(&clients),
        Duration::from_secs(180),
    );
    assert!(
        output.status.success(),
        "tsc {STRICT:?} rejects a generated client:\n{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

#[test]
fn the_orders_client_calls_every_request_method_of_the_example_server() {
    let (Some(tsc), Some(node)) = (tsc(), node()) else {
        return;
    };
    let orders = published()["orders"].v31.join("orders").join("1.2.0");
    let dir = scratch("typescript/orders");
    std::fs::copy(orders.join("client.ts"), dir.join("client.ts")).unwrap();
    let script = root().join("codegen/tests/ts/orders.test.ts");
    std::fs::copy(&script, dir.join("orders.test.ts")).unwrap();
    std::fs::write(dir.join("package.json"), "{ \"type\": \"module\" }\n").unwrap();

    let server = OrdersServer::start();
    std::fs::write(
        dir.join("server.ts"),
        format!("export const BASE_URL = {:?};\n", server.base_url),
    )
    .unwrap();

    let compiled = run_with_timeout(
        Command::new(&tsc).current_dir(&dir).args(STRICT).args([
            "--target",
            "es2022",
            "--module",
            "es2022",
            "--lib",
            "es2022,dom",
            "--outDir",
            "out",
            "client.ts",
            "server.ts",
            "orders.test.ts",
        ]),
        Duration::from_secs(180),
    );
    assert!(
        compiled.status.success(),
        "the test script does not compile against the client:\n{}{}",
        text(&compiled.stdout),
        text(&compiled.stderr)
    );

    let run = run_with_timeout(
        Command::new(&node)
            .current_dir(&dir)
            .arg("out/orders.test.js"),
        Duration::from_secs(60),
    );
    let stdout = text(&run.stdout);
    assert!(
        run.status.success(),
        "the client failed against the server:\n{stdout}{}",
        text(&run.stderr)
    );
    drop(server);

    // Every request method of the contract was called, as the OpenAPI
    // document lists them.
    let openapi: serde_json::Value =
        serde_json::from_slice(&std::fs::read(orders.join("openapi.json")).unwrap()).unwrap();
    let mut operations = Vec::new();
    for item in openapi["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            operations.push(operation["operationId"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(operations.len(), 7, "{operations:?}");
    for operation in operations {
        assert!(
            stdout.lines().any(|l| l == format!("called {operation}")),
            "the script did not call {operation}:\n{stdout}"
        );
    }
    assert!(stdout.contains("typed error: not_found 404"), "{stdout}");
    assert!(stdout.contains("dot segments refused"), "{stdout}");
    assert!(
        stdout.contains("contradicting statuses refused"),
        "{stdout}"
    );
}

#[test]
fn the_payments_client_sends_its_credentials_to_an_authenticated_https_server() {
    let (Some(tsc), Some(node)) = (tsc(), node()) else {
        return;
    };
    let payments = published()["payments"].v31.join("payments").join("1.0.0");
    let dir = scratch("typescript/payments");
    std::fs::copy(payments.join("client.ts"), dir.join("client.ts")).unwrap();
    let script = root().join("codegen/tests/ts/payments.test.ts");
    std::fs::copy(&script, dir.join("payments.test.ts")).unwrap();
    std::fs::write(dir.join("package.json"), "{ \"type\": \"module\" }\n").unwrap();

    // Over HTTPS: node trusts the test's CA through NODE_EXTRA_CA_CERTS.
    let ca = TestCa::new();
    std::fs::write(dir.join("ca.pem"), &ca.ca_pem).unwrap();
    let server = PaymentsServer::start_https(&ca);
    assert!(server.base_url.starts_with("https://"));
    std::fs::write(
        dir.join("server.ts"),
        format!(
            "export const BASE_URL = {:?};\nexport const TOKEN = {:?};\nexport const READ_TOKEN = {:?};\nexport const API_KEY = {:?};\n",
            server.base_url, server.token, server.read_token, server.api_key
        ),
    )
    .unwrap();

    let compiled = run_with_timeout(
        Command::new(&tsc).current_dir(&dir).args(STRICT).args([
            "--target",
            "es2022",
            "--module",
            "es2022",
            "--lib",
            "es2022,dom",
            "--outDir",
            "out",
            "client.ts",
            "server.ts",
            "payments.test.ts",
        ]),
        Duration::from_secs(180),
    );
    assert!(
        compiled.status.success(),
        "the test script does not compile against the client:\n{}{}",
        text(&compiled.stdout),
        text(&compiled.stderr)
    );

    let run = run_with_timeout(
        Command::new(&node)
            .current_dir(&dir)
            .env("NODE_EXTRA_CA_CERTS", dir.join("ca.pem"))
            .arg("out/payments.test.js"),
        Duration::from_secs(60),
    );
    let stdout = text(&run.stdout);
    assert!(
        run.status.success(),
        "the client failed against the server:\n{stdout}{}",
        text(&run.stderr)
    );
    for step in [
        "called health without credentials",
        "refused charge without a token",
        "called charge with a token",
        "called get_charge with a token function",
        "refused refund without the scope",
        "refused a malformed token",
        "called totals with an API key",
        "refused a wrong API key",
    ] {
        assert!(
            stdout.lines().any(|line| line == step),
            "the script did not report `{step}`:\n{stdout}"
        );
    }
}
