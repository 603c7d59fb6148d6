//! The two connections (publishing, consuming), each opened again after
//! it dropped, with a growing delay between failed attempts.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use lapin::tcp::OwnedTLSConfig;
use lapin::types::LongString;
use lapin::{Channel, Connection, ConnectionProperties};
use tokio::sync::watch;
use tokio::time::Instant;

use super::{lapin_error, lock, request, AmqpBroker, AmqpNames, AmqpOptions, Inner};
use crate::broker::reconnect::backoff;
use crate::broker::BrokerError;
use crate::tls::ClientTls;

/// The TLS configuration of RabbitMQ's client for `url`: `tls`'s for an
/// `amqps://` URL (the platform's store without it); an error naming the
/// problem for TLS settings on a plain `amqp://` URL, or settings the client
/// cannot take.
fn tls_config(url: &str, tls: Option<&ClientTls>) -> Result<OwnedTLSConfig, BrokerError> {
    let secure = url
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("amqps://"));
    match tls {
        None => Ok(OwnedTLSConfig::default()),
        Some(_) if !secure => Err(BrokerError::Connection(
            "TLS settings were given for a plain amqp:// URL: use amqps:// to connect over TLS"
                .to_owned(),
        )),
        Some(tls) => tls
            .lapin_config()
            .map_err(|e| BrokerError::Connection(format!("cannot connect to RabbitMQ: {e}"))),
    }
}

/// A connection that is opened again after it dropped.
pub(super) struct Link {
    role: &'static str,
    pub(super) current: Mutex<Option<Arc<Connection>>>,
    reconnect: tokio::sync::Mutex<Reconnect>,
}

#[derive(Default)]
struct Reconnect {
    failures: u32,
    not_before: Option<Instant>,
    last_error: Option<BrokerError>,
}

impl Link {
    pub(super) fn new(role: &'static str) -> Self {
        Link {
            role,
            current: Mutex::new(None),
            reconnect: tokio::sync::Mutex::new(Reconnect::default()),
        }
    }

    pub(super) fn live(&self) -> Option<Arc<Connection>> {
        lock(&self.current)
            .as_ref()
            .filter(|c| c.status().connected())
            .cloned()
    }
}

impl AmqpBroker {
    /// Connects to the RabbitMQ at `url` (for example
    /// `amqp://guest:guest@127.0.0.1:5672/%2f`) and declares the exchanges.
    /// Call it on a Tokio runtime: the connections run on it.
    pub async fn connect(url: &str) -> Result<AmqpBroker, BrokerError> {
        AmqpBroker::connect_with(url, AmqpOptions::default()).await
    }

    /// Connects with `options`.
    pub async fn connect_with(url: &str, options: AmqpOptions) -> Result<AmqpBroker, BrokerError> {
        // A TLS setting that cannot work fails here, not at each reconnect.
        tls_config(url, options.tls.as_ref())?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            BrokerError::Connection("AmqpBroker::connect must be called on a Tokio runtime".into())
        })?;
        let names = AmqpNames::new(options.prefix.clone());
        let broker = AmqpBroker {
            inner: Arc::new(Inner {
                url: url.to_owned(),
                options,
                names,
                runtime,
                closed: watch::Sender::new(false),
                publish_link: Link::new("publish"),
                consume_link: Link::new("consume"),
                publisher: Mutex::new(None),
                publisher_build: tokio::sync::Mutex::new(()),
                requester: request::RequesterSlot::default(),
                retry_queues: Mutex::new(HashSet::new()),
                groups: Mutex::new(BTreeSet::new()),
                connections_opened: AtomicUsize::new(0),
            }),
        };
        broker.publisher().await?;
        Ok(broker)
    }

    /// The link's connection, opened again if it dropped. While the broker
    /// cannot be reached, attempts are spaced by a growing delay, and calls
    /// in between fail at once with the last error.
    pub(super) async fn connection(&self, link: &Link) -> Result<Arc<Connection>, BrokerError> {
        self.check_open()?;
        if let Some(connection) = link.live() {
            return Ok(connection);
        }
        let mut reconnect = link.reconnect.lock().await;
        if let Some(connection) = link.live() {
            return Ok(connection);
        }
        if let Some(not_before) = reconnect.not_before {
            if Instant::now() < not_before {
                return Err(reconnect.last_error.clone().unwrap_or_else(|| {
                    BrokerError::Connection("the broker cannot be reached".into())
                }));
            }
        }
        match self.open_connection(link.role).await {
            Ok(connection) => {
                if reconnect.failures > 0 {
                    tracing::info!(
                        role = link.role,
                        attempts = reconnect.failures + 1,
                        "connected to RabbitMQ again"
                    );
                }
                *reconnect = Reconnect::default();
                self.inner
                    .connections_opened
                    .fetch_add(1, Ordering::Relaxed);
                let connection = Arc::new(connection);
                *lock(&link.current) = Some(connection.clone());
                Ok(connection)
            }
            Err(error) => {
                reconnect.failures += 1;
                reconnect.not_before = Some(
                    Instant::now()
                        + backoff(reconnect.failures, self.inner.options.max_reconnect_delay),
                );
                reconnect.last_error = Some(error.clone());
                Err(error)
            }
        }
    }

    pub(super) async fn open_connection(&self, role: &str) -> Result<Connection, BrokerError> {
        let options = &self.inner.options;
        let properties = ConnectionProperties::default().with_connection_name(LongString::from(
            format!("{} ({role})", options.connection_name),
        ));
        let tls = tls_config(&self.inner.url, options.tls.as_ref())?;
        let runtime = lapin::runtime::default_runtime()
            .map_err(|e| BrokerError::Connection(format!("cannot connect to RabbitMQ: {e}")))?;
        let connection = tokio::time::timeout(
            options.connect_timeout,
            Connection::connect_with_config(&self.inner.url, properties, tls, runtime),
        )
        .await
        .map_err(|_| {
            BrokerError::Connection(format!(
                "connecting to RabbitMQ took longer than {:?}",
                options.connect_timeout
            ))
        })?
        .map_err(|e| {
            let hint = crate::tls::hint(&e.to_string());
            BrokerError::Connection(format!("cannot connect to RabbitMQ: {e}{hint}"))
        })?;
        if self.is_closed() {
            let _ = connection.close(200, "OK".into()).await;
            return Err(BrokerError::Closed);
        }
        self.answered(
            "declaring the exchanges",
            self.declare_exchanges(&connection),
        )
        .await?;
        Ok(connection)
    }

    /// `operation`, or an error naming `what` when RabbitMQ has not answered
    /// within [`AmqpOptions::operation_timeout`]. Every exchange with the
    /// broker other than a publish's confirm (which has its own bound) goes
    /// through here, so a broker that keeps the connection open and stops
    /// answering fails the operation instead of hanging it.
    pub(super) async fn answered<T>(
        &self,
        what: &str,
        operation: impl std::future::Future<Output = Result<T, BrokerError>>,
    ) -> Result<T, BrokerError> {
        let limit = self.inner.options.operation_timeout;
        match tokio::time::timeout(limit, operation).await {
            Ok(outcome) => outcome,
            Err(_) => Err(BrokerError::Connection(format!(
                "{what}: RabbitMQ did not answer within {limit:?}: the node may be stalled or \
                 overloaded, or blocking this connection under a memory or disk alarm \
                 (`rabbitmq-diagnostics check_local_alarms` shows one); \
                 AmqpOptions::operation_timeout sets this wait"
            ))),
        }
    }
}

pub(super) async fn open_channel(connection: &Connection) -> Result<Channel, BrokerError> {
    connection
        .create_channel()
        .await
        .map_err(|e| lapin_error("opening a channel", e))
}
