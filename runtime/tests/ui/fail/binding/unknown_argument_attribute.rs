#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "GET", path = "/items")]
    async fn items(&self, #[cookie("session")] session: String) -> Vec<String>;
}

fn main() {}
