//! The `accord` CLI: publishes the contracts of accord contract crates.
//!
//! `accord generate` runs in four steps:
//!
//! 1. [`discover`]: find the contract crates under the given paths (with
//!    `cargo metadata`) and, by parsing each crate's source with syn, the
//!    module path of every `#[accord::service]` trait in it.
//! 2. [`export`]: build a small exporter crate against each contract crate
//!    (in a cache folder, with one shared target directory) and read its
//!    [`ServiceDescriptor`](accord::ServiceDescriptor)s back as JSON, so every
//!    schema is exactly what schemars produces at run time.
//! 3. [`names`]: check that the names types publish under are stable: no two
//!    types share one, each can be a file name, and each language keeps them
//!    apart.
//! 4. [`emit`]: write, per service and version, the OpenAPI and AsyncAPI
//!    documents and one JSON Schema per type, then build the
//!    language-neutral [`view`] of the service once and render from it a
//!    client per language ([`lang`]: TypeScript, Python) and the
//!    documentation page ([`page`]), with the [`templates`].
//!
//! [`generate`] ties the steps together. `accord check` reuses the first
//! two and compares each service with the versions `accord generate`
//! published before ([`check`]).
//!
//! Modules depend one way: `generate` on `emit` on `lang` and `page` on
//! `view` and `templates`; `check` on `export` on `discover`.

pub mod check;
pub mod dead_letters;
pub mod discover;
pub mod emit;
pub mod export;
pub mod generate;
pub mod lang;
pub mod names;
pub mod page;
mod pretty;
pub mod templates;
pub mod view;

pub use emit::OpenApiVersion;
pub use generate::{generate, GenerateOptions};
