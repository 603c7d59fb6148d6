#[accord::service(name = "vault", version = "1.0.0", auth = "bearer")]
pub trait Vault {
    #[request(method = "GET", path = "/secret", scopes = ["vault:read", "vault:read"])]
    async fn secret(&self) -> String;
}

fn main() {}
