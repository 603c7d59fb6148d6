// Every mistake in a contract is reported in one build.

#[accord::service(name = "ping", version = "one")]
pub trait Ping {
    #[request(method = "FETCH", path = "/ping")]
    async fn ping(&self);

    #[request(method = "GET", path = "/items/{id}")]
    fn item(&self, id: u64, body: String);

    #[event(topic = "ping.pinged")]
    async fn pinged(&self);

    async fn forgotten(&self);
}

fn main() {}
