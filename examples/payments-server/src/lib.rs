//! An in-memory payments service: the example of a contract that declares
//! authentication, and what the authentication tests run against.

use std::collections::BTreeMap;
use std::sync::Mutex;

use accord::auth::Identity;
use accord::Context;
use payments_contract::{Charge, Health, NewCharge, PaymentError, PaymentsServer, Totals};

mod keys;

pub use keys::{parse_api_keys, DevCredentials};

/// The payments service, holding every charge in memory.
#[derive(Debug, Default)]
pub struct InMemoryPayments {
    charges: Mutex<BTreeMap<u64, Charge>>,
}

impl InMemoryPayments {
    /// A service with no charges.
    pub fn new() -> Self {
        Self::default()
    }

    fn with_charges<R>(&self, f: impl FnOnce(&mut BTreeMap<u64, Charge>) -> R) -> R {
        let mut charges = self
            .charges
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut charges)
    }
}

impl PaymentsServer for InMemoryPayments {
    async fn charge(&self, charge: NewCharge) -> Result<Charge, PaymentError> {
        if charge.amount_cents == 0 {
            return Err(PaymentError::ZeroAmount);
        }
        // The authentication layer has verified the caller before this
        // runs, and left the identity in the call's context.
        let charged_by = Context::current()
            .and_then(|ctx| Identity::of(&ctx).map(|identity| identity.subject.clone()))
            .unwrap_or_default();
        Ok(self.with_charges(|charges| {
            let id = charges.keys().next_back().map_or(1, |last| last + 1);
            let made = Charge {
                id,
                customer: charge.customer,
                amount_cents: charge.amount_cents,
                refunded: false,
                charged_by,
            };
            charges.insert(id, made.clone());
            made
        }))
    }

    async fn get_charge(&self, id: u64) -> Result<Charge, PaymentError> {
        self.with_charges(|charges| charges.get(&id).cloned())
            .ok_or(PaymentError::NotFound { id })
    }

    async fn refund(&self, id: u64) -> Result<Charge, PaymentError> {
        self.with_charges(|charges| {
            let charge = charges.get_mut(&id).ok_or(PaymentError::NotFound { id })?;
            if charge.refunded {
                return Err(PaymentError::AlreadyRefunded { id });
            }
            charge.refunded = true;
            Ok(charge.clone())
        })
    }

    async fn totals(&self) -> Totals {
        // Amounts are any u64 a caller sends, so the sums saturate rather
        // than overflow.
        self.with_charges(|charges| Totals {
            charges: charges.len() as u64,
            charged_cents: charges
                .values()
                .fold(0, |sum, c| sum.saturating_add(c.amount_cents)),
            refunded_cents: charges
                .values()
                .filter(|c| c.refunded)
                .fold(0, |sum, c| sum.saturating_add(c.amount_cents)),
        })
    }

    async fn health(&self) -> Health {
        Health { ok: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn totals_saturate_instead_of_overflowing() {
        let payments = InMemoryPayments::new();
        for _ in 0..2 {
            payments
                .charge(NewCharge {
                    customer: "c".into(),
                    amount_cents: u64::MAX,
                })
                .await
                .unwrap();
        }
        assert_eq!(payments.totals().await.charged_cents, u64::MAX);
    }
}
