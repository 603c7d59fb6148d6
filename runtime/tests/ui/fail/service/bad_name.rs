#[accord::service(name = "Ping Service", version = "1.0.0")]
pub trait Ping {
    #[request]
    async fn ping(&self);
}

fn main() {}
