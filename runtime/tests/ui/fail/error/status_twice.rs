use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, accord::ServiceError)]
pub enum ItemError {
    #[status(404)]
    #[status(410)]
    Gone,
}

fn main() {}
