//! The catalog service contract.
//!
//! An example and a fixture of the accord CLI: a generic page type used
//! with two item types (each published under its own name through
//! `#[schemars(rename = "{T}Page")]`), a recursive type, a tuple struct and
//! free-form JSON values.

use std::collections::BTreeMap;

use accord::prelude::*;

/// One page of a listing.
// schemars names every `Page<T>` `Page`; the rename gives each use its own
// name: `ProductPage`, `ReviewPage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "{T}Page")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// How many items all pages hold.
    pub total: u64,
}

/// Which page to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, accord::Query)]
pub struct PageQuery {
    /// The `next` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// At most this many items (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u16>,
}

/// A product for sale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Product {
    /// The stock-keeping unit.
    pub sku: String,
    pub title: String,
    /// Price in cents.
    pub price_cents: u64,
    /// Width, height and depth in millimetres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<Dimensions>,
    /// Anything else the shop shows, as JSON.
    #[serde(default)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// The category path, such as `["garden", "tools"]`.
    pub category: Vec<String>,
}

/// Width, height and depth, in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Dimensions(pub f64, pub f64, pub f64);

/// A customer's review of a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Review {
    pub author: String,
    /// One to five stars.
    pub stars: u8,
    pub text: String,
}

/// A category and the categories below it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Category {
    pub name: String,
    #[serde(default)]
    pub children: Vec<Category>,
}

/// Published when a product is added or changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProductChanged {
    pub sku: String,
    /// The product as it is now.
    pub product: Product,
}

/// What can go wrong in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum CatalogError {
    /// No product has this SKU.
    #[status(404)]
    UnknownProduct { sku: String },
    /// The product's SKU does not match the path.
    #[status(422)]
    SkuMismatch { path: String, body: String },
}

/// The products a shop sells, their categories and reviews.
#[accord::service(name = "catalog", version = "0.3.0")]
pub trait Catalog {
    /// List products, a page at a time.
    #[request(method = "GET", path = "/products")]
    async fn list_products(&self, #[query] page: PageQuery) -> Page<Product>;

    /// List the reviews of a product, a page at a time.
    #[request(method = "GET", path = "/products/{sku}/reviews")]
    async fn list_reviews(
        &self,
        sku: String,
        #[query] page: PageQuery,
    ) -> Result<Page<Review>, CatalogError>;

    /// Add or replace a product.
    #[request(method = "PUT", path = "/products/{sku}")]
    async fn put_product(&self, sku: String, product: Product) -> Result<Product, CatalogError>;

    /// The category tree.
    #[request(method = "GET", path = "/categories")]
    async fn categories(&self) -> Vec<Category>;

    /// Published when a product is added or changed.
    #[event(topic = "catalog.product_changed", key = "sku")]
    async fn product_changed(&self, event: ProductChanged);
}
