//! accord turns one annotated trait into a service contract.
//!
//! Each method of a `#[accord::service]` trait is a **request** (a call with
//! a reply, served over HTTP or another request transport) or an **event**
//! (published to a broker). From the trait accord generates:
//!
//! - `{Trait}Server`: a trait with the request methods, which a service
//!   implements and turns into a [`Dispatcher`] (`into_dispatcher`, with
//!   interceptors added by [`Dispatcher::layer`]) or an axum router
//!   (`into_router`); a method may take the call's [`Context`];
//! - `{Trait}Client`: a typed client over any [`Transport`]
//!   ([`HttpTransport`] by default, [`InProcess`] for tests);
//! - `{Trait}Publisher`: typed publishing of the event methods on any
//!   [`Broker`] ([`MemoryBroker`] in process; NATS and RabbitMQ backends);
//! - `{Trait}Subscriber`: a trait with the event methods, which a service
//!   implements and runs for a group with a [`Subscriber`];
//! - `{Trait}`: a marker type whose `descriptor()` is the contract as data
//!   ([`ServiceDescriptor`]), from which [`spec::openapi`] builds the OpenAPI
//!   3.1 document the server serves at `GET /openapi.json`.
//!
//! ```text
//! use accord::prelude::*;
//!
//! #[accord::service(name = "orders", version = "1.0.0")]
//! pub trait Orders {
//!     #[request(method = "GET", path = "/orders/{id}")]
//!     async fn get_order(&self, id: u64) -> Result<Order, OrderError>;
//! }
//! ```
//!
//! What a running service reports, its trace context (joined to
//! OpenTelemetry with the `otel` feature) and its metrics, is described in
//! [`observe`].
//!
//! Arguments carried as text must be written as one string, number or
//! boolean: a `{name}` path parameter is a [`Scalar`], a `#[header("...")]`
//! argument a [`Scalar`] or an `Option` of one, and a `#[query]` argument a
//! struct deriving [`Query`], whose fields are scalars, `Option`s of one or
//! `Vec`s of them. An event's `key = "..."` names a field of the payload as
//! written in Rust (not its serialized name), of a [`Scalar`] type or an
//! `Option` of one (`None` publishes without a key). The standard scalars
//! implement [`Scalar`]; `#[derive(accord::Scalar)]` implements it for a
//! newtype or an enum of unit variants. A binding that breaks these rules is
//! a compile error at the offending type that names the fix.

pub mod auth;
pub mod broker;
pub mod context;
pub mod deadline;
pub mod descriptor;
pub mod dispatch;
pub mod error;
pub mod events;
pub mod http;
pub mod observe;
mod params;
pub mod resilience;
pub mod spec;
pub mod tls;
pub mod trace;
pub mod transport;
pub mod wire;

pub use accord_macros::{service, Query, Scalar, ServiceError};
pub use broker::{Broker, ConsumeEvents, MemoryBroker, Publish, RequestReply, Subscribe};
pub use context::{Context, EventAttributes};
pub use descriptor::ServiceDescriptor;
pub use dispatch::{CallService, Dispatcher};
pub use error::{CallError, FieldError, Location, NoError, Problem, ProtocolError, ServiceError};
pub use events::{EventCall, EventId, EventService, PublishError, Subscriber, SubscriberHandle};
pub use http::HttpServer;
pub use params::{Query, Scalar};
pub use transport::{
    serve_requests, BrokerTransport, Credentials, HttpTransport, HttpTransportBuilder,
    HttpTransportError, InProcess, InvalidBaseUrl, Transport, TransportError,
};

/// A contract: the marker type `#[accord::service]` generates for each trait.
pub trait Service: 'static {
    /// The contract as data.
    fn descriptor() -> &'static ServiceDescriptor;
}

/// What a contract crate needs in scope.
pub mod prelude {
    pub use crate::{CallError, Context, Problem, Service, ServiceError};
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
}

/// Items generated code refers to. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::broker::{BrokerError, ConsumeEvents, Publish};
    pub use crate::context::Context;
    pub use crate::descriptor::{AuthScheme, DescriptorBuilder, RequestSpec, ServiceDescriptor};
    pub use crate::dispatch::{handler, Dispatcher, Handler};
    pub use crate::error::{CallError, ErrorVariantInfo, NoError, ServiceError};
    pub use crate::events::{
        event_handler, key_text, EventHandler, EventHandlers, EventId, EventPublisher, EventRoute,
        PublishError, Subscriber, SubscriberHandle,
    };
    pub use crate::http::HttpServer;
    pub use crate::params::{
        assert_event_key, assert_header_value, assert_path_param, assert_query, assert_query_field,
        assert_scalar, EventKey, HeaderValue, PathParam, Query, QueryField, Scalar,
    };
    pub use crate::transport::{ClientCore, Credentials, HttpTransport, InvalidBaseUrl, Transport};
    pub use crate::wire::{Call, Credential, Rejection, Reply, Route, Segment};
    pub use crate::Service;
    pub use axum;
    pub use http::Method;
    pub use schemars;
    pub use serde;
    pub use serde_json;

    pub use core::future::Future;
    pub use core::marker::Send;
    pub use core::option::Option;
    pub use core::result::Result;
    pub use core::time::Duration;
    pub use std::sync::{Arc, OnceLock};
    pub use std::vec::Vec;

    /// Every type in a contract signature implements this.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be used in an accord contract",
        label = "this type must derive `Serialize`, `Deserialize` and `JsonSchema`",
        note = "every type in a contract signature needs serde's `Serialize` and `Deserialize` and schemars 1.x `JsonSchema`, and must be `Send + Sync + 'static`"
    )]
    pub trait ContractType:
        serde::Serialize
        + serde::de::DeserializeOwned
        + schemars::JsonSchema
        + Send
        + Sync
        + 'static
    {
    }

    impl<T> ContractType for T where
        T: serde::Serialize
            + serde::de::DeserializeOwned
            + schemars::JsonSchema
            + Send
            + Sync
            + 'static
    {
    }

    /// Fails to compile, at `T`'s span, unless `T` may appear in a contract.
    pub const fn assert_contract_type<T: ContractType>() {}

    /// Fails to compile, at `E`'s span, unless `E` can be an event
    /// handler's error: its `Debug` text is the reason a failed attempt is
    /// retried or dead-lettered with.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be an event handler's error",
        note = "an event handler's error type must implement `Debug` (its text is the retry and dead-letter reason) and be `Send + 'static`"
    )]
    pub trait EventError: core::fmt::Debug + Send + 'static {}

    impl<E: core::fmt::Debug + Send + 'static> EventError for E {}

    /// Fails to compile, at `E`'s span, unless `E` is an event handler error.
    pub const fn assert_event_error<E: EventError>() {}

    /// Implemented only by [`Context`]: an argument whose type is named
    /// `Context` is the call's context.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not `accord::Context`",
        label = "an argument of a type named `Context` is taken for the call's context",
        note = "write `&accord::Context` to receive the call's context; to carry a type of your own named `Context` on the wire, import it under another name (`use my::Context as MyContext;`)"
    )]
    pub trait IsContext: Sized {
        /// The context, as the argument's type.
        fn context_ref(context: &Context) -> &Self;

        /// A clone of the context, as the argument's type.
        fn context_owned(context: &Context) -> Self;
    }

    impl IsContext for Context {
        fn context_ref(context: &Context) -> &Self {
            context
        }

        fn context_owned(context: &Context) -> Self {
            context.clone()
        }
    }

    /// Fails to compile, at `E`'s span, unless `E` is a service error.
    pub const fn assert_service_error<E: ServiceError>() {}
}
