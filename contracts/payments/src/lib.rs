//! The `payments` contract: charges against a customer, behind
//! authentication. Bearer tokens (JWT) by default, with the scopes each
//! request needs; an API key for the back office's totals; a public health
//! check.

use accord::prelude::*;

/// A charge to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NewCharge {
    /// The customer's handle.
    pub customer: String,
    /// The amount in cents.
    pub amount_cents: u64,
}

/// A charge made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Charge {
    pub id: u64,
    pub customer: String,
    pub amount_cents: u64,
    pub refunded: bool,
    /// The subject of the credential that made the charge.
    pub charged_by: String,
}

/// The totals of every charge so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    pub charges: u64,
    pub charged_cents: u64,
    pub refunded_cents: u64,
}

/// Whether the service is up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    pub ok: bool,
}

/// Published when a charge is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Charged {
    pub charge_id: u64,
    pub customer: String,
    pub amount_cents: u64,
}

/// What can go wrong with a charge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum PaymentError {
    /// No charge has this id.
    #[status(404)]
    NotFound { id: u64 },
    /// The amount is zero.
    #[status(422)]
    ZeroAmount,
    /// The charge was refunded already.
    #[status(409)]
    AlreadyRefunded { id: u64 },
}

/// Takes and refunds payments.
#[accord::service(name = "payments", version = "1.0.0", auth = "bearer")]
pub trait Payments {
    /// Charge a customer; needs a token granting `payments:write`.
    #[request(method = "POST", path = "/charges", status = 201, scopes = ["payments:write"])]
    async fn charge(&self, charge: NewCharge) -> Result<Charge, PaymentError>;

    /// One charge; any valid token.
    #[request(method = "GET", path = "/charges/{id}")]
    async fn get_charge(&self, id: u64) -> Result<Charge, PaymentError>;

    /// Refund a charge; needs `payments:write` and `payments:refund`.
    #[request(
        method = "POST",
        path = "/charges/{id}/refund",
        idempotent,
        scopes = ["payments:write", "payments:refund"]
    )]
    async fn refund(&self, id: u64) -> Result<Charge, PaymentError>;

    /// The totals, for the back office: an API key granting `reports`.
    #[request(method = "GET", path = "/totals", auth = "api_key", scopes = ["reports"])]
    async fn totals(&self) -> Totals;

    /// Whether the service is up; public.
    #[request(method = "GET", path = "/health", auth = "none")]
    async fn health(&self) -> Health;

    /// Published once a charge is made.
    #[event(topic = "payments.charged", key = "customer")]
    async fn charged(&self, event: Charged);
}
