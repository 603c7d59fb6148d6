use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct OrderPlaced {
    pub order_id: u64,
    pub skus: Vec<String>,
}

#[accord::service(version = "1.0.0")]
pub trait Orders {
    #[event(topic = "orders.placed", key = "skus")]
    async fn placed(&self, event: OrderPlaced);
}

fn main() {}
