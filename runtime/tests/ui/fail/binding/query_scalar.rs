#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "GET", path = "/items")]
    async fn list_items(&self, #[query] limit: u32) -> Vec<String>;
}

fn main() {}
