use crate::dispatch::Dispatcher;
use crate::error::ProtocolError;
use crate::wire::{Call, Reply, Route};

use super::{Transport, TransportError};

/// Calls a server's dispatch table directly, in the same process, with no
/// sockets and no HTTP: what a test uses to drive a server through its
/// typed client.
///
/// ```text
/// let client = OrdersClient::with_transport(InProcess::new(MyOrders::default().into_dispatcher()));
/// ```
#[derive(Debug, Clone)]
pub struct InProcess {
    dispatcher: Dispatcher,
}

impl InProcess {
    /// A transport that serves every call with `dispatcher`.
    pub fn new(dispatcher: Dispatcher) -> Self {
        InProcess { dispatcher }
    }
}

impl Transport for InProcess {
    async fn send(
        &self,
        route: &'static Route,
        call: Call,
        _timeout: std::time::Duration,
    ) -> Result<Reply, TransportError> {
        let served = self.dispatcher.descriptor();
        let matches = self.dispatcher.routes().get(route.index).is_some_and(|r| {
            std::ptr::eq(r, route) || (r.service == route.service && r.operation == route.operation)
        });
        if !matches {
            return Err(TransportError::Protocol(ProtocolError {
                status: None,
                reason: format!(
                    "this in-process transport serves `{}`, which has no operation `{}.{}`",
                    served.name, route.service, route.operation
                ),
                body_excerpt: String::new(),
                retry_after: None,
            }));
        }
        Ok(self.dispatcher.dispatch(route.index, call).await)
    }
}
