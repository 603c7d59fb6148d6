//! Compile tests for `#[accord::service]` and `#[derive(accord::ServiceError)]`.
//!
//! `ui/pass` holds contracts that must compile; `ui/fail/<area>` holds one
//! mistake per file with the compiler output it must produce. After changing
//! a message, regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test --workspace --test ui` and read the diff.
//!
//! The expected output is that of a workspace build, which enables accord's
//! broker features: the compiler names some traits by a different path when
//! those dependencies are linked, so run this suite with `--workspace` (as
//! the README's test command does), not with `-p accord` alone.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*/*.rs");
}
