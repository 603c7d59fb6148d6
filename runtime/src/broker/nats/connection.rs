//! Connecting to NATS: the server list, the connection events that tell
//! pullers to ask again, and the JetStream check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_nats::jetstream::response::Response;
use async_nats::{Client, ConnectOptions, Event};
use tokio::sync::watch;

use super::{names, topology, Inner, NatsBroker, NatsOptions};
use crate::broker::BrokerError;

impl NatsBroker {
    /// Connects to the NATS server(s) at `url` (several comma-separated
    /// URLs of one cluster are tried in turn) with the default
    /// [`NatsOptions`], and declares the dead-letter stream.
    pub async fn connect(url: &str) -> Result<NatsBroker, BrokerError> {
        NatsBroker::connect_with(url, NatsOptions::default()).await
    }

    /// [`connect`](NatsBroker::connect) with `options`.
    pub async fn connect_with(url: &str, options: NatsOptions) -> Result<NatsBroker, BrokerError> {
        let servers: Vec<&str> = url
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let (connections, _) = watch::channel(0u64);
        let connections = Arc::new(connections);
        let events = connections.clone();
        let mut connect = ConnectOptions::new();
        if options.tls.is_some() || servers.iter().any(|s| s.starts_with("tls://")) {
            let tls = options
                .tls
                .clone()
                .unwrap_or_default()
                .build()
                .map_err(|e| {
                    BrokerError::Connection(format!("cannot connect to NATS at {url}: {e}"))
                })?;
            connect = connect.tls_client_config(tls.config).require_tls(true);
        }
        let client = connect
            .name("accord")
            .event_callback(move |event| {
                let events = events.clone();
                async move {
                    match event {
                        Event::Connected => {
                            tracing::info!("connected to NATS");
                            events.send_modify(|n| *n += 1);
                        }
                        Event::Disconnected => {
                            tracing::warn!("disconnected from NATS; reconnecting")
                        }
                        other => tracing::debug!(event = %other, "NATS connection event"),
                    }
                }
            })
            .connect(servers.as_slice())
            .await
            .map_err(|e| {
                let hint = crate::tls::hint(&e.to_string());
                BrokerError::Connection(format!("cannot connect to NATS at {url}: {e}{hint}"))
            })?;
        NatsBroker::start(client, options, connections).await
    }

    /// A broker over an existing connection, for connection settings
    /// accord does not set itself (credentials, TLS, a custom inbox).
    /// Pulls resume after a reconnect once their request expires (seconds)
    /// instead of at once, as accord cannot watch the connection's events.
    pub async fn from_client(
        client: Client,
        options: NatsOptions,
    ) -> Result<NatsBroker, BrokerError> {
        let (connections, _) = watch::channel(0u64);
        NatsBroker::start(client, options, Arc::new(connections)).await
    }

    pub(super) async fn start(
        client: Client,
        options: NatsOptions,
        connections: Arc<watch::Sender<u64>>,
    ) -> Result<NatsBroker, BrokerError> {
        names::check_topic(&options.dead_letter_subject).map_err(|e| {
            BrokerError::Rejected(format!("the dead-letter subject is not usable: {e}"))
        })?;
        let prefix = names::stream_prefix(&options.stream_prefix);
        let js = async_nats::jetstream::new(client.clone());
        // The account info request answers only where JetStream runs. Its
        // body differs between server versions; only success matters.
        let info: Response<serde_json::Value> = js.request("INFO", &()).await.map_err(|e| {
            BrokerError::Connection(format!(
                "JetStream is not available on this NATS server (start it with -js): {e}"
            ))
        })?;
        if let Response::Err { error } = info {
            return Err(BrokerError::Rejected(format!(
                "JetStream is not available to this connection's account: {error}"
            )));
        }
        let settings = options.settings();
        let dead_letters = topology::declare_stream(
            &js,
            &names::dead_letter_stream_name(&prefix),
            &format!("{}.>", options.dead_letter_subject),
            "accord: dead letters of every group".to_owned(),
            &settings,
            false,
        )
        .await?;
        Ok(NatsBroker {
            inner: Arc::new(Inner {
                client,
                js,
                options,
                prefix,
                settings,
                streams: Mutex::new(HashMap::new()),
                dead_letters,
                connections,
            }),
        })
    }

    pub(super) fn reconnects(&self) -> watch::Receiver<u64> {
        self.inner.connections.subscribe()
    }
}
