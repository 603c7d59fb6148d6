#[accord::service(version = "1.0.0")]
pub trait Ping {
    #[request(method = "GET", path = "/ping")]
    async fn ping(&self) -> String;

    #[request(method = "GET", path = "/ping")]
    async fn ping_again(&self) -> String;
}

fn main() {}
