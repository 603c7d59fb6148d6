use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct ItemAdded {
    pub id: u64,
    pub name: String,
}

#[accord::service(version = "1.0.0")]
pub trait Items {
    #[event(topic = "items.added", key = "item_id")]
    async fn added(&self, event: ItemAdded);
}

fn main() {}
