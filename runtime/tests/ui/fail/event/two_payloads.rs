#[accord::service(version = "1.0.0")]
pub trait Items {
    #[event(topic = "items.renamed")]
    async fn renamed(&self, old: String, new: String);
}

fn main() {}
