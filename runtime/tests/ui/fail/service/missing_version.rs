#[accord::service(name = "ping")]
pub trait Ping {
    #[request]
    async fn ping(&self);
}

fn main() {}
