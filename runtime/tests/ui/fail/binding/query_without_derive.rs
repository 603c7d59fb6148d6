use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Filter {
    pub limit: Option<u32>,
}

#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "GET", path = "/items")]
    async fn list(&self, #[query] filter: Filter) -> Vec<String>;
}

fn main() {}
