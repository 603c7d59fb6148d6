//! Serving over TLS: the server's certificate, optional client-certificate
//! verification (mutual TLS), and the verified client's certificate on each
//! request.
//!
//! TLS is a step of [`ServeOptions::serve`](super::ServeOptions::serve)'s
//! accept loop, not a loop of its own, so the connection cap, the
//! header-read and idle timeouts and the shutdown grace apply to TLS
//! connections as to plain ones. The handshake counts against the
//! header-read timeout: a connection must complete its handshake and its
//! first request head within it of being accepted, so a client that opens
//! a socket and never finishes the handshake is closed like one that never
//! sends a request.
//!
//! The protocol the client picked by ALPN (`h2` or `http/1.1`) is the one
//! the connection is served with.

use std::convert::Infallible;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::tls::{self as shared, TlsConfigError};

use super::connection::ConnectionService;

/// The ALPN protocols a server offers unless told otherwise: HTTP/2, then
/// HTTP/1.1.
pub const DEFAULT_ALPN_PROTOCOLS: [&str; 2] = ["h2", "http/1.1"];

/// How a server serves TLS: its certificate and key, and whether it asks
/// clients for a certificate. Set it with
/// [`ServeOptions::tls`](super::ServeOptions::tls).
///
/// ```text
/// let tls = ServerTls::from_pem_files("/etc/orders/cert.pem", "/etc/orders/key.pem")?;
/// ServeOptions::new().tls(tls).serve(listener, app, shutdown).await?;
///
/// // Mutual TLS: only clients with a certificate from this CA get in.
/// let tls = ServerTls::builder()
///     .identity_pem_files("/etc/orders/cert.pem", "/etc/orders/key.pem")
///     .client_ca_pem_file("/etc/orders/clients-ca.pem")
///     .build()?;
/// ```
///
/// Cloning is cheap.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

impl ServerTls {
    /// A builder for the settings beyond a certificate and key.
    pub fn builder() -> ServerTlsBuilder {
        ServerTlsBuilder::default()
    }

    /// Serves with the certificate chain in `cert_chain_pem` (the server's
    /// certificate first, then any intermediates) and its private key in
    /// `key_pem` (PKCS#8, PKCS#1 or SEC1), without asking clients for a
    /// certificate, offering [`DEFAULT_ALPN_PROTOCOLS`].
    pub fn from_pem(
        cert_chain_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> Result<ServerTls, TlsConfigError> {
        ServerTls::builder()
            .identity_pem(cert_chain_pem, key_pem)
            .build()
    }

    /// As [`from_pem`](Self::from_pem), with the PEM text read from two files.
    pub fn from_pem_files(
        cert_chain_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<ServerTls, TlsConfigError> {
        ServerTls::builder()
            .identity_pem_files(cert_chain_path, key_path)
            .build()
    }

    /// Serves with a whole rustls configuration: a certificate resolver of
    /// your own (several names, certificates reloaded while serving), a
    /// client verifier with revocation lists, session settings. Its ALPN
    /// protocols are used as they are; with none, the protocol is told
    /// from the first bytes. A client's certificate reaches requests as a
    /// [`ClientCertificate`] whenever the configuration's verifier accepted
    /// one.
    pub fn from_config(config: Arc<ServerConfig>) -> ServerTls {
        ServerTls {
            acceptor: TlsAcceptor::from(config),
        }
    }

    /// Performs the handshake on `stream`.
    pub(super) async fn accept<S>(&self, stream: S) -> io::Result<Accepted<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let stream = match self.acceptor.accept(stream).into_fallible().await {
            Ok(stream) => stream,
            Err((error, stream)) => {
                linger(stream).await;
                return Err(error);
            }
        };
        let (_, session) = stream.get_ref();
        let certificate = match session.peer_certificates() {
            Some(chain) if !chain.is_empty() => Some(ClientCertificate::new(chain.to_vec())?),
            _ => None,
        };
        let protocol = match session.alpn_protocol() {
            Some(b"h2") => Some(Protocol::Http2),
            Some(b"http/1.1") => Some(Protocol::Http1),
            _ => None,
        };
        Ok(Accepted {
            stream,
            certificate,
            protocol,
        })
    }
}

/// The longest a connection whose handshake failed is drained before it is
/// closed: 1 second, or [`LINGER_BYTES`], whichever comes first.
const LINGER_TIME: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 64 * 1024;

/// Closes a connection whose handshake failed so that the client can read
/// the alert saying why.
///
/// Over TLS 1.3 a client sends its first request right behind its
/// certificate. Were the socket closed with that request unread, the
/// kernel would answer with a reset, and the client, whose next write then
/// fails, might never read the alert ahead of it: it would see a broken
/// connection, not a refused certificate. So the server ends its side
/// after the alert and reads what the client still sends, briefly, as
/// nginx's lingering close does.
async fn linger<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut scratch = [0u8; 4096];
    let mut drained = 0;
    let drain = async {
        while drained < LINGER_BYTES {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(n) => drained += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}

/// A connection whose TLS handshake has completed.
pub(super) struct Accepted<S> {
    pub(super) stream: TlsStream<S>,
    pub(super) certificate: Option<ClientCertificate>,
    protocol: Option<Protocol>,
}

enum Protocol {
    Http1,
    Http2,
}

impl<S> Accepted<S> {
    /// `builder`, set to serve the protocol picked by ALPN only.
    pub(super) fn protocol(
        &self,
        builder: auto::Builder<TokioExecutor>,
    ) -> auto::Builder<TokioExecutor> {
        match self.protocol {
            Some(Protocol::Http1) => builder.http1_only(),
            Some(Protocol::Http2) => builder.http2_only(),
            None => builder,
        }
    }
}

/// Builds a [`ServerTls`].
///
/// | setting | default |
/// |---|---|
/// | certificate and key | required: [`identity_pem`](Self::identity_pem), [`identity_pem_files`](Self::identity_pem_files) |
/// | client certificates | not asked for; [`client_ca_pem`](Self::client_ca_pem) requires one from that CA, [`client_certificate_optional`](Self::client_certificate_optional) lets clients without one in |
/// | ALPN protocols | [`DEFAULT_ALPN_PROTOCOLS`]: [`alpn_protocols`](Self::alpn_protocols) |
///
/// A setting that fails is reported by [`build`](Self::build), naming it.
#[derive(Debug)]
pub struct ServerTlsBuilder {
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    client_cas: Vec<CertificateDer<'static>>,
    client_optional: bool,
    alpn: Vec<Vec<u8>>,
    error: Option<TlsConfigError>,
}

impl Default for ServerTlsBuilder {
    fn default() -> Self {
        ServerTlsBuilder {
            identity: None,
            client_cas: Vec::new(),
            client_optional: false,
            alpn: DEFAULT_ALPN_PROTOCOLS
                .iter()
                .map(|p| p.as_bytes().to_vec())
                .collect(),
            error: None,
        }
    }
}

impl ServerTlsBuilder {
    fn fail(mut self, error: TlsConfigError) -> Self {
        self.error.get_or_insert(error);
        self
    }

    /// The server's certificate chain (its own certificate first, then any
    /// intermediates) and private key (PKCS#8, PKCS#1 or SEC1), as PEM text.
    pub fn identity_pem(self, cert_chain_pem: impl AsRef<[u8]>, key_pem: impl AsRef<[u8]>) -> Self {
        self.identity("identity_pem", cert_chain_pem.as_ref(), key_pem.as_ref())
    }

    /// As [`identity_pem`](Self::identity_pem), with the PEM text read from
    /// two files.
    pub fn identity_pem_files(
        self,
        cert_chain_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Self {
        let setting = "identity_pem_files";
        let read = shared::read_pem_file(setting, cert_chain_path.as_ref())
            .and_then(|chain| Ok((chain, shared::read_pem_file(setting, key_path.as_ref())?)));
        match read {
            Ok((chain, key)) => self.identity(setting, &chain, &key),
            Err(error) => self.fail(error),
        }
    }

    fn identity(mut self, setting: &'static str, chain: &[u8], key: &[u8]) -> Self {
        let parsed = shared::certificates(setting, chain)
            .and_then(|chain| Ok((chain, shared::private_key(setting, key)?)));
        match parsed {
            Ok(identity) => {
                self.identity = Some(identity);
                self
            }
            Err(error) => self.fail(error),
        }
    }

    /// Asks every client for a certificate and accepts only those issued by
    /// a certificate authority in `pem` (mutual TLS); a client without one
    /// is refused during the handshake. The verified certificate reaches
    /// each request as a [`ClientCertificate`] extension. May be called
    /// more than once to trust several CAs.
    pub fn client_ca_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        match shared::certificates("client_ca_pem", pem.as_ref()) {
            Ok(certs) => {
                self.client_cas.extend(certs);
                self
            }
            Err(error) => self.fail(error),
        }
    }

    /// As [`client_ca_pem`](Self::client_ca_pem), with the PEM text read
    /// from `path`.
    pub fn client_ca_pem_file(self, path: impl AsRef<Path>) -> Self {
        match shared::read_pem_file("client_ca_pem_file", path.as_ref()) {
            Ok(pem) => self.client_ca_pem(pem),
            Err(error) => self.fail(error),
        }
    }

    /// Lets clients without a certificate in too; a client that offers one
    /// must still have it verified by the [client CAs](Self::client_ca_pem).
    /// Requests then carry a [`ClientCertificate`] only from clients that
    /// gave one, and an authentication layer decides what the others may
    /// do.
    pub fn client_certificate_optional(mut self) -> Self {
        self.client_optional = true;
        self
    }

    /// Sets the protocols offered by ALPN, in the server's order of
    /// preference ([`DEFAULT_ALPN_PROTOCOLS`] unless set): `["http/1.1"]`
    /// serves HTTP/1.1 only to clients that negotiate.
    pub fn alpn_protocols(mut self, protocols: &[&str]) -> Self {
        self.alpn = protocols.iter().map(|p| p.as_bytes().to_vec()).collect();
        self
    }

    /// The server's TLS settings; an error names the setting at fault.
    pub fn build(self) -> Result<ServerTls, TlsConfigError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let Some((chain, key)) = self.identity else {
            return Err(TlsConfigError::new(
                "identity_pem",
                "no server certificate and key were given",
            ));
        };
        let builder = ServerConfig::builder_with_provider(shared::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsConfigError::new("identity_pem", format!("the ring provider: {e}")))?;
        let builder = if self.client_cas.is_empty() {
            if self.client_optional {
                return Err(TlsConfigError::new(
                    "client_certificate_optional",
                    "client certificates are verified against the CAs given with client_ca_pem, and none was given",
                ));
            }
            builder.with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            for (i, ca) in self.client_cas.into_iter().enumerate() {
                roots.add(ca).map_err(|e| {
                    TlsConfigError::new(
                        "client_ca_pem",
                        format!("certificate {} cannot be a trust anchor: {e}", i + 1),
                    )
                })?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), shared::provider());
            let verifier = if self.client_optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| TlsConfigError::new("client_ca_pem", e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|e| TlsConfigError::new("identity_pem", shared::identity_reason(&e)))?;
        config.alpn_protocols = self.alpn;
        Ok(ServerTls::from_config(Arc::new(config)))
    }
}

/// The certificate a client proved its identity with over mutual TLS,
/// verified against the server's client CAs.
///
/// Every request on that connection carries it as an extension, so a layer
/// or handler can use it as the caller's identity:
///
/// ```text
/// let subject = request
///     .extensions()
///     .get::<ClientCertificate>()
///     .map(|certificate| certificate.subject());
/// // in an axum handler: Option<Extension<ClientCertificate>>
/// ```
///
/// Cloning is cheap.
#[derive(Debug, Clone)]
pub struct ClientCertificate(Arc<CertificateInner>);

#[derive(Debug)]
struct CertificateInner {
    subject: String,
    alt_names: Vec<String>,
    chain: Vec<CertificateDer<'static>>,
}

impl ClientCertificate {
    fn new(chain: Vec<CertificateDer<'static>>) -> io::Result<ClientCertificate> {
        use x509_cert::der::Decode;
        let unreadable = |e: x509_cert::der::Error| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the client certificate cannot be read: {e}"),
            )
        };
        let certificate = x509_cert::Certificate::from_der(&chain[0]).map_err(unreadable)?;
        let tbs = &certificate.tbs_certificate;
        let alt_names = match tbs
            .get::<x509_cert::ext::pkix::SubjectAltName>()
            .map_err(unreadable)?
        {
            Some((_, names)) => names.0.iter().filter_map(alt_name).collect(),
            None => Vec::new(),
        };
        Ok(ClientCertificate(Arc::new(CertificateInner {
            subject: tbs.subject.to_string(),
            alt_names,
            chain,
        })))
    }

    /// The certificate's subject as an RFC 4514 string, most specific
    /// attribute first: `CN=orders-worker,O=Example`.
    pub fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The certificate's subject alternative names of the kinds used as
    /// identities, each with its kind: `DNS:orders.internal`,
    /// `URI:spiffe://example.org/orders`, `IP:10.0.0.7`,
    /// `email:ops@example.org`.
    pub fn subject_alt_names(&self) -> &[String] {
        &self.0.alt_names
    }

    /// The client's certificate, DER-encoded, for checks of your own.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.0.chain[0]
    }

    /// The chain the client sent: its certificate first, then any
    /// intermediates.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.0.chain
    }
}

fn alt_name(name: &x509_cert::ext::pkix::name::GeneralName) -> Option<String> {
    use x509_cert::ext::pkix::name::GeneralName;
    match name {
        GeneralName::DnsName(dns) => Some(format!("DNS:{}", dns.as_str())),
        GeneralName::UniformResourceIdentifier(uri) => Some(format!("URI:{}", uri.as_str())),
        GeneralName::Rfc822Name(email) => Some(format!("email:{}", email.as_str())),
        GeneralName::IpAddress(ip) => {
            let bytes = ip.as_bytes();
            let ip = match bytes.len() {
                4 => std::net::IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
                16 => std::net::IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?),
                _ => return None,
            };
            Some(format!("IP:{ip}"))
        }
        _ => None,
    }
}

/// The connection's service, adding the client's certificate to each
/// request when there is one.
#[derive(Debug, Clone)]
pub(super) struct WithClientCertificate {
    inner: ConnectionService,
    certificate: Option<ClientCertificate>,
}

impl WithClientCertificate {
    pub(super) fn new(inner: ConnectionService, certificate: Option<ClientCertificate>) -> Self {
        WithClientCertificate { inner, certificate }
    }
}

impl hyper::service::Service<Request<Incoming>> for WithClientCertificate {
    type Response = <ConnectionService as hyper::service::Service<Request<Incoming>>>::Response;
    type Error = Infallible;
    type Future = <ConnectionService as hyper::service::Service<Request<Incoming>>>::Future;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        if let Some(certificate) = &self.certificate {
            request.extensions_mut().insert(certificate.clone());
        }
        self.inner.call(request)
    }
}
