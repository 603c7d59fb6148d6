#[derive(accord::ServiceError)]
pub enum ItemError {
    #[status(404)]
    NotFound,
}

fn main() {}
