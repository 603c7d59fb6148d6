#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "POST", path = "/items", status = "201")]
    async fn add(&self, name: String) -> u64;
}

fn main() {}
