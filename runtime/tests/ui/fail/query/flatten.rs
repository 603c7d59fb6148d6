use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Paging {
    pub limit: u32,
    pub after: Option<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
pub struct Filter {
    pub name: Option<String>,
    #[serde(flatten)]
    pub paging: Paging,
}

fn main() {}
