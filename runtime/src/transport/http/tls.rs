//! The client's TLS configuration: the servers it trusts and the
//! certificate it proves itself with. The HTTP versions it offers by ALPN
//! are added where the connector is built ([`super::pool`]).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use crate::tls::{self as shared, Roots, TlsConfigError};

/// The TLS settings gathered by the builder. A setter that fails keeps its
/// error for [`build`](ClientTls::build), so a builder chain reads straight
/// and the first problem is reported.
#[derive(Debug, Default)]
pub(super) struct ClientTls {
    roots: Roots,
    roots_set: bool,
    cas: Vec<CertificateDer<'static>>,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    config: Option<Arc<ClientConfig>>,
    error: Option<TlsConfigError>,
}

/// A built client configuration and what it trusts, for error messages.
#[derive(Debug)]
pub(super) struct BuiltTls {
    pub(super) config: ClientConfig,
    pub(super) trust: String,
    pub(super) identity: bool,
}

impl ClientTls {
    fn fail(&mut self, error: TlsConfigError) {
        self.error.get_or_insert(error);
    }

    pub(super) fn roots(&mut self, roots: Roots) {
        self.roots = roots;
        self.roots_set = true;
    }

    pub(super) fn ca_pem(&mut self, setting: &'static str, pem: &[u8]) {
        match shared::certificates(setting, pem) {
            Ok(certs) => self.cas.extend(certs),
            Err(error) => self.fail(error),
        }
    }

    pub(super) fn ca_pem_file(&mut self, path: &Path) {
        match shared::read_pem_file("ca_pem_file", path) {
            Ok(pem) => self.ca_pem("ca_pem_file", &pem),
            Err(error) => self.fail(error),
        }
    }

    pub(super) fn identity_pem(&mut self, setting: &'static str, chain: &[u8], key: &[u8]) {
        let parsed = shared::certificates(setting, chain)
            .and_then(|chain| Ok((chain, shared::private_key(setting, key)?)));
        match parsed {
            Ok(identity) => self.identity = Some(identity),
            Err(error) => self.fail(error),
        }
    }

    pub(super) fn identity_pem_files(&mut self, chain: &Path, key: &Path) {
        let setting = "client_identity_pem_files";
        let read = shared::read_pem_file(setting, chain)
            .and_then(|chain| Ok((chain, shared::read_pem_file(setting, key)?)));
        match read {
            Ok((chain, key)) => self.identity_pem(setting, &chain, &key),
            Err(error) => self.fail(error),
        }
    }

    pub(super) fn config(&mut self, config: Arc<ClientConfig>) {
        self.config = Some(config);
    }

    /// Whether any TLS setting was made.
    pub(super) fn is_set(&self) -> bool {
        self.roots_set
            || !self.cas.is_empty()
            || self.identity.is_some()
            || self.config.is_some()
            || self.error.is_some()
    }

    /// The configuration for an `https://` base URL.
    pub(super) fn build(self) -> Result<BuiltTls, TlsConfigError> {
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
