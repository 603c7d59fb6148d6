use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, accord::Scalar)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Placed,
    Shipped { carrier: String },
    Cancelled,
}

fn main() {}
