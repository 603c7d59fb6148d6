//! Connection failures as a caller can act on them.
//!
//! hyper-util reports a failed connection as "client error (Connect)" and
//! keeps the cause a few sources down, behind `io::Error`s whose `source()`
//! skips their own payload. This module finds the cause (a TLS error, a
//! refused connection, the connect timeout) and says what it means: which
//! server, and for a certificate that was not trusted, trusted by what.

use std::error::Error;
use std::fmt;
use std::io;
use std::time::Duration;

use rustls::{AlertDescription, CertificateError};

use crate::error::BoxError;

/// What the error messages of one transport say about its server.
#[derive(Debug)]
pub(super) struct Peer {
    /// `host:port` of the base URL.
    pub(super) authority: String,
    /// What the client trusts, for `https://`.
    pub(super) trust: String,
    /// Whether the client has a certificate of its own.
    pub(super) identity: bool,
    /// The ALPN protocols offered, for `https://`.
    pub(super) alpn: &'static str,
}

/// The connect timeout ran out.
#[derive(Debug)]
pub(super) struct ConnectTimeout(pub(super) Duration);

impl fmt::Display for ConnectTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the connection was not open within the connect timeout of {:?}",
            self.0
        )
    }
}

impl Error for ConnectTimeout {}

/// A failed connection, described; the original error is its source.
#[derive(Debug)]
pub(super) struct ConnectionError {
    message: String,
    source: BoxError,
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for ConnectionError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// Describes `error`, a failure to connect to or exchange with `peer`;
/// `tls` is a TLS error met by a connection to `peer` while the call was
/// under way, the cause when `error` names no TLS error or timeout itself.
pub(super) fn describe(peer: &Peer, error: BoxError, tls: Option<rustls::Error>) -> BoxError {
    let what = if let Some(tls) = find::<rustls::Error>(error.as_ref()) {
        format!("TLS with {}: {}", peer.authority, tls_reason(peer, tls))
    } else if let Some(timeout) = find::<ConnectTimeout>(error.as_ref()) {
        format!("connecting to {}: {timeout}", peer.authority)
    } else if let Some(tls) = &tls {
        // A closed or reset connection right after the server's alert.
        format!("TLS with {}: {}", peer.authority, tls_reason(peer, tls))
    } else {
        format!("{}: {}", peer.authority, chain(error.as_ref()))
    };
    Box::new(ConnectionError {
        message: what,
        source: error,
    })
}

/// The first error of type `T` in `error`'s chain of causes.
pub(super) fn find<'a, T: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a T> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        next = cause(error);
    }
    None
}

/// The next cause: an `io::Error`'s `source()` is its payload's source, so
/// its payload is looked at first.
fn cause<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a (dyn Error + 'static)> {
    match error
        .downcast_ref::<io::Error>()
        .and_then(|io| io.get_ref())
    {
        Some(payload) => Some(payload),
        None => error.source(),
    }
}

/// `error` and its causes, as one line, each text once.
fn chain(error: &(dyn Error + 'static)) -> String {
    let mut texts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = error.to_string();
        // hyper-util's "client error (Connect)" says less than its causes.
        if !text.starts_with("client error (") && !texts.iter().any(|seen| seen.contains(&text)) {
            texts.push(text);
        }
        next = cause(error);
    }
    if texts.is_empty() {
        return error.to_string();
    }
    texts.join(": ")
}

fn tls_reason(peer: &Peer, error: &rustls::Error) -> String {
    match error {
        rustls::Error::InvalidCertificate(certificate) => certificate_reason(peer, certificate),
        rustls::Error::AlertReceived(alert) => alert_reason(peer, *alert),
        rustls::Error::NoApplicationProtocol => format!(
            "the server speaks none of the protocols this client offers by ALPN ({})",
            peer.alpn
        ),
        other => other.to_string(),
    }
}

fn certificate_reason(peer: &Peer, error: &CertificateError) -> String {
    let trust = &peer.trust;
    match error {
        CertificateError::UnknownIssuer => format!(
            "the server's certificate was not trusted: no certificate authority this client trusts ({trust}) issued it"
        ),
        CertificateError::BadSignature => format!(
            "the server's certificate was not trusted: its signature does not verify against the certificate authorities this client trusts ({trust})"
        ),
        CertificateError::NotValidForName => format!(
            "the server's certificate is not valid for the host name {:?} of the base URL",
            host(&peer.authority)
        ),
        CertificateError::NotValidForNameContext { expected, presented } => format!(
            "the server's certificate is not valid for {:?}, the host of the base URL; it is for {}",
            expected.to_str(),
            if presented.is_empty() { "no name".to_owned() } else { presented.join(", ") }
        ),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("the server's certificate has expired ({error})")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("the server's certificate is not valid yet ({error})")
        }
        CertificateError::Revoked => "the server's certificate has been revoked".to_owned(),
        other => format!("the server's certificate was not accepted: {other}"),
    }
}

fn alert_reason(peer: &Peer, alert: AlertDescription) -> String {
    let client_certificate = matches!(
        alert,
        AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::AccessDenied
    );
    if alert == AlertDescription::CertificateRequired || (client_certificate && !peer.identity) {
        format!(
            "the server requires a client certificate (mutual TLS) and this client has none: give one with HttpTransportBuilder::client_identity_pem (TLS alert {alert:?})"
        )
    } else if client_certificate {
        format!("the server refused this client's certificate (TLS alert {alert:?})")
    } else {
        format!("the server ended the TLS session with the alert {alert:?}")
    }
}

fn host(authority: &str) -> &str {
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> Peer {
        Peer {
            authority: "orders.internal:8443".to_owned(),
            trust: "only the 1 certificate(s) given with ca_pem".to_owned(),
            identity: false,
            alpn: "h2, http/1.1",
        }
    }

    #[test]
    fn a_tls_error_inside_io_errors_is_found() {
        let tls = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let inner = io::Error::new(io::ErrorKind::InvalidData, tls);
        let outer: BoxError = Box::new(io::Error::other(inner));
        let text = describe(&peer(), outer, None).to_string();
        assert_eq!(
            text,
            "TLS with orders.internal:8443: the server's certificate was not trusted: no certificate authority this client trusts (only the 1 certificate(s) given with ca_pem) issued it"
        );
    }

    #[test]
    fn a_missing_client_certificate_is_named() {
        let tls = rustls::Error::AlertReceived(AlertDescription::CertificateRequired);
        let error: BoxError = Box::new(io::Error::new(io::ErrorKind::InvalidData, tls));
        let text = describe(&peer(), error, None).to_string();
        assert!(text.contains("requires a client certificate"), "{text}");
    }

    #[test]
    fn other_causes_are_listed_once() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        let text = describe(&peer(), Box::new(refused), None).to_string();
        assert_eq!(text, "orders.internal:8443: connection refused");
    }
}
