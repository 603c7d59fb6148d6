#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "GET", path = "/items/{id}")]
    async fn by_id(&self, id: u64) -> String;

    #[request(method = "GET", path = "/items/{name}")]
    async fn by_name(&self, name: String) -> String;
}

fn main() {}
