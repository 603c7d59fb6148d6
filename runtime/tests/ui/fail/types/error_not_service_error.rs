use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
pub enum ItemError {
    NotFound,
}

#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "GET", path = "/items/{id}")]
    async fn item(&self, id: u64) -> Result<String, ItemError>;
}

fn main() {}
