use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, accord::ServiceError)]
pub enum ItemError {
    #[status(404)]
    NotFound,
    Conflict {
        name: String,
    },
}

fn main() {}
