//! A chain of three services on loopback HTTP, A → B → C, and what happens
//! to A when C turns slow, then fails, then heals, under a steady load.
//!
//! A, the [shopfront](contract::Shopfront), answers `catalog` from its own
//! memory and `quote` by asking B, [pricing](contract::Pricing), which asks
//! C, [tax](contract::Tax). The [scenario] runs the phases with accord's
//! client defences [on or off](services::Defences); A runs in a process of
//! its own so its [vitals] (descriptors, tasks, memory) are its alone. The
//! `cascade` binary shows a run in the terminal; the benchmark harness
//! (`accord-bench --only cascade`) runs both sides and writes the figures
//! to BENCHMARKS.md.

pub mod contract;
pub mod load;
pub mod process;
pub mod scenario;
pub mod services;
pub mod summary;
pub mod vitals;
