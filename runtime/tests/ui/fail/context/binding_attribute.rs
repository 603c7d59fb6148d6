#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "GET", path = "/items")]
    async fn items(&self, #[header("x-context")] context: &accord::Context) -> Vec<String>;
}

fn main() {}
