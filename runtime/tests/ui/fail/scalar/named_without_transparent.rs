use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, accord::Scalar)]
pub struct Sku {
    pub value: String,
}

fn main() {}
