//! `accord` under another name: `crate = "..."` tells the macros where the
//! runtime is.

extern crate accord as renamed;

use renamed::prelude::{Deserialize, JsonSchema, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, renamed::ServiceError)]
#[accord(crate = "renamed")]
pub enum LookupError {
    #[status(404)]
    Missing,
}

#[derive(Serialize, Deserialize, JsonSchema, renamed::Scalar)]
#[accord(crate = "renamed")]
pub struct Word(String);

#[derive(Serialize, Deserialize, JsonSchema, renamed::Query)]
#[accord(crate = "renamed")]
pub struct Lookups {
    pub near: Option<Word>,
}

#[renamed::service(name = "lookup", version = "1.0.0", crate = "renamed")]
pub trait Lookup {
    #[request(method = "GET", path = "/words/{word}")]
    async fn define(&self, word: String) -> Result<String, LookupError>;

    #[request(method = "GET", path = "/words/{word}/near")]
    async fn near(&self, word: Word, #[query] lookups: Lookups) -> Vec<String>;

    #[event(topic = "lookup.missed")]
    async fn missed(&self, word: String);
}

struct Server;

impl LookupServer for Server {
    async fn define(&self, _word: String) -> Result<String, LookupError> {
        Err(LookupError::Missing)
    }

    async fn near(&self, _word: Word, _lookups: Lookups) -> Vec<String> {
        Vec::new()
    }
}

fn main() {
    let _router = Server.into_router();
    let _client = LookupClient::new("http://127.0.0.1:1").unwrap();
    let _descriptor = <Lookup as renamed::Service>::descriptor();
}
