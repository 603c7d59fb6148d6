//! The orders calls over tarpc: the contract's own types, as JSON
//! (tokio-serde's JSON format) in length-delimited frames over one TCP
//! connection, tarpc's serde transport.
//!
//! JSON rather than bincode because the contract's types use serde
//! features that need a self-describing format (internally, adjacently and
//! untagged enums, a flattened struct); JSON is also what accord sends, so
//! the two differ in the framework and the framing, not in the encoding.

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::{Future, StreamExt};
use orders_contract::{NewOrder, Order, OrderError, OrderId};
use tarpc::context::Context;
use tarpc::server::{BaseChannel, Channel};
use tarpc::tokio_serde::formats::Json;
use tarpc::tokio_util::codec::length_delimited::LengthDelimitedCodec;
use tokio::net::{TcpListener, TcpStream};

use crate::work::Work;

/// The two calls, on the contract's types.
#[tarpc::service]
pub trait TarpcOrders {
    /// Prices an order and gives it an id.
    async fn place_order(order: NewOrder) -> Result<Order, OrderError>;
    /// A stored order.
    async fn get_order(id: OrderId) -> Result<Order, OrderError>;
}

/// The service: the shared work.
#[derive(Debug, Clone, Default)]
pub struct Orders {
    work: Arc<Work>,
}

impl TarpcOrders for Orders {
    async fn place_order(self, _: Context, order: NewOrder) -> Result<Order, OrderError> {
        self.work.place(order)
    }

    async fn get_order(self, _: Context, id: OrderId) -> Result<Order, OrderError> {
        self.work.get(id)
    }
}

async fn spawn(call: impl Future<Output = ()> + Send + 'static) {
    tokio::spawn(call);
}

/// Serves every connection `listener` accepts, each call in a task of its
/// own, until the task running this is dropped.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    let service = Orders::default();
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let transport = tarpc::serde_transport::new(
            LengthDelimitedCodec::builder().new_framed(stream),
            Json::default(),
        );
        let connection = BaseChannel::with_defaults(transport)
            .execute(service.clone().serve())
            .for_each(spawn);
        tokio::spawn(connection);
    }
}

/// A client over one new connection to `addr`; its clones share it.
pub async fn connect(addr: SocketAddr) -> std::io::Result<TarpcOrdersClient> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let transport = tarpc::serde_transport::new(
        LengthDelimitedCodec::builder().new_framed(stream),
        Json::default(),
    );
    Ok(TarpcOrdersClient::new(tarpc::client::Config::default(), transport).spawn())
}
