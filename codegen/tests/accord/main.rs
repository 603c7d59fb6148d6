//! Tests of the `accord` CLI, run as a user runs it: the built binary over
//! the example contract crates in `contracts/` and over throwaway crates.
//!
//! Regenerate the golden files with `ACCORD_BLESS=1 cargo test -p accord-codegen`.

mod support;

mod check;
mod compiled;
mod documents;
mod errors;
mod golden;
mod incremental;
mod page;
mod python;
mod typescript;
