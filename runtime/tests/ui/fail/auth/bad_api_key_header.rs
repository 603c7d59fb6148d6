#[accord::service(name = "vault", version = "1.0.0", auth = "api_key", api_key_header = "X-Vault-Key")]
pub trait Vault {
    #[request(method = "GET", path = "/secret")]
    async fn secret(&self) -> String;
}

fn main() {}
