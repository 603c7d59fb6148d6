use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, accord::Scalar)]
pub struct Tags(pub Vec<String>);

fn main() {}
