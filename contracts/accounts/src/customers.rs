//! The `customers` service: who the customers are.

use accord::prelude::*;

use crate::Money;

/// A customer as the service keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Customer {
    /// The customer's unique handle, as it appears in paths.
    pub handle: String,
    pub name: String,
    pub email: String,
    /// Bumped by every change; `update_customer` expects the current one.
    pub revision: u32,
    /// The most the customer may owe.
    pub credit_limit: Money,
    pub tier: Tier,
}

/// What a customer submits to register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NewCustomer {
    /// Letters, digits, `-` and `_`.
    pub handle: String,
    pub name: String,
    pub email: String,
}

/// Changes to a customer; fields left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CustomerChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
}

/// How much business a customer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, accord::Scalar)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Standard,
    /// More than 100 orders a year.
    Gold,
}

/// Which customers to find.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, accord::Query)]
pub struct CustomerQuery {
    /// Part of the name, any case.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
}

/// Published once a customer registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CustomerRegistered {
    pub handle: String,
    pub email: String,
}

/// What can go wrong with a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum CustomerError {
    /// No customer has this handle.
    #[status(404)]
    UnknownCustomer { handle: String },
    /// The handle is taken.
    #[status(409)]
    HandleTaken { handle: String },
    /// The customer changed since the revision given.
    #[status(412)]
    StaleRevision { current: u32 },
}

/// Registers customers and keeps their details.
#[accord::service(name = "customers", version = "2.0.0")]
pub trait Customers {
    /// Register a new customer.
    #[request(method = "POST", path = "/customers", status = 201)]
    async fn register(&self, customer: NewCustomer) -> Result<Customer, CustomerError>;

    /// Fetch a customer by handle.
    #[request(method = "GET", path = "/customers/{handle}")]
    async fn get_customer(&self, handle: String) -> Result<Customer, CustomerError>;

    /// Change a customer's details, if they are still at `revision`.
    #[request(method = "PATCH", path = "/customers/{handle}")]
    async fn update_customer(
        &self,
        handle: String,
        #[header("if-match")] revision: u32,
        changes: CustomerChanges,
    ) -> Result<Customer, CustomerError>;

    /// Find customers by name.
    #[request(method = "GET", path = "/customers")]
    async fn search(&self, #[query] query: CustomerQuery) -> Vec<Customer>;

    /// Published once a customer registered.
    #[event(topic = "customers.registered", key = "handle")]
    async fn customer_registered(&self, event: CustomerRegistered);
}
