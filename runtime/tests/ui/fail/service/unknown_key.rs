#[accord::service(name = "ping", version = "1.0.0", title = "Ping")]
pub trait Ping {
    #[request]
    async fn ping(&self);
}

fn main() {}
