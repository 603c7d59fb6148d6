#[accord::service(name = "vault", version = "1.0.0", auth = "bearer")]
pub trait Vault {
    #[request(method = "GET", path = "/secret")]
    async fn secret(&self, #[header("authorization")] token: String) -> String;
}

fn main() {}
