#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "DELETE", path = "/items/{id}")]
    async fn remove(&self, id: u64, reason: String);
}

fn main() {}
