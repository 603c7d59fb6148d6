//! TLS settings shared by the HTTP client and server: which certificates a
//! client trusts, PEM input, and the errors a configuration can have.
//!
//! accord builds every rustls configuration with the `ring` crypto provider,
//! named explicitly, and never relies on the process-wide default provider.
//! The NATS and RabbitMQ clients in this workspace use `ring` too, so a
//! process that uses them all links one provider, and code elsewhere that
//! asks rustls for its default finds exactly one to choose.
//!
//! A client's settings are a [`ClientTls`], taken by
//! [`HttpTransportBuilder`](crate::transport::HttpTransportBuilder) and by
//! the NATS and RabbitMQ backends; the server side is
//! [`ServerTls`](crate::http::ServerTls).

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The rustls crate accord is built with, for configurations passed in
/// whole ([`HttpTransportBuilder::tls_config`](crate::transport::HttpTransportBuilder::tls_config),
/// [`ServerTls::from_config`](crate::http::ServerTls::from_config)).
pub use rustls;

mod client;
pub use client::ClientTls;

/// The crypto provider every configuration accord builds uses: `ring`.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The certificate authorities a client trusts besides those it is given
/// with [`ca_pem`](crate::transport::HttpTransportBuilder::ca_pem).
///
/// The default is [`Roots::Platform`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Roots {
    /// The operating system's trust store and policy, through
    /// rustls-platform-verifier: the certificates an administrator installed
    /// or removed count, as they do for every other program on the machine
    /// (on Linux, the store of the `ca-certificates` package, or the files
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR` name). The default.
    #[default]
    Platform,
    /// Mozilla's root certificates as compiled into the program (the
    /// `webpki-roots` crate; cargo feature `webpki-roots`): for machines with
    /// no trust store of their own, such as distroless or scratch images.
    /// Updated with the program, not the machine.
    #[cfg(feature = "webpki-roots")]
    Webpki,
    /// None: only the certificate authorities given with `ca_pem`. The usual
    /// choice for calls between services that a private CA certifies, since
    /// then no public CA can vouch for one of them.
    None,
}

impl Roots {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Roots::Platform => "the platform's trust store",
            #[cfg(feature = "webpki-roots")]
            Roots::Webpki => "Mozilla's roots (webpki-roots)",
            Roots::None => "no other roots",
        }
    }
}

/// A TLS setting that cannot be used: a file that cannot be read, PEM text
/// without the expected blocks, a key that does not belong to its
/// certificate. The text names the setting and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfigError {
    setting: &'static str,
    reason: String,
}

impl TlsConfigError {
    pub(crate) fn new(setting: &'static str, reason: impl Into<String>) -> Self {
        TlsConfigError {
            setting,
            reason: reason.into(),
        }
    }

    /// The setting at fault, as its builder method is named (`ca_pem`,
    /// `client_identity_pem`, `identity_pem`, ...).
    pub fn setting(&self) -> &str {
        self.setting
    }
}

impl fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS setting `{}`: {}", self.setting, self.reason)
    }
}

impl std::error::Error for TlsConfigError {}

/// What to do about a TLS failure a broker client reports as text (its
/// own error types do not carry rustls's): a hint to add to the message,
/// or nothing.
#[cfg(any(feature = "nats", feature = "amqp"))]
pub(crate) fn hint(error: &str) -> &'static str {
    if error.contains("UnknownIssuer") {
        " (the server's certificate was not issued by a certificate authority this client trusts: add its CA with ClientTls::ca_pem)"
    } else if error.contains("BadCertificate") || error.contains("CertificateRequired") {
        " (the server refused the connection for want of a client certificate it accepts: set one with ClientTls::client_identity_pem)"
    } else if error.contains("NotValidForName") {
        " (the server's certificate does not name the host in the URL)"
    } else if error.contains("Expired") {
        " (a certificate has expired)"
    } else {
        ""
    }
}

/// Reads a PEM file, naming it in the error.
pub(crate) fn read_pem_file(setting: &'static str, path: &Path) -> Result<Vec<u8>, TlsConfigError> {
    std::fs::read(path)
        .map_err(|e| TlsConfigError::new(setting, format!("cannot read {}: {e}", path.display())))
}

/// Every `CERTIFICATE` block of `pem`, in order; at least one.
pub(crate) fn certificates(
    setting: &'static str,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            TlsConfigError::new(
                setting,
                format!("the PEM text is malformed: {}", pem_reason(&e)),
            )
        })?;
    if certs.is_empty() {
        return Err(TlsConfigError::new(
            setting,
            "no certificate found: expected one or more `-----BEGIN CERTIFICATE-----` blocks",
        ));
    }
    Ok(certs)
}

/// The first private key of `pem` (PKCS#8, PKCS#1 or SEC1).
pub(crate) fn private_key(
    setting: &'static str,
    pem: &[u8],
) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsConfigError::new(
            setting,
            "no private key found: expected a `-----BEGIN PRIVATE KEY-----`, `-----BEGIN RSA PRIVATE KEY-----` or `-----BEGIN EC PRIVATE KEY-----` block",
        ),
        other => TlsConfigError::new(
            setting,
            format!("the private key's PEM text is malformed: {}", pem_reason(&other)),
        ),
    })
}

fn pem_reason(error: &pem::Error) -> String {
    match error {
        pem::Error::MissingSectionEnd { end_marker } => {
            let label = String::from_utf8_lossy(end_marker);
            format!("a `BEGIN {label}` block has no `END {label}` line")
        }
        pem::Error::IllegalSectionStart { line } => format!(
            "a block starts with the malformed line `{}`",
            String::from_utf8_lossy(line)
        ),
        other => other.to_string(),
    }
}

/// Explains why rustls refused a certificate chain and key.
pub(crate) fn identity_reason(error: &rustls::Error) -> String {
    match error {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
            "the private key does not belong to the first certificate of the chain".to_owned()
        }
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown) => {
            "cannot tell whether the private key belongs to the first certificate of the chain"
                .to_owned()
        }
        other => format!("rustls refused the certificate and key: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_without_certificates_names_what_was_expected() {
        let error = certificates("ca_pem", b"hello").unwrap_err();
        assert_eq!(error.setting(), "ca_pem");
        assert!(
            error.to_string().contains("no certificate found"),
            "{error}"
        );
        // A certificate where the key should be.
        let certificate = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let error = private_key("client_identity_pem", certificate).unwrap_err();
        assert!(error.to_string().contains("no private key"), "{error}");
    }

    #[test]
    fn a_truncated_block_is_reported() {
        let error = certificates("ca_pem", b"-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("a `BEGIN CERTIFICATE` block has no `END CERTIFICATE` line"),
            "{error}"
        );
    }
}
