#[accord::service(version = "1.0.0")]
pub trait Orders {
    #[request(method = "HEAD", path = "/orders/{id}")]
    async fn exists(&self, id: u64) -> bool;
}

fn main() {}
