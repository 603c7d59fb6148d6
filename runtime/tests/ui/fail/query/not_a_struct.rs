use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
pub enum Filter {
    ByName { name: String },
    ByTag { tag: String },
}

fn main() {}
