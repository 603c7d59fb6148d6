//! A synthetic set of contracts for timing the CLI's emit step: `count`
//! services with `operations` operations in all, made from the orders
//! contract by repeating its operations under new names, paths and topics.

use std::path::{Path, PathBuf};

use accord::descriptor::OperationKind;
use accord::ServiceDescriptor;
use anyhow::{Context, Result};

/// The synthetic set the `cli` section emits: services, and operations in
/// all.
pub const EMIT_SERVICES: usize = 50;
pub const EMIT_OPERATIONS: usize = 1000;

/// The workspace root, where BENCHMARKS.md and `contracts/` are.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ is inside the workspace")
        .to_path_buf()
}

/// `count` services with `operations` operations between them.
pub fn services(count: usize, operations: usize) -> Vec<ServiceDescriptor> {
    let template = orders_contract::Orders::descriptor();
    let ops = &template.operations;
    (0..count)
        .map(|s| {
            // Spread the operations evenly; the first services take the rest.
            let mine = operations / count + usize::from(s < operations % count);
            let name = format!("synthetic-{s:02}");
            let operations = (0..mine)
                .map(|k| {
                    let mut op = ops[k % ops.len()].clone();
                    let round = k / ops.len();
                    if round > 0 {
                        op.name = format!("{}_{round}", op.name);
                    }
                    match &mut op.kind {
                        OperationKind::Request(request) => {
                            if round > 0 {
                                request.path = format!("/v{round}{}", request.path);
                            }
                        }
                        OperationKind::Event(event) => {
                            event.topic = format!("{name}.{}.{round}", event.topic);
                        }
                    }
                    op
                })
                .collect();
            ServiceDescriptor {
                name,
                version: "1.0.0".to_owned(),
                docs: Some(format!(
                    "Synthetic service {s}, made from the orders contract."
                )),
                auth: None,
                operations,
                definitions: template.definitions.clone(),
            }
        })
        .collect()
}

/// Writes each descriptor as `<dir>/<service>.json`.
pub fn write(dir: &Path, descriptors: &[ServiceDescriptor]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    descriptors
        .iter()
        .map(|d| {
            let path = dir.join(format!("{}.json", d.name));
            let text = serde_json::to_string_pretty(d)?;
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifty_services_with_a_thousand_operations() {
        let services = services(50, 1000);
        assert_eq!(services.len(), 50);
        assert_eq!(
            services.iter().map(|s| s.operations.len()).sum::<usize>(),
            1000
        );
        for service in &services {
            let mut names: Vec<&str> = service.operations.iter().map(|o| o.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), service.operations.len(), "{}", service.name);
            let mut routes: Vec<(String, String)> = service
                .requests()
                .map(|(_, r)| (r.method.clone(), r.path.clone()))
                .collect();
            let count = routes.len();
            routes.sort();
            routes.dedup();
            assert_eq!(routes.len(), count, "{}", service.name);
        }
    }
}
