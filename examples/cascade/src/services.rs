//! The three services of the chain, how each calls the next with the
//! defences on or off, and the faults tax can be told to have.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::resilience::{BreakerSettings, BulkheadSettings, DefenceSettings};
use accord::HttpTransport;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::contract::{
    Cause, Item, PricingClient, PricingServer, Quote, QuoteError, ShopfrontServer, TaxClient,
    TaxRate, TaxServer,
};

/// The catalogue: sku, name, price before tax in cents.
const PRODUCTS: &[(&str, &str, u64)] = &[
    ("kettle", "Kettle", 2_999),
    ("toaster", "Toaster", 3_499),
    ("teapot", "Teapot", 1_899),
    ("mug", "Mug", 699),
    ("grinder", "Coffee grinder", 5_499),
    ("scale", "Kitchen scale", 2_199),
    ("whisk", "Whisk", 499),
    ("bread", "Bread", 349),
    ("tea", "Tea, 100 bags", 599),
    ("coffee", "Coffee, 1 kg", 1_999),
];

/// The skus of the catalogue, in order.
pub fn skus() -> impl Iterator<Item = &'static str> {
    PRODUCTS.iter().map(|(sku, _, _)| *sku)
}

fn net_cents(sku: &str) -> Option<u64> {
    PRODUCTS
        .iter()
        .find(|(s, _, _)| *s == sku)
        .map(|(_, _, cents)| *cents)
}

/// Whether the defences are on for the calls A makes to B and B to C.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Defences {
    /// A deadline of [`PRICING_TIMEOUT`] and [`TAX_TIMEOUT`], a circuit
    /// breaker (cool-down [`COOL_DOWN`]), retries within their budget and a
    /// bulkhead of [`BULKHEAD`] calls per target.
    On,
    /// No breaker, no retries, no bulkhead, and the client's default
    /// timeout of 30 s.
    Off,
}

impl Defences {
    /// `on` or `off`.
    pub fn name(self) -> &'static str {
        match self {
            Defences::On => "on",
            Defences::Off => "off",
        }
    }
}

/// How long A's call to B may take with the defences on.
pub const PRICING_TIMEOUT: Duration = Duration::from_secs(1);
/// How long B's call to C may take with the defences on; inside a call
/// from A it is also bounded by the time A's call has left.
pub const TAX_TIMEOUT: Duration = Duration::from_millis(500);
/// The breaker's cool-down before it lets probes through (the default,
/// 5 s, made shorter so the scenario's phases can be short).
pub const COOL_DOWN: Duration = Duration::from_secs(2);
/// The calls in flight to one target the bulkhead allows.
pub const BULKHEAD: usize = 32;

/// A transport to `base_url` with the defences on or off.
pub fn transport(base_url: &str, defences: Defences) -> anyhow::Result<HttpTransport> {
    let builder = HttpTransport::builder(base_url);
    let builder = match defences {
        Defences::On => builder
            .circuit_breaker(BreakerSettings::default().cool_down(COOL_DOWN))
            .bulkhead(BulkheadSettings::default().max_concurrent(BULKHEAD)),
        Defences::Off => builder.defences(DefenceSettings::off()),
    };
    Ok(builder.build()?)
}

/// What tax does with each call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Answers at once.
    #[default]
    None,
    /// Answers after this long.
    Slow(Duration),
    /// Answers 503 at once.
    Failing,
}

/// The fault tax has now; the scenario changes it as it goes.
#[derive(Debug, Clone, Default)]
pub struct FaultSwitch(Arc<Mutex<Fault>>);

impl FaultSwitch {
    /// Gives tax `fault` from the next call on.
    pub fn set(&self, fault: Fault) {
        *self.0.lock().expect("fault switch poisoned") = fault;
    }

    /// The fault now.
    pub fn get(&self) -> Fault {
        *self.0.lock().expect("fault switch poisoned")
    }
}

/// C: the tax service.
#[derive(Debug, Clone, Copy, Default)]
pub struct TaxService;

impl TaxServer for TaxService {
    async fn rate(&self, sku: String) -> Result<TaxRate, QuoteError> {
        match sku.as_str() {
            "bread" | "tea" | "coffee" => Ok(TaxRate { basis_points: 550 }),
            _ if net_cents(&sku).is_some() => Ok(TaxRate {
                basis_points: 2_000,
            }),
            _ => Err(QuoteError::UnknownProduct { sku }),
        }
    }
}

/// Tax's router with `faults` in front of it, as a sick host or a proxy in
/// front of a sick host would behave.
pub fn tax_router(faults: FaultSwitch) -> Router {
    TaxService
        .into_router()
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            let fault = faults.get();
            async move { with_fault(fault, request, next).await }
        }))
}

async fn with_fault(fault: Fault, request: Request, next: Next) -> Response {
    match fault {
        Fault::None => next.run(request).await,
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Fault::Failing => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "application/problem+json")],
            r#"{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"tax is failing (an injected fault)"}"#,
        )
            .into_response(),
    }
}

/// B: pricing, which asks tax for each price.
#[derive(Debug, Clone)]
pub struct PricingService {
    tax: TaxClient<HttpTransport>,
}

impl PricingService {
    /// Pricing calling tax at `tax_url`.
    pub fn new(tax_url: &str, defences: Defences) -> anyhow::Result<Self> {
        let mut tax = TaxClient::with_transport(transport(tax_url, defences)?);
        if defences == Defences::On {
            tax = tax.with_timeout(TAX_TIMEOUT);
        }
        Ok(PricingService { tax })
    }

    /// The transport to tax, for its breaker's state.
    pub fn tax_transport(&self) -> &HttpTransport {
        self.tax.transport()
    }
}

impl PricingServer for PricingService {
    async fn price(&self, sku: String) -> Result<Quote, QuoteError> {
        let net_cents =
            net_cents(&sku).ok_or_else(|| QuoteError::UnknownProduct { sku: sku.clone() })?;
        let rate = self
            .tax
            .rate(&sku)
            .await
            .map_err(|error| Cause::of("tax", &error))?;
        Ok(Quote {
            sku,
            net_cents,
            tax_cents: net_cents * u64::from(rate.basis_points) / 10_000,
        })
    }
}

/// A: the shopfront, which asks pricing for quotes.
#[derive(Debug, Clone)]
pub struct ShopfrontService {
    pricing: PricingClient<HttpTransport>,
    catalog: Vec<Item>,
}

impl ShopfrontService {
    /// The shopfront calling pricing at `pricing_url`.
    pub fn new(pricing_url: &str, defences: Defences) -> anyhow::Result<Self> {
        let mut pricing = PricingClient::with_transport(transport(pricing_url, defences)?);
        if defences == Defences::On {
            pricing = pricing.with_timeout(PRICING_TIMEOUT);
        }
        let catalog = PRODUCTS
            .iter()
            .map(|(sku, name, net_cents)| Item {
                sku: (*sku).to_owned(),
                name: (*name).to_owned(),
                net_cents: *net_cents,
            })
            .collect();
        Ok(ShopfrontService { pricing, catalog })
    }

    /// The transport to pricing, for its breaker's state.
    pub fn pricing_transport(&self) -> &HttpTransport {
        self.pricing.transport()
    }
}

impl ShopfrontServer for ShopfrontService {
    async fn catalog(&self) -> Vec<Item> {
        self.catalog.clone()
    }

    async fn quote(&self, sku: String) -> Result<Quote, QuoteError> {
        self.pricing
            .price(&sku)
            .await
            .map_err(|error| Cause::of("pricing", &error))
    }
}
