use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Item {
    pub name: String,
}

#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "GET", path = "/items/{id}")]
    async fn item(&self, id: u64) -> Item;
}

fn main() {}
