//! Generated code names everything by absolute paths, so a contract compiles
//! without the standard prelude in scope. (schemars' derive does not, so the
//! schemas here are written by hand.)

#![no_implicit_prelude]

#[derive(::accord::prelude::Serialize, ::accord::prelude::Deserialize)]
pub struct Note {
    pub text: ::std::string::String,
    pub tags: ::std::vec::Vec<::std::string::String>,
}

#[derive(
    ::accord::prelude::Serialize,
    ::accord::prelude::Deserialize,
    ::accord::Scalar,
)]
pub struct NoteId(u64);

#[derive(
    ::accord::prelude::Serialize,
    ::accord::prelude::Deserialize,
    ::accord::Scalar,
)]
pub enum Shelf {
    Inbox,
    Archive,
}

#[derive(
    ::accord::prelude::Serialize,
    ::accord::prelude::Deserialize,
    ::accord::Query,
)]
pub struct NoteFilter {
    pub shelf: ::core::option::Option<Shelf>,
    pub tags: ::std::vec::Vec<::std::string::String>,
}

#[derive(
    ::core::fmt::Debug,
    ::accord::prelude::Serialize,
    ::accord::prelude::Deserialize,
    ::accord::ServiceError,
)]
pub enum NoteError {
    #[status(404)]
    NotFound { id: u64 },
    #[status(400)]
    Invalid(::std::string::String),
}

macro_rules! any_schema {
    ($ty:ty) => {
        impl ::accord::prelude::JsonSchema for $ty {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(::core::stringify!($ty))
            }

            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                ::core::default::Default::default()
            }
        }
    };
}

any_schema!(Note);
any_schema!(NoteError);
any_schema!(NoteId);
any_schema!(NoteFilter);

#[::accord::service(name = "notes", version = "1.0.0")]
pub trait Notes {
    #[request(method = "POST", path = "/notes", status = 201)]
    async fn create(&self, note: Note) -> ::core::result::Result<u64, NoteError>;

    #[request(method = "GET", path = "/notes/{id}")]
    async fn get(&self, id: u64) -> ::core::result::Result<Note, NoteError>;

    #[request(method = "GET", path = "/notes/by-id/{id}")]
    async fn get_by_id(&self, id: NoteId) -> ::core::result::Result<Note, NoteError>;

    #[request(method = "GET", path = "/notes")]
    async fn list(
        &self,
        #[header("x-owner")] owner: ::core::option::Option<::std::string::String>,
        #[query] filter: NoteFilter,
    ) -> ::std::vec::Vec<Note>;

    #[request(method = "DELETE", path = "/notes/{id}")]
    async fn delete(&self, context: &::accord::Context, id: u64);

    #[event(key = "text")]
    async fn created(&self, event: Note);

    #[event(topic = "notes.deleted")]
    async fn deleted(
        &self,
        id: u64,
        context: ::accord::Context,
    ) -> ::core::result::Result<(), NoteError>;
}

struct Server;

impl NotesServer for Server {
    async fn create(&self, _note: Note) -> ::core::result::Result<u64, NoteError> {
        ::core::result::Result::Ok(1)
    }

    async fn get(&self, id: u64) -> ::core::result::Result<Note, NoteError> {
        ::core::result::Result::Err(NoteError::NotFound { id })
    }

    async fn get_by_id(&self, id: NoteId) -> ::core::result::Result<Note, NoteError> {
        ::core::result::Result::Err(NoteError::NotFound { id: id.0 })
    }

    async fn list(
        &self,
        _owner: ::core::option::Option<::std::string::String>,
        _filter: NoteFilter,
    ) -> ::std::vec::Vec<Note> {
        ::std::vec::Vec::new()
    }

    async fn delete(&self, _context: &::accord::Context, _id: u64) {}
}

fn main() {
    let _router = Server.into_router();
    let _client = NotesClient::new("http://127.0.0.1:1");
    let _descriptor = Notes::descriptor();
}
