use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct OrderId(pub u64);

#[accord::service(version = "1.0.0")]
pub trait Orders {
    #[request(method = "GET", path = "/orders/{id}")]
    async fn get(&self, id: OrderId) -> String;
}

fn main() {}
