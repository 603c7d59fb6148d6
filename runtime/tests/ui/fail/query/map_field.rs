use std::collections::HashMap;

use accord::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema, accord::Query)]
pub struct Filter {
    pub name: Option<String>,
    pub labels: HashMap<String, String>,
}

fn main() {}
