//! Serving a contract over HTTP.
//!
//! [`HttpServer`] builds an axum [`Router`](axum::Router) from a
//! [`Dispatcher`](crate::Dispatcher), so tower layers and extra routes work
//! as usual. Each declared method and path gets a route. A path with no
//! operation answers 404 and a method the path does not declare answers 405
//! with `Allow`, both as problem documents. `GET /openapi.json` serves the
//! contract's OpenAPI 3.1 document and `GET /asyncapi.json` its AsyncAPI 3.0
//! document.
//!
//! [`serve`] (or [`ServeOptions::serve`]) serves a router on a TCP listener,
//! over HTTP/1.1 and HTTP/2, until a shutdown signal: over plain TCP (h2c),
//! or over TLS with [`ServeOptions::tls`] and a [`ServerTls`] from PEM files,
//! optionally asking clients for a certificate (mutual TLS) that then
//! reaches each request as a [`ClientCertificate`].
//!
//! # Limits
//!
//! No client, however slow, silent or numerous, holds the server without
//! bound. Each stage of an exchange has a limit with a default a production
//! service can keep:
//!
//! | stage | default | set with | past it |
//! |---|---|---|---|
//! | request head (slowloris) | 10 s | [`ServeOptions::header_read_timeout`] | connection closed |
//! | TLS handshake | within the first request head's 10 s | [`ServeOptions::header_read_timeout`] | connection closed |
//! | between requests (keep-alive) | 60 s | [`ServeOptions::idle_timeout`] | connection closed |
//! | open connections | 10,000 | [`ServeOptions::max_connections`] | new ones wait in the accept backlog |
//! | requests in flight | 1,024 | [`HttpServer::concurrency_limit`] | `503` + `Retry-After` |
//! | request body size | 2 MiB | [`HttpServer::body_limit`] | `413` |
//! | request body read | 30 s | [`HttpServer::body_read_timeout`] | `408`, connection closed |
//! | handler | 30 s | [`HttpServer::request_timeout`] | `504`, handler dropped |
//! | graceful shutdown | 30 s | [`ServeOptions::shutdown_grace`] | connections closed, `serve` returns |
//!
//! The connection limits act in [`serve`]; the request limits are layers of
//! the router [`HttpServer`] builds, so they hold whoever serves it.

mod connection;
mod limits;
mod router;
mod serve;
mod tls;

pub use router::{
    HttpServer, ASYNCAPI_PATH, DEFAULT_BODY_LIMIT, DEFAULT_BODY_READ_TIMEOUT,
    DEFAULT_CONCURRENCY_LIMIT, DEFAULT_REQUEST_TIMEOUT, DEFAULT_RETRY_AFTER, OPENAPI_PATH,
};
pub use serve::{
    serve, ServeOptions, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_SHUTDOWN_GRACE,
};
pub use tls::{ClientCertificate, ServerTls, ServerTlsBuilder, DEFAULT_ALPN_PROTOCOLS};
