#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "POST", path = "/items")]
    async fn add(&self, name: String, count: u32) -> u64;
}

fn main() {}
