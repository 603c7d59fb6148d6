#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "GET", path = "/items")]
    async fn items(&self, context: &accord::Context, again: &accord::Context) -> Vec<String>;
}

fn main() {}
