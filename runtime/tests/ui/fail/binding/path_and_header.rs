#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "GET", path = "/items/{id}")]
    async fn item(&self, #[header("x-id")] id: u64) -> String;
}

fn main() {}
