use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Filter {
    pub name: Option<String>,
}

#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "GET", path = "/items")]
    async fn items(
        &self,
        #[query]
        #[header("x-filter")]
        filter: Filter,
    ) -> Vec<String>;
}

fn main() {}
