//! Two service contracts in one crate: `customers` and `billing`.
//!
//! An example of a crate holding several services, and a fixture of the
//! accord CLI. `customers` lives in a public module; `billing` in a private
//! one whose items the crate root re-exports, so the CLI finds a service
//! through a `pub use`.

mod billing;
pub mod customers;

pub use billing::*;

use accord::prelude::*;

/// An amount of money in the currency's minor unit (cents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Money {
    pub currency: Currency,
    /// Minor units: 1050 is 10.50.
    pub amount_minor: i64,
}

/// The currencies accounts are kept in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Currency {
    Eur,
    Usd,
    Gbp,
}
