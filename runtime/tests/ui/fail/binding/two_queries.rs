use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Filter {
    pub name: Option<String>,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Page {
    pub limit: Option<u32>,
}

#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "GET", path = "/items")]
    async fn items(&self, #[query] filter: Filter, #[query] page: Page) -> Vec<String>;
}

fn main() {}
