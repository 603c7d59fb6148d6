#[accord::service(name = "vault", version = "1.0.0", auth = "oauth")]
pub trait Vault {
    #[request(method = "GET", path = "/secret")]
    async fn secret(&self) -> String;
}

fn main() {}
