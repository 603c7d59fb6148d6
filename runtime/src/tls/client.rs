//! [`ClientTls`]: the servers a client trusts and the certificate it proves
//! itself with, for the HTTP client and the NATS and RabbitMQ connections
//! alike. The HTTP versions offered by ALPN are added where the HTTP
//! connector is built.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use crate::tls::{self as shared, Roots, TlsConfigError};

/// A client's TLS settings: the certificate authorities it trusts
/// ([`roots`](Self::roots), [`ca_pem`](Self::ca_pem)) and the certificate it
/// proves itself with for mutual TLS
/// ([`client_identity_pem`](Self::client_identity_pem)).
///
/// The HTTP client takes the same settings on
/// [`HttpTransportBuilder`](crate::transport::HttpTransportBuilder); the
/// broker backends take a `ClientTls` in their options (`NatsOptions::tls`,
/// `AmqpOptions::tls`) for `tls://` and `amqps://` URLs.
///
/// A setter that fails (a file that cannot be read, PEM text without a
/// certificate) keeps its error until the settings are used, where the first
/// problem is reported with the setting's name, so a chain of setters reads
/// straight.
///
/// ```
/// use accord::tls::{ClientTls, Roots};
/// let tls = ClientTls::new()
///     .roots(Roots::None)
///     .ca_pem_file("/etc/accord/ca.pem")
///     .client_identity_pem_files("/etc/accord/client.pem", "/etc/accord/client.key");
/// ```
#[derive(Debug, Default)]
pub struct ClientTls {
    roots: Roots,
    roots_set: bool,
    cas: Vec<CertificateDer<'static>>,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    /// The PEM text of the CAs and the identity, for clients that take PEM
    /// rather than a rustls configuration (RabbitMQ's).
    #[cfg_attr(not(feature = "amqp"), allow(dead_code))]
    cas_pem: Vec<u8>,
    #[cfg_attr(not(feature = "amqp"), allow(dead_code))]
    identity_pem: Option<(Vec<u8>, Vec<u8>)>,
    config: Option<Arc<ClientConfig>>,
    error: Option<TlsConfigError>,
}

impl Clone for ClientTls {
    fn clone(&self) -> Self {
        ClientTls {
            roots: self.roots,
            roots_set: self.roots_set,
            cas: self.cas.clone(),
            identity: self
                .identity
                .as_ref()
                .map(|(chain, key)| (chain.clone(), key.clone_key())),
            cas_pem: self.cas_pem.clone(),
            identity_pem: self.identity_pem.clone(),
            config: self.config.clone(),
            error: self.error.clone(),
        }
    }
}

/// A built client configuration and what it trusts, for error messages.
#[derive(Debug)]
pub(crate) struct BuiltTls {
    pub(crate) config: ClientConfig,
    pub(crate) trust: String,
    pub(crate) identity: bool,
}

impl ClientTls {
    /// The defaults: the platform's trust store ([`Roots::Platform`]), no
    /// client certificate.
    pub fn new() -> Self {
        ClientTls::default()
    }

    /// Which certificate authorities to trust besides those given with
    /// [`ca_pem`](Self::ca_pem). [`Roots::Platform`] unless set.
    pub fn roots(mut self, roots: Roots) -> Self {
        self.set_roots(roots);
        self
    }

    /// Trusts the certificate authorities in `pem` (one or more
    /// `BEGIN CERTIFICATE` blocks), in addition to the [`roots`](Self::roots);
    /// with [`Roots::None`], only them. May be called more than once.
    pub fn ca_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.add_ca_pem("ca_pem", pem.as_ref());
        self
    }

    /// As [`ca_pem`](Self::ca_pem), with the PEM text read from `path`.
    pub fn ca_pem_file(mut self, path: impl AsRef<Path>) -> Self {
        self.add_ca_pem_file(path.as_ref());
        self
    }

    /// Proves the client's identity to servers that ask for a certificate
    /// (mutual TLS): `cert_chain_pem` holds the client's certificate first,
    /// then any intermediates; `key_pem` its private key (PKCS#8, PKCS#1 or
    /// SEC1).
    pub fn client_identity_pem(
        mut self,
        cert_chain_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> Self {
        self.set_identity_pem(
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
        self.set_identity_pem_files(cert_chain_path.as_ref(), key_path.as_ref());
        self
    }

    /// Uses a whole rustls client configuration (a verifier of your own, a
    /// certificate resolver, session settings) instead of the settings
    /// above. Build it with [`ring`](rustls::crypto::ring) as the provider,
    /// as accord does (see [`crate::tls`]). The RabbitMQ client cannot take
    /// one: it is refused for `amqps://`.
    pub fn rustls_config(mut self, config: Arc<ClientConfig>) -> Self {
        self.set_config(config);
        self
    }

    fn fail(&mut self, error: TlsConfigError) {
        self.error.get_or_insert(error);
    }

    pub(crate) fn set_roots(&mut self, roots: Roots) {
        self.roots = roots;
        self.roots_set = true;
    }

    pub(crate) fn add_ca_pem(&mut self, setting: &'static str, pem: &[u8]) {
        match shared::certificates(setting, pem) {
            Ok(certs) => {
                self.cas.extend(certs);
                self.cas_pem.extend_from_slice(pem);
                self.cas_pem.push(b'\n');
            }
            Err(error) => self.fail(error),
        }
    }

    pub(crate) fn add_ca_pem_file(&mut self, path: &Path) {
        match shared::read_pem_file("ca_pem_file", path) {
            Ok(pem) => self.add_ca_pem("ca_pem_file", &pem),
            Err(error) => self.fail(error),
        }
    }

    pub(crate) fn set_identity_pem(&mut self, setting: &'static str, chain: &[u8], key: &[u8]) {
        let parsed = shared::certificates(setting, chain)
            .and_then(|chain| Ok((chain, shared::private_key(setting, key)?)));
        match parsed {
            Ok(identity) => {
                self.identity = Some(identity);
                self.identity_pem = Some((chain.to_vec(), key.to_vec()));
            }
            Err(error) => self.fail(error),
        }
    }

    pub(crate) fn set_identity_pem_files(&mut self, chain: &Path, key: &Path) {
        let setting = "client_identity_pem_files";
        let read = shared::read_pem_file(setting, chain)
            .and_then(|chain| Ok((chain, shared::read_pem_file(setting, key)?)));
        match read {
            Ok((chain, key)) => self.set_identity_pem(setting, &chain, &key),
            Err(error) => self.fail(error),
        }
    }

    pub(crate) fn set_config(&mut self, config: Arc<ClientConfig>) {
        self.config = Some(config);
    }

    /// These settings as RabbitMQ's client takes them: PEM text, added to
    /// the platform's store.
    #[cfg(feature = "amqp")]
    pub(crate) fn lapin_config(&self) -> Result<lapin::tcp::OwnedTLSConfig, TlsConfigError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        if self.config.is_some() {
            return Err(TlsConfigError::new(
                "rustls_config",
                "RabbitMQ's client cannot take a rustls configuration: give the certificate authorities with ca_pem and the client certificate with client_identity_pem",
            ));
        }
        if self.roots != Roots::Platform {
            return Err(TlsConfigError::new(
                "roots",
                format!(
                    "RabbitMQ's client always trusts the platform's store, adding the certificates given with ca_pem; Roots::{:?} cannot be used for amqps://",
                    self.roots
                ),
            ));
        }
        Ok(lapin::tcp::OwnedTLSConfig {
            identity: self
                .identity_pem
                .clone()
                .map(|(pem, key)| lapin::tcp::OwnedIdentity::PKCS8 { pem, key }),
            cert_chain: (!self.cas_pem.is_empty())
                .then(|| String::from_utf8_lossy(&self.cas_pem).into_owned()),
        })
    }

    /// Whether any TLS setting was made.
    pub(crate) fn is_set(&self) -> bool {
        self.roots_set
            || !self.cas.is_empty()
            || self.identity.is_some()
            || self.config.is_some()
            || self.error.is_some()
    }

    /// The rustls configuration these settings describe.
    pub(crate) fn build(self) -> Result<BuiltTls, TlsConfigError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if let Some(config) = self.config {
            if self.roots_set || !self.cas.is_empty() || self.identity.is_some() {
                return Err(TlsConfigError::new(
                    "tls_config",
                    "a whole rustls configuration was given together with roots, ca_pem or client_identity_pem: set those on the configuration itself",
                ));
            }
            let identity = config.client_auth_cert_resolver.has_certs();
            return Ok(BuiltTls {
                config: ClientConfig::clone(&config),
                trust: "the verifier of the configuration given with tls_config".to_owned(),
                identity,
            });
        }
        let trust = describe_trust(self.roots, self.cas.len());
        let builder = ClientConfig::builder_with_provider(shared::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsConfigError::new("roots", format!("the ring provider: {e}")))?;
        let builder = match self.roots {
            Roots::Platform => {
                let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
                    self.cas,
                    shared::provider(),
                )
                .map_err(|e| TlsConfigError::new("roots", platform_reason(&e)))?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verifier))
            }
            #[cfg(feature = "webpki-roots")]
            Roots::Webpki => {
                let mut store = RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                add_cas(&mut store, self.cas)?;
                builder.with_root_certificates(store)
            }
            Roots::None => {
                if self.cas.is_empty() {
                    return Err(TlsConfigError::new(
                        "roots",
                        "Roots::None trusts only the certificates given with ca_pem, and none was given",
                    ));
                }
                let mut store = RootCertStore::empty();
                add_cas(&mut store, self.cas)?;
                builder.with_root_certificates(store)
            }
        };
        let identity = self.identity.is_some();
        let config = match self.identity {
            Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(|e| {
                TlsConfigError::new("client_identity_pem", shared::identity_reason(&e))
            })?,
            None => builder.with_no_client_auth(),
        };
        Ok(BuiltTls {
            config,
            trust,
            identity,
        })
    }
}

/// Adds the `ca_pem` certificates to `store` as trust anchors.
fn add_cas(
    store: &mut RootCertStore,
    cas: Vec<CertificateDer<'static>>,
) -> Result<(), TlsConfigError> {
    for (i, ca) in cas.into_iter().enumerate() {
        store.add(ca).map_err(|e| {
            TlsConfigError::new(
                "ca_pem",
                format!("certificate {} cannot be a trust anchor: {e}", i + 1),
            )
        })?;
    }
    Ok(())
}

fn describe_trust(roots: Roots, cas: usize) -> String {
    match (roots, cas) {
        (Roots::None, n) => format!("only the {n} certificate(s) given with ca_pem"),
        (roots, 0) => roots.describe().to_owned(),
        (roots, n) => format!(
            "{} and the {n} certificate(s) given with ca_pem",
            roots.describe()
        ),
    }
}

fn platform_reason(error: &rustls::Error) -> String {
    match error {
        rustls::Error::General(text) if text.contains("No CA certificates") => format!(
            "the platform's trust store has no certificates ({text}): install the system's CA certificates (the `ca-certificates` package on Linux) or point SSL_CERT_FILE at a bundle, or choose other roots (Roots::Webpki with the cargo feature `webpki-roots`, or Roots::None with ca_pem)"
        ),
        other => format!("the platform's trust store cannot be used: {other}"),
    }
}
