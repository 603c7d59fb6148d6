#[accord::service(name = "vault", version = "1.0.0", auth = "bearer", api_key_header = "x-vault-key")]
pub trait Vault {
    #[request(method = "GET", path = "/secret")]
    async fn secret(&self) -> String;
}

fn main() {}
