use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, accord::Scalar)]
pub struct Nothing;

fn main() {}
