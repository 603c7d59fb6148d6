#[accord::service(version = "1.0.0")]
pub trait Ping {
    #[request]
    async fn ping(&self);

    async fn pong(&self);
}

fn main() {}
