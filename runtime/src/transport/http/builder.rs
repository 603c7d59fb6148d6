//! [`HttpTransportBuilder`]: TLS, HTTP versions, the connection pool and the
//! reply limits of an [`HttpTransport`].

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::Uri;
use rustls::ClientConfig;

use crate::error::DEFAULT_MAX_RETRY_AFTER;
use crate::resilience::{
    BreakerSettings, BulkheadSettings, DefenceSettings, Defences, RetrySettings,
};
use crate::tls::{ClientTls, Roots, TlsConfigError};

use super::error::Peer;
use super::pool::{self, PoolSettings, Versions};
use super::{HttpTransport, InvalidBaseUrl, Origin, DEFAULT_REPLY_LIMIT};

/// Builds an [`HttpTransport`]: `HttpTransport::builder(url)`, the settings,
/// then [`build`](Self::build).
///
/// | setting | default |
/// |---|---|
/// | trusted roots for `https://` | [`Roots::Platform`]: [`roots`](Self::roots), [`ca_pem`](Self::ca_pem) |
/// | client certificate (mutual TLS) | none: [`client_identity_pem`](Self::client_identity_pem) |
/// | HTTP version | HTTP/2 when an `https://` server picks it by ALPN, else HTTP/1.1: [`http1_only`](Self::http1_only), [`http2_prior_knowledge`](Self::http2_prior_knowledge) |
/// | idle connections kept per host | [`DEFAULT_POOL_MAX_IDLE_PER_HOST`](super::DEFAULT_POOL_MAX_IDLE_PER_HOST): [`pool_max_idle_per_host`](Self::pool_max_idle_per_host) |
/// | idle connection lifetime | [`DEFAULT_POOL_IDLE_TIMEOUT`](super::DEFAULT_POOL_IDLE_TIMEOUT): [`pool_idle_timeout`](Self::pool_idle_timeout) |
/// | opening a connection (TCP and TLS) | [`DEFAULT_CONNECT_TIMEOUT`](super::DEFAULT_CONNECT_TIMEOUT): [`connect_timeout`](Self::connect_timeout) |
/// | reply body | [`DEFAULT_REPLY_LIMIT`](super::DEFAULT_REPLY_LIMIT): [`reply_limit`](Self::reply_limit) |
/// | `Retry-After` reported | [`DEFAULT_MAX_RETRY_AFTER`]: [`max_retry_after`](Self::max_retry_after) |
/// | circuit breaker | on, [`BreakerSettings::default`]: [`circuit_breaker`](Self::circuit_breaker) |
/// | retries of idempotent calls | on, [`RetrySettings::default`]: [`retries`](Self::retries) |
/// | bulkhead | on, [`BulkheadSettings::default`]: [`bulkhead`](Self::bulkhead) |
///
/// ```text
/// let transport = HttpTransport::builder("https://orders.internal:8443")
///     .roots(Roots::None)                       // trust only the private CA
///     .ca_pem_file("/etc/orders/ca.pem")
///     .client_identity_pem_files("/etc/orders/client.pem", "/etc/orders/client.key")
///     .build()?;
/// let client = OrdersClient::with_transport(transport);
/// ```
///
/// A setting that fails (a file that cannot be read, PEM text without a
/// certificate) is reported by [`build`](Self::build), naming the setting.
pub struct HttpTransportBuilder {
    base_url: String,
    tls: ClientTls,
    pool: PoolSettings,
    reply_limit: usize,
    max_retry_after: Duration,
    defences: DefenceSettings,
}

impl fmt::Debug for HttpTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransportBuilder")
            .field("base_url", &self.base_url)
            .field("pool", &self.pool)
            .field("reply_limit", &self.reply_limit)
            .field("max_retry_after", &self.max_retry_after)
            .field("defences", &self.defences)
            .finish_non_exhaustive()
    }
}

/// Why [`HttpTransportBuilder::build`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpTransportError {
    /// The base URL cannot be used.
    BaseUrl(InvalidBaseUrl),
    /// A TLS setting cannot be used.
    Tls(TlsConfigError),
}

impl fmt::Display for HttpTransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpTransportError::BaseUrl(e) => e.fmt(f),
            HttpTransportError::Tls(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for HttpTransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HttpTransportError::BaseUrl(e) => Some(e),
            HttpTransportError::Tls(e) => Some(e),
        }
    }
}

impl From<InvalidBaseUrl> for HttpTransportError {
    fn from(e: InvalidBaseUrl) -> Self {
        HttpTransportError::BaseUrl(e)
    }
}

impl From<TlsConfigError> for HttpTransportError {
    fn from(e: TlsConfigError) -> Self {
        HttpTransportError::Tls(e)
    }
}

impl HttpTransportBuilder {
    pub(super) fn new(base_url: &str) -> Self {
        HttpTransportBuilder {
            base_url: base_url.to_owned(),
            tls: ClientTls::default(),
            pool: PoolSettings::default(),
            reply_limit: DEFAULT_REPLY_LIMIT,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            defences: DefenceSettings::default(),
        }
    }

    /// Sets the certificate authorities trusted besides those given with
    /// [`ca_pem`](Self::ca_pem): the platform's (the default), Mozilla's
    /// compiled in, or none. See [`Roots`].
    pub fn roots(mut self, roots: Roots) -> Self {
        self.tls.set_roots(roots);
        self
    }

    /// Trusts the certificate authorities in `pem` (one or more
    /// `BEGIN CERTIFICATE` blocks), in addition to the [`roots`](Self::roots);
    /// with [`Roots::None`], only them. May be called more than once.
    pub fn ca_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.tls.add_ca_pem("ca_pem", pem.as_ref());
        self
    }

    /// As [`ca_pem`](Self::ca_pem), with the PEM text read from `path`.
    pub fn ca_pem_file(mut self, path: impl AsRef<Path>) -> Self {
        self.tls.add_ca_pem_file(path.as_ref());
        self
    }

    /// Proves the client's identity to servers that ask for a certificate
    /// (mutual TLS): `cert_chain_pem` holds the client's certificate first,
    /// then any intermediates; `key_pem` its private key (PKCS#8, PKCS#1 or
    /// SEC1). None by default.
    pub fn client_identity_pem(
        mut self,
        cert_chain_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> Self {
        self.tls.set_identity_pem(
            "client_identity_pem",
            cert_chain_pem.as_ref(),
            key_pem.as_ref(),
        );
        self
    }

    /// As [`client_identity_pem`](Self::client_identity_pem), with the PEM
    /// text read from two files.
    pub fn client_identity_pem_files(
        mut self,
        cert_chain_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Self {
        self.tls
            .set_identity_pem_files(cert_chain_path.as_ref(), key_path.as_ref());
        self
    }

    /// Uses `tls` for `https://`, replacing the TLS settings made so far:
    /// one [`ClientTls`] can serve the HTTP client and the broker backends.
    pub fn tls(mut self, tls: ClientTls) -> Self {
        self.tls = tls;
        self
    }

    /// Uses a whole rustls client configuration for `https://` (a verifier
    /// of your own, a certificate resolver, session settings), instead of
    /// [`roots`](Self::roots), [`ca_pem`](Self::ca_pem) and
    /// [`client_identity_pem`](Self::client_identity_pem). Its ALPN
    /// protocols are replaced by the HTTP versions this builder is set to.
    /// Build it with [`ring`](rustls::crypto::ring) as the provider, as
    /// accord does (see [`crate::tls`]).
    pub fn tls_config(mut self, config: Arc<ClientConfig>) -> Self {
        self.tls.set_config(config);
        self
    }

    /// Speaks HTTP/1.1 only, also to servers that offer HTTP/2 by ALPN.
    /// Calls then spread over as many connections as are in flight, which
    /// a layer-4 load balancer in front of several servers spreads in turn.
    pub fn http1_only(mut self) -> Self {
        self.pool.versions = Versions::Http1;
        self
    }

    /// Speaks HTTP/2 only: to an `http://` server with prior knowledge
    /// (h2c, which the accord server accepts), to an `https://` server by
    /// offering only `h2` by ALPN. By default HTTP/2 is used only when an
    /// `https://` server picks it by ALPN, and `http://` is HTTP/1.1.
    pub fn http2_prior_knowledge(mut self) -> Self {
        self.pool.versions = Versions::Http2;
        self
    }

    /// Sets how many idle connections are kept per host
    /// ([`DEFAULT_POOL_MAX_IDLE_PER_HOST`](super::DEFAULT_POOL_MAX_IDLE_PER_HOST)
    /// unless set); a connection freed beyond that is closed. `0` keeps
    /// none: every HTTP/1.1 call opens a connection.
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool.max_idle_per_host = max;
        self
    }

    /// Sets how long an idle connection is kept before a timer closes it
    /// ([`DEFAULT_POOL_IDLE_TIMEOUT`](super::DEFAULT_POOL_IDLE_TIMEOUT)
    /// unless set). Keep it below the server's idle timeout.
    ///
    /// # Panics
    ///
    /// If `timeout` is zero (use `pool_max_idle_per_host(0)` to keep no
    /// idle connection).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        assert!(
            !timeout.is_zero(),
            "HttpTransportBuilder::pool_idle_timeout must be more than zero"
        );
        self.pool.idle_timeout = timeout;
        self
    }

    /// Sets the longest wait to open a connection, name lookup, TCP and TLS
    /// handshakes included ([`DEFAULT_CONNECT_TIMEOUT`](super::DEFAULT_CONNECT_TIMEOUT)
    /// unless set). A call's own timeout still bounds the whole call.
    ///
    /// # Panics
    ///
    /// If `timeout` is zero.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        assert!(
            !timeout.is_zero(),
            "HttpTransportBuilder::connect_timeout must be more than zero"
        );
        self.pool.connect_timeout = timeout;
        self
    }

    /// Sets the largest reply body read, in bytes ([`DEFAULT_REPLY_LIMIT`](super::DEFAULT_REPLY_LIMIT)
    /// unless set); a larger reply is a protocol error rather than
    /// unbounded buffering.
    pub fn reply_limit(mut self, bytes: usize) -> Self {
        self.reply_limit = bytes;
        self
    }

    /// Sets the longest `Retry-After` reported for a reply
    /// ([`DEFAULT_MAX_RETRY_AFTER`] unless set).
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Sets the circuit breaker to this base URL ([`BreakerSettings::default`]
    /// unless set); `None` turns it off.
    pub fn circuit_breaker(mut self, settings: impl Into<Option<BreakerSettings>>) -> Self {
        self.defences.breaker = settings.into();
        self
    }

    /// Sets how idempotent calls are retried ([`RetrySettings::default`]
    /// unless set); `None` turns retries off, but for one immediate resend
    /// after a connection failure.
    pub fn retries(mut self, settings: impl Into<Option<RetrySettings>>) -> Self {
        self.defences.retries = settings.into();
        self
    }

    /// Sets the bulkhead to this base URL ([`BulkheadSettings::default`]
    /// unless set); `None` turns it off.
    pub fn bulkhead(mut self, settings: impl Into<Option<BulkheadSettings>>) -> Self {
        self.defences.bulkhead = settings.into();
        self
    }

    /// Sets the circuit breaker, retries and bulkhead at once;
    /// [`DefenceSettings::off`] turns all three off.
    pub fn defences(mut self, settings: DefenceSettings) -> Self {
        self.defences = settings;
        self
    }

    /// The transport; an error names the base URL's problem or the TLS
    /// setting at fault. TLS settings for an `http://` base URL are an
    /// error too, rather than silently unused.
    pub fn build(self) -> Result<HttpTransport, HttpTransportError> {
        let base_url = self.base_url.as_str();
        let invalid = |reason: &'static str| InvalidBaseUrl {
            url: base_url.to_owned(),
            reason: reason.into(),
        };
        let uri: Uri = base_url.parse().map_err(|_| {
            invalid("expected a URL such as http://127.0.0.1:8080 or https://orders.internal")
        })?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(invalid("the URL must start with http:// or https://").into()),
        };
        let Some(authority) = uri.authority() else {
            return Err(invalid("the URL has no host").into());
        };
        if uri.query().is_some() {
            return Err(invalid("a base URL cannot have a query string").into());
        }
        let origin = Origin::new(&uri).ok_or_else(|| invalid("the URL has no host"))?;
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authority = format!("{}:{port}", authority.host());
        let (config, peer) = if https {
            let built = self.tls.build()?;
            let peer = Peer {
                authority,
                trust: built.trust,
                identity: built.identity,
                alpn: self.pool.versions.alpn(),
            };
            (built.config, peer)
        } else {
            if self.tls.is_set() {
                return Err(TlsConfigError::new(
                    "roots, ca_pem, client_identity_pem or tls_config",
                    format!("TLS settings were given for the http:// base URL {base_url:?}: use an https:// URL, or drop them"),
                )
                .into());
            }
            let peer = Peer {
                authority,
                trust: String::new(),
                identity: false,
                alpn: "",
            };
            (plain_http_config(), peer)
        };
        let mut config = config;
        // The connector sets the ALPN protocols from the HTTP versions.
        config.alpn_protocols.clear();
        let (client, tls_failures) = pool::client(self.pool, config);
        let base: Arc<str> = base_url.trim_end_matches('/').into();
        Ok(HttpTransport {
            client,
            tls_failures,
            defences: Arc::new(Defences::new(base.clone(), self.defences)),
            base,
            origin: Arc::new(origin),
            peer: Arc::new(peer),
            reply_limit: self.reply_limit,
            max_retry_after: self.max_retry_after,
        })
    }
}

/// The configuration an `http://` transport's connector holds and never
/// uses: its URLs are all `http://`. No trust store is read for it.
fn plain_http_config() -> ClientConfig {
    ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}
