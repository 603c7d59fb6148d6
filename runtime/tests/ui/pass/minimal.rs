//! The smallest contract: one request with no arguments and no return.

#[accord::service(version = "0.1.0")]
pub trait Ping {
    #[request]
    async fn ping(&self);
}

struct Server;

impl PingServer for Server {
    async fn ping(&self) {}
}

fn main() {
    let _router = Server.into_router();
    let _client = PingClient::new("http://127.0.0.1:1").unwrap();
    assert_eq!(Ping::NAME, "ping");
    assert_eq!(Ping::VERSION, "0.1.0");
}
