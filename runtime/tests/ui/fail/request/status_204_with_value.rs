#[accord::service(version = "1.0.0")]
pub trait Orders {
    #[request(method = "POST", path = "/orders/{id}/ship", status = 204)]
    async fn ship(&self, id: u64) -> String;
}

fn main() {}
