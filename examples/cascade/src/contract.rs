//! The three contracts of the chain: the shopfront (A) answers a catalogue
//! from its own memory and a quote that asks pricing (B), which asks tax (C).

use accord::prelude::*;

/// The service the load reaches: one operation that needs the chain, one
/// that does not.
#[accord::service(name = "shopfront", version = "1.0.0")]
pub trait Shopfront {
    /// The catalogue, from the shopfront's own memory: it calls no other
    /// service.
    #[request(method = "GET", path = "/catalog")]
    async fn catalog(&self) -> Vec<Item>;

    /// A product's price with tax: asks pricing, which asks tax.
    #[request(method = "GET", path = "/quote/{sku}")]
    async fn quote(&self, sku: String) -> Result<Quote, QuoteError>;
}

/// Prices products; asks tax for the rate.
#[accord::service(name = "pricing", version = "1.0.0")]
pub trait Pricing {
    /// A product's price with tax.
    #[request(method = "GET", path = "/price/{sku}")]
    async fn price(&self, sku: String) -> Result<Quote, QuoteError>;
}

/// The tax rate of a product: the end of the chain, the one that turns
/// slow and fails in the scenario.
#[accord::service(name = "tax", version = "1.0.0")]
pub trait Tax {
    /// The rate, in basis points (1/100 of a percent).
    #[request(method = "GET", path = "/rate/{sku}")]
    async fn rate(&self, sku: String) -> Result<TaxRate, QuoteError>;
}

/// A product of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Item {
    pub sku: String,
    pub name: String,
    /// The price before tax, in cents.
    pub net_cents: u64,
}

/// A price with tax.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Quote {
    pub sku: String,
    /// Before tax, in cents.
    pub net_cents: u64,
    /// The tax, in cents.
    pub tax_cents: u64,
}

/// A tax rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaxRate {
    /// Basis points: 2000 is 20 %.
    pub basis_points: u32,
}

/// Why a quote could not be given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
pub enum QuoteError {
    /// No such product.
    #[status(404)]
    UnknownProduct { sku: String },
    /// A service the quote needs did not answer: `service` is the one whose
    /// call failed, `cause` how.
    #[status(503)]
    Unavailable { service: String, cause: Cause },
}

/// How a call down the chain failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Not sent: the caller's circuit to it is open.
    CircuitOpen,
    /// Not sent: the caller's bulkhead to it was full.
    BulkheadFull,
    /// No answer within the call's deadline.
    Timeout,
    /// It answered with a failure, or the connection failed.
    Failed,
}

impl Cause {
    /// How `error`, the failure of a call to `service`, reads one step up
    /// the chain: the deepest service that failed, and how.
    pub fn of(service: &str, error: &CallError<QuoteError>) -> QuoteError {
        let cause = match error {
            CallError::Service(answer) => return answer.clone(),
            CallError::CircuitOpen(_) => Cause::CircuitOpen,
            CallError::BulkheadFull(_) => Cause::BulkheadFull,
            CallError::Timeout(_) => Cause::Timeout,
            _ => Cause::Failed,
        };
        QuoteError::Unavailable {
            service: service.to_owned(),
            cause,
        }
    }

    /// A short name for the terminal and the report.
    pub fn name(self) -> &'static str {
        match self {
            Cause::CircuitOpen => "circuit open",
            Cause::BulkheadFull => "bulkhead full",
            Cause::Timeout => "timeout",
            Cause::Failed => "failed",
        }
    }
}
