#[accord::service(name = "vault", version = "1.0.0", auth = "bearer")]
pub trait Vault {
    #[request(method = "GET", path = "/health", auth = "none", scopes = ["vault:read"])]
    async fn health(&self) -> String;
}

fn main() {}
