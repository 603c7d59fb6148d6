#[accord::service(version = "1.0.0")]
pub trait Echo {
    #[request(method = "POST", path = "/echo")]
    async fn echo<T>(&self, value: T) -> T;
}

fn main() {}
