#[accord::service(version = "1.0.0")]
pub trait Ping {
    #[request(method = "GET", route = "/ping")]
    async fn ping(&self);
}

fn main() {}
