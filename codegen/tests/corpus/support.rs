//! The corpus harness: each case is a pair of contracts, `before` and
//! `after`, each an `#[accord::service] trait Api` in its own module, with
//! the exact changes `accord check` must report between them and the
//! verdict of the semver policy at the versions the two traits declare.

use accord::ServiceDescriptor;
pub use accord_codegen::check::Level;
use accord_codegen::check::{compare, judge, Change, Version};

/// One before/after pair.
pub struct Case {
    /// The module holding it.
    pub name: &'static str,
    /// The contract as published.
    pub before: fn() -> &'static ServiceDescriptor,
    /// The contract as it is now.
    pub after: fn() -> &'static ServiceDescriptor,
    /// Each change expected, in the order reported: `rule` or
    /// `rule:schema-change`.
    pub expect: &'static [&'static str],
    /// The verdict expected.
    pub verdict: Level,
}

/// What the check reports for a case.
pub struct Outcome {
    /// The changes.
    pub changes: Vec<Change>,
    /// Each change as `rule` or `rule:schema-change`.
    pub ids: Vec<String>,
    /// The verdict.
    pub verdict: Level,
}

/// Runs the check on a case.
pub fn run(case: &Case) -> Outcome {
    let before = (case.before)();
    let after = (case.after)();
    let changes = compare(before, after);
    let version = |d: &ServiceDescriptor| {
        Version::parse(&d.version).unwrap_or_else(|| panic!("{}: bad version", case.name))
    };
    let verdict = judge(&version(before), &version(after), &changes, before == after);
    let ids = changes.iter().map(id).collect();
    Outcome {
        changes,
        ids,
        verdict: verdict.level,
    }
}

/// `rule` or `rule:schema-change`.
pub fn id(change: &Change) -> String {
    match change.schema_change {
        Some(code) => format!("{}:{code}", change.rule.id()),
        None => change.rule.id().to_owned(),
    }
}

/// Declares corpus cases: a module per case with `before` and `after`, and
/// `CASES` listing them.
macro_rules! cases {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident => $verdict:ident [$($rule:literal),* $(,)?]
        before { $($before:tt)* }
        after { $($after:tt)* }
    )*) => {
        $(
            $(#[doc = $doc])*
            pub mod $name {
                pub mod before {
                    #![allow(dead_code, unused_imports)]
                    use accord::prelude::*;
                    $($before)*
                }
                pub mod after {
                    #![allow(dead_code, unused_imports)]
                    use accord::prelude::*;
                    $($after)*
                }
                pub const CASE: crate::support::Case = crate::support::Case {
                    name: concat!(module_path!(), ""),
                    before: <before::Api as accord::Service>::descriptor,
                    after: <after::Api as accord::Service>::descriptor,
                    expect: &[$($rule),*],
                    verdict: crate::support::Level::$verdict,
                };
            }
        )*
        /// The cases of this module.
        pub const CASES: &[crate::support::Case] = &[$($name::CASE),*];
    };
}
pub(crate) use cases;
