#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "POST", path = "/items")]
    async fn add(&self, name: &str) -> u64;
}

fn main() {}
