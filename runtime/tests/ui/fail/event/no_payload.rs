#[accord::service(version = "1.0.0")]
pub trait Items {
    #[event(topic = "items.changed")]
    async fn changed(&self);
}

fn main() {}
