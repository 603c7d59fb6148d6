#[accord::service(version = "1.0.0")]
pub trait Ping {
    #[request(method = "POST", path = "/ping")]
    #[event(topic = "ping.pinged")]
    async fn ping(&self, message: String);
}

fn main() {}
