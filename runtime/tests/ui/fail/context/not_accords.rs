use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
pub struct Context {
    pub locale: String,
}

#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "POST", path = "/items")]
    async fn items(&self, context: Context) -> Vec<String>;
}

fn main() {}
