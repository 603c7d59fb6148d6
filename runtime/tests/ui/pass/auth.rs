//! Authentication on a contract: a service default, a request with its own
//! scheme and scopes, a public request, and events (which carry none).

use accord::descriptor::{AuthRequirement, AuthScheme};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Opened {
    pub by: String,
}

#[accord::service(name = "vault", version = "1.0.0", auth = "bearer", api_key_header = "x-vault-key")]
pub trait Vault {
    #[request(method = "GET", path = "/secrets/{name}", scopes = ["vault:read"])]
    async fn secret(&self, name: String) -> String;

    #[request(method = "PUT", path = "/secrets/{name}", auth = "api_key", scopes = ["vault:write", "vault:admin"])]
    async fn store(&self, name: String, value: String);

    #[request(method = "GET", path = "/health", auth = "none")]
    async fn health(&self) -> String;

    #[event(topic = "vault.opened")]
    async fn opened(&self, event: Opened);
}

fn main() {
    let descriptor = Vault::descriptor();
    assert_eq!(descriptor.auth, Some(AuthScheme::Bearer));
    let auth = |name: &str| {
        descriptor
            .requests()
            .find(|(op, _)| op.name == name)
            .and_then(|(_, request)| request.auth.clone())
    };
    assert_eq!(
        auth("secret"),
        Some(AuthRequirement {
            scheme: AuthScheme::Bearer,
            scopes: vec!["vault:read".to_owned()],
        })
    );
    assert_eq!(
        auth("store"),
        Some(AuthRequirement {
            scheme: AuthScheme::api_key("x-vault-key"),
            scopes: vec!["vault:write".to_owned(), "vault:admin".to_owned()],
        })
    );
    assert_eq!(auth("health"), None);
}
