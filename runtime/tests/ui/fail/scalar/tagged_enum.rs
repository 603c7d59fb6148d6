use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, accord::Scalar)]
#[serde(tag = "status")]
pub enum Status {
    Placed,
    Shipped,
}

fn main() {}
