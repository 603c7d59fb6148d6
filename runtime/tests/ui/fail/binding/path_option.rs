#[accord::service(version = "1.0.0")]
pub trait Orders {
    #[request(method = "GET", path = "/orders/{id}")]
    async fn get(&self, id: Option<u64>) -> String;
}

fn main() {}
