#[accord::service(version = "1.0.0")]
pub struct Ping;

fn main() {}
