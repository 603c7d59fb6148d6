#[accord::service(version = "1.0.0")]
pub trait Ping {
    #[request(method = "GET", path = "/new")]
    async fn new(&self);
}

fn main() {}
