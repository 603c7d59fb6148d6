//! One contract using every feature the macros offer: path parameters, a
//! query struct, a header, a JSON body, a success status, `idempotent` on a
//! POST, `Result`, plain and unit returns, events with and without a key,
//! and the defaults of `#[request]` and `#[event]`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Item {
    pub id: u64,
    pub name: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct NewItem {
    pub name: String,
}

#[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
pub struct Filter {
    pub name: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct ItemAdded {
    pub shelf: String,
    pub item: Item,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct ShelfCleared {
    pub shelf: String,
}

/// What can go wrong.
#[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
pub enum ShelfError {
    /// No such item.
    #[status(404)]
    NotFound { id: u64 },
    #[status(409)]
    Conflict(String),
    #[status(503)]
    Unavailable,
}

/// A single failure mode as a struct.
#[derive(Debug, Serialize, Deserialize, JsonSchema, accord::ServiceError)]
#[status(429)]
pub struct TooManyRequests {
    pub retry_after: u32,
}

/// Shelves of items.
#[accord::service(name = "shelves", version = "2.1.0-beta.1")]
pub trait Shelves {
    /// Put an item on a shelf.
    #[request(
        method = "POST",
        path = "/shelves/{shelf}/items",
        status = 201,
        idempotent
    )]
    async fn add_item(
        &self,
        shelf: String,
        item: NewItem,
        #[header("idempotency-key")] key: Option<String>,
    ) -> Result<Item, ShelfError>;

    #[request(method = "GET", path = "/shelves/{shelf}/items/{id}")]
    async fn get_item(&self, shelf: String, id: u64) -> Result<Item, ShelfError>;

    #[request(method = "GET", path = "/shelves/{shelf}/items")]
    async fn list_items(&self, shelf: String, #[query] filter: Filter) -> Vec<Item>;

    #[request(method = "PUT", path = "/shelves/{shelf}/items/{id}")]
    async fn replace_item(&self, shelf: String, id: u64, item: NewItem) -> Result<(), ShelfError>;

    #[request(
        method = "PATCH",
        path = "/shelves/{shelf}/items/{id}",
        idempotent = false
    )]
    async fn rename_item(&self, shelf: String, id: u64, name: String) -> Item;

    #[request(method = "DELETE", path = "/shelves/{shelf}/items/{id}")]
    async fn remove_item(&self, shelf: String, id: u64) -> Result<(), TooManyRequests>;

    /// POST /count with the body `shelf`.
    #[request]
    async fn count(&self, shelf: String) -> u64;

    #[request(method = "GET", path = "/health")]
    async fn health(&self);

    /// Published on the `shelves.item_added` topic, keyed by shelf.
    #[event(key = "shelf")]
    async fn item_added(&self, event: ItemAdded);

    #[event(topic = "shelves.cleared")]
    async fn shelf_cleared(&self, event: ShelfCleared) -> Result<(), ShelfError>;
}

struct Server;

impl ShelvesServer for Server {
    async fn add_item(
        &self,
        _shelf: String,
        item: NewItem,
        _key: Option<String>,
    ) -> Result<Item, ShelfError> {
        Ok(Item {
            id: 1,
            name: item.name,
        })
    }

    async fn get_item(&self, _shelf: String, id: u64) -> Result<Item, ShelfError> {
        Err(ShelfError::NotFound { id })
    }

    async fn list_items(&self, _shelf: String, _filter: Filter) -> Vec<Item> {
        Vec::new()
    }

    async fn replace_item(
        &self,
        _shelf: String,
        _id: u64,
        _item: NewItem,
    ) -> Result<(), ShelfError> {
        Err(ShelfError::Unavailable)
    }

    async fn rename_item(&self, _shelf: String, id: u64, name: String) -> Item {
        Item { id, name }
    }

    async fn remove_item(&self, _shelf: String, _id: u64) -> Result<(), TooManyRequests> {
        Err(TooManyRequests { retry_after: 1 })
    }

    async fn count(&self, _shelf: String) -> u64 {
        0
    }

    async fn health(&self) {}
}

async fn call_everything(client: &ShelvesClient) {
    let shelf = String::from("a");
    let new = NewItem {
        name: String::from("b"),
    };
    let _: Result<Item, accord::CallError<ShelfError>> = client.add_item(&shelf, &new, &None).await;
    let _: Result<Item, accord::CallError<ShelfError>> = client.get_item(&shelf, &1).await;
    let filter = Filter {
        name: None,
        limit: Some(3),
    };
    let _: Result<Vec<Item>, accord::CallError<accord::NoError>> =
        client.list_items(&shelf, &filter).await;
    let _: Result<(), accord::CallError<ShelfError>> = client.replace_item(&shelf, &1, &new).await;
    let _: Result<Item, accord::CallError<accord::NoError>> =
        client.rename_item(&shelf, &1, &shelf).await;
    let _: Result<(), accord::CallError<TooManyRequests>> = client.remove_item(&shelf, &1).await;
    let _: Result<u64, accord::CallError<accord::NoError>> = client.count(&shelf).await;
    let _: Result<(), accord::CallError<accord::NoError>> = client.health().await;
}

fn main() {
    let _router = Server.into_router();
    let client = ShelvesClient::new("http://127.0.0.1:1").unwrap();
    let _ = call_everything(&client);
    assert_eq!(Shelves::NAME, "shelves");
    assert_eq!(Shelves::VERSION, "2.1.0-beta.1");
    let _descriptor = Shelves::descriptor();
}
