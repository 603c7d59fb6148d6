//! The documentation page renders in headless Chromium and lists every
//! operation, event and type.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::{chromium, published, run_with_timeout, scratch, service_folders, text};

/// The DOM Chromium renders for `page`.
fn rendered_dom(chromium: &Path, page: &Path) -> String {
    let profile = scratch(&format!(
        "page/profile-{}",
        page.parent()
            .and_then(|p| p.file_name())
            .unwrap()
            .to_string_lossy()
    ));
    let url = format!("file://{}", page.display());
    let output = run_with_timeout(
        Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(&url),
        Duration::from_secs(90),
    );
    assert!(
        output.status.success(),
        "chromium failed on {url}:\n{}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

#[test]
fn every_page_lists_its_operations_events_and_types() {
    let Some(chromium) = chromium() else { return };
    let mut pages = 0;
    for outputs in published().values() {
        for folder in service_folders(&outputs.v31) {
            let openapi: serde_json::Value =
                serde_json::from_slice(&std::fs::read(folder.join("openapi.json")).unwrap())
                    .unwrap();
            let asyncapi: serde_json::Value =
                serde_json::from_slice(&std::fs::read(folder.join("asyncapi.json")).unwrap())
                    .unwrap();
            let dom = rendered_dom(&chromium, &folder.join("index.html"));
            assert!(dom.contains("<main>"), "no page rendered:\n{dom}");

            let mut expected = Vec::new();
            for (path, item) in openapi["paths"].as_object().unwrap() {
                for (method, operation) in item.as_object().unwrap() {
                    let id = operation["operationId"].as_str().unwrap();
                    expected.push(format!("id=\"op-{id}\""));
                    expected.push(format!(
                        "{}</span> <code class=\"path\">{path}</code> <span class=\"name\">{id}</span>",
                        method.to_uppercase()
                    ));
                }
            }
            for (name, operation) in asyncapi["operations"].as_object().unwrap() {
                if operation["action"] == "send" {
                    expected.push(format!("id=\"event-{name}\""));
                }
            }
            for entry in std::fs::read_dir(folder.join("schemas")).unwrap().flatten() {
                let file = entry.file_name().to_string_lossy().into_owned();
                let name = file.trim_end_matches(".json");
                expected.push(format!("<h3>{name}</h3>"));
            }
            for needle in expected {
                assert!(
                    dom.contains(&needle),
                    "{} does not show {needle}",
                    folder.join("index.html").display()
                );
            }
            pages += 1;
        }
    }
    assert!(pages >= 4, "only {pages} pages rendered");
}
