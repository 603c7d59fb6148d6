use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, accord::ServiceError)]
#[status(400)]
pub enum ItemError {
    #[status(404)]
    NotFound,
}

fn main() {}
