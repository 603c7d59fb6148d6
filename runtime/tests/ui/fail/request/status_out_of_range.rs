#[accord::service(version = "1.0.0")]
pub trait Ping {
    #[request(method = "GET", path = "/ping", status = 700)]
    async fn ping(&self) -> String;
}

fn main() {}
