#[accord::service(version = "1.0.0")]
pub trait Items {
    #[event(topic = "items.changed")]
    async fn added(&self, name: String);

    #[event(topic = "items.changed")]
    async fn removed(&self, name: String);
}

fn main() {}
