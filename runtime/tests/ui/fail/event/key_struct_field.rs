use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Customer {
    pub id: u64,
    pub name: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct OrderPlaced {
    pub order_id: u64,
    pub customer: Customer,
}

#[accord::service(version = "1.0.0")]
pub trait Orders {
    #[event(topic = "orders.placed", key = "customer")]
    async fn placed(&self, event: OrderPlaced);
}

fn main() {}
