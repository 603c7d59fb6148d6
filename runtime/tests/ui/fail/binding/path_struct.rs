use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Address {
    pub street: String,
    pub city: String,
}

#[accord::service(version = "1.0.0")]
pub trait Parcels {
    #[request(method = "GET", path = "/parcels/{to}")]
    async fn parcels(&self, to: Address) -> Vec<u64>;
}

fn main() {}
