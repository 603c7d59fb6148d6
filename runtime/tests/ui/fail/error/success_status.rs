use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, accord::ServiceError)]
pub enum ItemError {
    #[status(200)]
    NotFound,
}

fn main() {}
