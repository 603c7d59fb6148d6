//! The `accord` CLI: publishes the contracts of accord contract crates.
//!
//! `accord generate` runs in four steps, one module each:
//!
//! 1. [`discover`]: find the contract crates under the given paths (with
//!    `cargo metadata`) and, by parsing each crate's source with syn, the
//!    module path of every `#[accord::service]` trait in it.
//! 2. [`export`]: build a small exporter crate against each contract crate
//!    (in a cache folder, with one shared target directory) and read its
//!    [`ServiceDescriptor`](accord::ServiceDescriptor)s back as JSON, so every
//!    schema is exactly what schemars produces at run time.
//! 3. [`names`]: check that the names types publish under are stable: no two
//!    types share one, and each can be a file name and a TypeScript name.
//! 4. [`emit`]: write, per service and version, the OpenAPI and AsyncAPI
//!    documents, one JSON Schema per type, and the template-rendered
//!    TypeScript client and documentation page ([`view`], [`templates`],
//!    [`ts`]).
//!
//! `accord check` reuses the first two steps and compares each service with
//! the versions `accord generate` published before ([`check`]).

pub mod check;
pub mod discover;
pub mod emit;
pub mod export;
pub mod generate;
pub mod names;
pub mod templates;
pub mod ts;
pub mod view;

pub use generate::{generate, GenerateOptions, OpenApiVersion};
