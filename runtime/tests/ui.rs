//! Compile tests for `#[accord::service]` and `#[derive(accord::ServiceError)]`.
//!
//! `ui/pass` holds contracts that must compile; `ui/fail/<area>` holds one
//! mistake per file with the compiler output it must produce. After changing
//! a message, regenerate the `.stderr` files with
//! `TRYBUILD=overwrite cargo test --workspace --test ui` and read the diff.
//!
//! The expected output is that of a workspace build, which enables accord's
//! broker and `otel` features: the compiler names some traits by a
//! different path, and lists their impls differently, when those
//! dependencies are linked. So the suite requires those features
//! (`required-features` in Cargo.toml): `--workspace` (as the README's test
//! command does) turns them on, and `cargo test -p accord --test ui` alone
//! names the features to pass.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*/*.rs");
}
