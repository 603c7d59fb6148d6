#[accord::service(name = "ping", version = "1.0.0", name = "pong")]
pub trait Ping {
    #[request]
    async fn ping(&self);
}

fn main() {}
