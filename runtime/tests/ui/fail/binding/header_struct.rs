use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Credentials {
    pub user: String,
    pub token: String,
}

#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "GET", path = "/items")]
    async fn list(&self, #[header("x-credentials")] credentials: Credentials) -> Vec<String>;
}

fn main() {}
