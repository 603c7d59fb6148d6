#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "GET", path = "/items")]
    async fn list(&self, #[header("x-tags")] tags: Vec<String>) -> Vec<String>;
}

fn main() {}
