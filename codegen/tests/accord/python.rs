//! The generated Python clients pass `mypy --strict` and `ruff check`, install
//! with pip, and the orders client works against the example server
//! (`codegen/tests/python/`, run by pytest).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::{
    published, python_tools, read_tree, root, run_with_timeout, scratch, service_folders, text,
    OrdersServer, PaymentsServer,
};

/// The `python/` folder of every published service.
fn packages() -> Vec<PathBuf> {
    let mut found = Vec::new();
    for outputs in published().values() {
        for folder in service_folders(&outputs.v31) {
            found.push(folder.join("python"));
        }
    }
    assert!(!found.is_empty(), "no service was published");
    found
}

/// Runs a Python tool with nothing written next to the sources: no
/// bytecode, caches in `cache`.
fn tool(bin: &Path, name: &str, cache: &Path) -> Command {
    let mut command = Command::new(bin.join(name));
    command
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("MYPY_CACHE_DIR", cache.join("mypy"))
        .env("RUFF_CACHE_DIR", cache.join("ruff"));
    command
}

fn assert_success(what: &str, output: &std::process::Output) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

#[test]
fn every_python_client_passes_mypy_strict_and_ruff() {
    let Some(bin) = python_tools() else { return };
    let cache = scratch("python/lint-cache");
    for package in packages() {
        let checked = run_with_timeout(
            tool(&bin, "mypy", &cache)
                .current_dir(&package)
                .args(["--strict", "."]),
            Duration::from_secs(300),
        );
        assert_success(&format!("mypy --strict in {}", package.display()), &checked);
        let linted = run_with_timeout(
            tool(&bin, "ruff", &cache)
                .current_dir(&package)
                .args(["check", "."]),
            Duration::from_secs(60),
        );
        assert_success(&format!("ruff check in {}", package.display()), &linted);
    }
}

/// Installs `package` into `site` with the tools' pip, building a copy so
/// the published folder stays as accord wrote it. The tools' setuptools
/// builds it: no download, no isolated build.
fn pip_install(bin: &Path, package: &Path, site: &Path, cache: &Path) {
    // A folder of its own per site and service version: tests run at once.
    let version = package.parent().unwrap();
    let source = scratch(&format!(
        "python/source/{}/{}-{}",
        site.file_name().unwrap().to_string_lossy(),
        version
            .parent()
            .and_then(Path::file_name)
            .unwrap()
            .to_string_lossy(),
        version.file_name().unwrap().to_string_lossy()
    ));
    for (path, contents) in read_tree(package) {
        let file = source.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, contents).unwrap();
    }
    let installed = run_with_timeout(
        tool(bin, "python", cache)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--no-build-isolation",
                "--target",
            ])
            .arg(site)
            .arg(&source),
        Duration::from_secs(180),
    );
    assert_success(&format!("pip install of {}", package.display()), &installed);
}

#[test]
fn every_python_client_installs_and_imports_without_a_warning() {
    let Some(bin) = python_tools() else { return };
    let site = scratch("python/every-site");
    let cache = scratch("python/import-cache");
    let mut modules = Vec::new();
    for package in packages() {
        pip_install(&bin, &package, &site, &cache);
        let module = std::fs::read_dir(&package)
            .unwrap()
            .flatten()
            .find(|e| e.path().join("__init__.py").is_file())
            .expect("a package folder")
            .file_name();
        modules.push(module.to_string_lossy().into_owned());
    }
    // Importing builds every model and adapter: a type pydantic cannot
    // build, or a warning it gives, fails here.
    let imported = run_with_timeout(
        tool(&bin, "python", &cache)
            .env("PYTHONPATH", &site)
            .args(["-W", "error", "-c"])
            .arg(format!("import {}", modules.join(", "))),
        Duration::from_secs(60),
    );
    assert_success(&format!("import {}", modules.join(", ")), &imported);
}

#[test]
fn the_orders_client_installs_with_pip_and_calls_the_example_server() {
    let Some(bin) = python_tools() else { return };
    let package = published()["orders"]
        .v31
        .join("orders")
        .join("1.2.0")
        .join("python");
    let site = scratch("python/site");
    let cache = scratch("python/test-cache");
    pip_install(&bin, &package, &site, &cache);
    assert!(site.join("orders_client/py.typed").is_file());

    let tests = root().join("codegen/tests/python");
    // The tests use the client as a user would, typed: they pass mypy --strict too.
    let typed = run_with_timeout(
        tool(&bin, "mypy", &cache)
            .current_dir(&tests)
            .env("MYPYPATH", &site)
            .args(["--strict", "."]),
        Duration::from_secs(300),
    );
    assert_success("mypy --strict of codegen/tests/python", &typed);
    let linted = run_with_timeout(
        tool(&bin, "ruff", &cache)
            .current_dir(&tests)
            .args(["check", "."]),
        Duration::from_secs(60),
    );
    assert_success("ruff check of codegen/tests/python", &linted);

    let server = OrdersServer::start();
    let run = run_with_timeout(
        tool(&bin, "pytest", &cache)
            .current_dir(&tests)
            .env("PYTHONPATH", &site)
            .env("ACCORD_ORDERS_URL", &server.base_url)
            .args(["-p", "no:cacheprovider", "-q"]),
        Duration::from_secs(180),
    );
    drop(server);
    assert_success("pytest codegen/tests/python", &run);
    let stdout = text(&run.stdout);
    assert!(
        stdout.contains(" passed") && !stdout.contains("failed") && !stdout.contains("skipped"),
        "{stdout}"
    );
}

#[test]
fn the_payments_client_sends_its_credentials_to_an_authenticated_server() {
    let Some(bin) = python_tools() else { return };
    let package = published()["payments"]
        .v31
        .join("payments")
        .join("1.0.0")
        .join("python");
    let site = scratch("python/payments-site");
    let cache = scratch("python/payments-cache");
    pip_install(&bin, &package, &site, &cache);

    let tests = root().join("codegen/tests/python-auth");
    let typed = run_with_timeout(
        tool(&bin, "mypy", &cache)
            .current_dir(&tests)
            .env("MYPYPATH", &site)
            .args(["--strict", "."]),
        Duration::from_secs(300),
    );
    assert_success("mypy --strict of codegen/tests/python-auth", &typed);
    let linted = run_with_timeout(
        tool(&bin, "ruff", &cache)
            .current_dir(&tests)
            .args(["check", "."]),
        Duration::from_secs(60),
    );
    assert_success("ruff check of codegen/tests/python-auth", &linted);

    let server = PaymentsServer::start();
    let run = run_with_timeout(
        tool(&bin, "pytest", &cache)
            .current_dir(&tests)
            .env("PYTHONPATH", &site)
            .env("ACCORD_PAYMENTS_URL", &server.base_url)
            .env("ACCORD_PAYMENTS_TOKEN", &server.token)
            .env("ACCORD_PAYMENTS_READ_TOKEN", &server.read_token)
            .env("ACCORD_PAYMENTS_API_KEY", &server.api_key)
            .args(["-p", "no:cacheprovider", "-q"]),
        Duration::from_secs(180),
    );
    drop(server);
    assert_success("pytest codegen/tests/python-auth", &run);
    let stdout = text(&run.stdout);
    assert!(
        stdout.contains("6 passed") && !stdout.contains("failed") && !stdout.contains("skipped"),
        "{stdout}"
    );
}
