#[accord::service(version = "1.0.0")]
pub trait Ping {
    #[request(method = "FETCH", path = "/ping")]
    async fn ping(&self);
}

fn main() {}
