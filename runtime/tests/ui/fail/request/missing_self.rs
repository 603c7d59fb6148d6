#[accord::service(version = "1.0.0")]
pub trait Ping {
    #[request(method = "GET", path = "/ping")]
    async fn ping() -> String;
}

fn main() {}
