#[accord::service(version = "1.0.0")]
pub trait Items {
    #[event(topic = "items.added")]
    async fn added(&self, #[header("x-name")] name: String);
}

fn main() {}
