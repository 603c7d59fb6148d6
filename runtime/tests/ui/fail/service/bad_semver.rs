#[accord::service(name = "ping", version = "1.0")]
pub trait Ping {
    #[request]
    async fn ping(&self);
}

fn main() {}
