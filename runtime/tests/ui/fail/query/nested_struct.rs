use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Range {
    pub from: u32,
    pub to: u32,
}

#[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
pub struct Filter {
    pub name: Option<String>,
    pub price: Range,
}

#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "GET", path = "/items")]
    async fn list(&self, #[query] filter: Filter) -> Vec<String>;
}

fn main() {}
