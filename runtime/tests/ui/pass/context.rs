//! A context argument, by reference or by value, anywhere in the list: the
//! server receives it; the client, the wire and the documents never see it.

use accord::Context;

#[accord::service(version = "1.0.0")]
pub trait Items {
    #[request(method = "GET", path = "/items/{id}")]
    async fn get_item(&self, context: &Context, id: u64) -> String;

    #[request(method = "POST", path = "/items")]
    async fn add_item(&self, name: String, context: accord::Context) -> u64;

    #[request(method = "GET", path = "/count")]
    async fn count(&self, #[header("x-tenant")] tenant: Option<String>, ctx: &accord::Context) -> u64;

    #[event(topic = "items.added")]
    async fn added(&self, ctx: &Context, name: String);
}

struct Server;

impl ItemsServer for Server {
    async fn get_item(&self, context: &Context, id: u64) -> String {
        format!("{id} {:?}", context.operation())
    }

    async fn add_item(&self, name: String, context: Context) -> u64 {
        name.len() as u64 + u64::from(context.deadline().is_some())
    }

    async fn count(&self, tenant: Option<String>, ctx: &Context) -> u64 {
        tenant.map_or(0, |t| t.len() as u64) + ctx.headers().len() as u64
    }
}

impl ItemsSubscriber for Server {
    async fn added(&self, ctx: &Context, name: String) {
        let _ = (ctx.event().map(|e| e.attempt), name);
    }
}

async fn client_calls(client: &ItemsClient) {
    let _ = client.get_item(&1).await;
    let _ = client.add_item(&"x".to_owned()).await;
    let _ = client.count(&None).await;
}

fn main() {
    let _router = Server.into_router();
    let _handlers = Server.into_event_handlers();
    let client = ItemsClient::new("http://127.0.0.1:1").unwrap();
    drop(client_calls(&client));
    let descriptor = Items::descriptor();
    let document = serde_json::to_string(&accord::spec::openapi(descriptor)).unwrap();
    assert!(!document.contains("context"));
}
