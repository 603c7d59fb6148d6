#[accord::service(version = "1.0.0")]
pub trait Items {
    #[event(subject = "items.added")]
    async fn added(&self, name: String);
}

fn main() {}
