#[accord::service(name = "vault", version = "1.0.0", auth = "bearer")]
pub trait Vault {
    #[event(topic = "vault.opened", auth = "bearer")]
    async fn opened(&self, by: String);
}

fn main() {}
