//! Types that travel as text: `#[derive(accord::Scalar)]` on newtypes and
//! unit enums, `impl accord::Scalar` by hand, `#[derive(accord::Query)]`
//! with scalar, `Option` and list fields, and event keys on newtype,
//! enum and `Option` fields.

use std::collections::BTreeSet;

use accord::prelude::*;

/// A tuple newtype: written as its field.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, accord::Scalar)]
pub struct OrderId(pub u64);

/// A one-field struct written as its field.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, accord::Scalar)]
#[serde(transparent)]
pub struct Sku {
    pub value: String,
}

/// A generic newtype: a scalar when its field is.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, accord::Scalar)]
#[serde(transparent)]
pub struct Id<T>(pub T);

/// A newtype of a newtype.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, accord::Scalar)]
pub struct ParcelId(pub OrderId);

/// Unit variants, written as their names.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, accord::Scalar)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Placed,
    Shipped,
    #[serde(rename = "gone")]
    Cancelled,
    #[serde(skip)]
    #[allow(dead_code)]
    Internal(Vec<u8>),
}

/// Written as a string by its own `Serialize`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(into = "String", try_from = "String")]
pub struct Version {
    pub major: u16,
    pub minor: u16,
}

impl From<Version> for String {
    fn from(v: Version) -> String {
        format!("{}.{}", v.major, v.minor)
    }
}

impl TryFrom<String> for Version {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let (major, minor) = text.split_once('.').ok_or("expected MAJOR.MINOR")?;
        Ok(Version {
            major: major.parse().map_err(|_| "bad major")?,
            minor: minor.parse().map_err(|_| "bad minor")?,
        })
    }
}

/// The same, derived through the types `into` and `try_from` name.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, accord::Scalar)]
#[serde(into = "String", try_from = "String")]
pub struct Revision {
    pub version: Version,
}

impl From<Revision> for String {
    fn from(r: Revision) -> String {
        r.version.into()
    }
}

impl TryFrom<String> for Revision {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Ok(Revision {
            version: text.try_into()?,
        })
    }
}

/// A hand-written scalar.
impl accord::Scalar for Version {}

/// Every kind of query field.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema, accord::Query)]
pub struct Filter {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default)]
    pub statuses: Vec<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<OrderId>>,
    #[serde(default)]
    pub tags: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Version>,
    /// Not on the wire.
    #[serde(skip)]
    pub cache: Vec<Vec<u8>>,
}

/// A generic query struct.
#[derive(Debug, Serialize, Deserialize, JsonSchema, accord::Query)]
pub struct Page<T> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<T>,
    #[serde(default)]
    pub limit: u16,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Order {
    pub id: OrderId,
    pub status: Status,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Placed {
    pub order: OrderId,
    pub status: Status,
    #[serde(rename = "customerRef", default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    pub lines: Vec<String>,
}

#[accord::service(name = "wire", version = "1.0.0")]
pub trait Wire {
    #[request(method = "GET", path = "/orders/{id}")]
    async fn get(&self, id: OrderId) -> Order;

    #[request(method = "GET", path = "/skus/{sku}/parcels/{parcel}/{n}")]
    async fn parcel(&self, sku: Sku, parcel: ParcelId, n: Id<u32>) -> Order;

    #[request(method = "GET", path = "/orders")]
    async fn list(
        &self,
        #[query] filter: Filter,
        #[header("x-version")] version: Version,
        #[header("x-revision")] revision: Option<Revision>,
        #[header("x-status")] status: Option<Status>,
    ) -> Vec<Order>;

    #[request(method = "GET", path = "/pages")]
    async fn page(&self, #[query] page: Page<OrderId>) -> Vec<Order>;

    #[request(method = "PUT", path = "/orders/{id}/status", status = 204)]
    async fn set_status(&self, id: OrderId, status: Status);

    #[event(key = "order")]
    async fn placed(&self, event: Placed);

    #[event(key = "status")]
    async fn status_changed(&self, event: Placed);

    #[event(key = "customer")]
    async fn customer_placed(&self, event: Placed);
}

fn main() {
    let _descriptor = Wire::descriptor();
}
