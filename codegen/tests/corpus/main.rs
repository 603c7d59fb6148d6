//! The corpus of `accord check`: before/after contract pairs, each with
//! the exact changes it must report and the verdict of the semver policy
//! at the versions the pair declares.
//!
//! Each pair is two `#[accord::service]` traits compiled into this test,
//! so the schemas are exactly what schemars produces for them.

mod support;

mod auth;
mod bodies;
mod errors;
mod events;
mod operations;
mod params;
mod policy;
mod responses;
mod unchanged;

use std::collections::BTreeSet;

use accord_codegen::check::issue::SCHEMA_CHANGES;
use accord_codegen::check::report::describe;
use accord_codegen::check::Rule;
use support::{id, run, Case};

fn all_cases() -> Vec<&'static Case> {
    [
        operations::CASES,
        auth::CASES,
        params::CASES,
        bodies::CASES,
        responses::CASES,
        errors::CASES,
        events::CASES,
        unchanged::CASES,
        policy::CASES,
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[test]
fn every_case_reports_exactly_its_changes_and_verdict() {
    let cases = all_cases();
    let mut failures = Vec::new();
    for case in &cases {
        let outcome = run(case);
        if outcome.ids != case.expect || outcome.verdict != case.verdict {
            let shown: Vec<String> = outcome
                .changes
                .iter()
                .map(|c| format!("{}: {}", id(c), describe(c)))
                .collect();
            failures.push(format!(
                "{}\n  expected {:?} {:?}\n  reported {:?} {:?}\n    {}",
                case.name,
                case.expect,
                case.verdict,
                outcome.ids,
                outcome.verdict,
                shown.join("\n    ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn the_corpus_has_a_case_for_every_rule() {
    let covered: BTreeSet<&str> = all_cases()
        .iter()
        .flat_map(|case| case.expect.iter())
        .map(|id| id.split(':').next().unwrap_or_default())
        .collect();
    let missing: Vec<&str> = Rule::ALL
        .iter()
        .map(|rule| rule.id())
        .filter(|id| !covered.contains(id))
        .collect();
    assert!(missing.is_empty(), "no corpus case reports {missing:?}");
    assert!(
        all_cases().len() >= 40,
        "the corpus has {} cases",
        all_cases().len()
    );
}

#[test]
fn no_case_reports_a_change_twice() {
    for case in all_cases() {
        let outcome = run(case);
        let mut seen = BTreeSet::new();
        for change in &outcome.changes {
            let key = (
                id(change),
                change.operation.clone(),
                change.location.as_ref().map(|l| l.key()),
                change.path.clone(),
                change.message.clone(),
            );
            assert!(seen.insert(key.clone()), "{}: {key:?} twice", case.name);
        }
    }
}

#[test]
fn every_reported_schema_change_is_documented() {
    for case in all_cases() {
        for change in run(case).changes {
            if let Some(code) = change.schema_change {
                assert!(
                    SCHEMA_CHANGES.iter().any(|(known, _)| *known == code),
                    "{}: `{code}` is not in SCHEMA_CHANGES",
                    case.name
                );
            }
        }
    }
}

#[test]
fn the_readme_documents_every_rule_and_schema_change() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("codegen/README.md");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Breaking changes"))
        .expect("a `## Breaking changes` section");
    for rule in Rule::ALL {
        assert!(
            section.contains(&format!("| `{}` |", rule.id())),
            "the README has no row for `{}`",
            rule.id()
        );
    }
    for (code, _) in SCHEMA_CHANGES {
        assert!(
            section.contains(&format!("| `{code}` |")),
            "the README has no row for `{code}`"
        );
    }
}
