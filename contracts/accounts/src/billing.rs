//! The `billing` service: invoices and payments.

use accord::prelude::*;

use crate::Money;

/// An invoice to a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Invoice {
    pub id: u64,
    /// The customer's handle.
    pub customer: String,
    pub total: Money,
    /// The days it covers, first and last (ISO 8601 dates).
    pub period: Period,
    pub paid: bool,
}

/// A span of days: first and last, as ISO 8601 dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Period(pub String, pub String);

/// What issuing an invoice takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NewInvoice {
    pub customer: String,
    pub total: Money,
    pub period: Period,
}

/// Published when an invoice is paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InvoicePaid {
    pub invoice_id: u64,
    pub amount: Money,
}

/// What can go wrong in billing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum BillingError {
    /// The total is not positive.
    #[status(422)]
    InvalidTotal { total: Money },
    /// The customer's credit limit would be exceeded.
    #[status(402)]
    OverCreditLimit { limit: Money },
}

/// Issues invoices and records payments.
#[accord::service(name = "billing", version = "1.0.0")]
pub trait Billing {
    /// Issue an invoice. Sending the same idempotency key again returns
    /// the invoice issued the first time.
    #[request(method = "POST", path = "/invoices", status = 201, idempotent)]
    async fn issue_invoice(
        &self,
        invoice: NewInvoice,
        #[header("idempotency-key")] key: String,
    ) -> Result<Invoice, BillingError>;

    /// A customer's invoices, newest first.
    #[request(method = "GET", path = "/customers/{customer}/invoices")]
    async fn invoices(&self, customer: String) -> Vec<Invoice>;

    /// Published when an invoice is paid; a failing handler is retried.
    #[event(topic = "billing.invoice_paid", key = "invoice_id")]
    async fn invoice_paid(&self, event: InvoicePaid) -> Result<(), BillingError>;
}
