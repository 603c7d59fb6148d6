use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, accord::Scalar)]
pub struct Money {
    pub cents: u64,
    pub currency: String,
}

fn main() {}
