//! Bearer tokens: JSON Web Tokens verified with `jsonwebtoken`.
//!
//! Each key is pinned to one algorithm when it is loaded (from PEM, an
//! HMAC secret, or a JWKS document whose keys name their `alg`), and a
//! token is checked only against keys of the algorithm its header names:
//! the header's `alg` chooses among the keys, it never chooses how a key is
//! used. A token's `kid`, when it has one, picks the key of that id.
//! `exp`, `iss`, `aud` and `sub` are required; `nbf` is checked when
//! present; both time checks allow [`DEFAULT_LEEWAY`] of clock skew.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, PublicKeyUse};
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use serde_json::{Map, Value};

/// The signature algorithms a key can be pinned to.
pub use jsonwebtoken::Algorithm;

use super::{AuthConfigError, Identity};

/// Clock skew allowed on `exp` and `nbf`: 60 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// The largest JWKS document read: 1 MiB.
pub const MAX_JWKS_BYTES: u64 = 1024 * 1024;
/// The most keys one verifier holds: 64.
pub const MAX_KEYS: usize = 64;

/// Verifies bearer tokens against a fixed set of keys.
#[derive(Clone)]
pub struct JwtVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Vec<Key>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Duration,
}

struct Key {
    id: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("keys", &self.inner.keys.len())
            .field("issuers", &self.inner.issuers)
            .field("audiences", &self.inner.audiences)
            .field("leeway", &self.inner.leeway)
            .finish()
    }
}

impl JwtVerifier {
    /// A verifier to configure: at least one key, the issuer and the
    /// audience are required.
    pub fn builder() -> JwtVerifierBuilder {
        JwtVerifierBuilder::default()
    }

    /// The identity `token` stands for, or why it is refused.
    pub fn verify(&self, token: &str) -> Result<Identity, String> {
        let header = decode_header(token)
            .map_err(|e| format!("the token is malformed: {}", describe(&e)))?;
        let inner = &*self.inner;
        let of_algorithm = |key: &&Key| key.algorithm == header.alg;
        let candidates: Vec<&Key> = match &header.kid {
            Some(kid) if inner.keys.iter().any(|k| k.id.as_deref() == Some(kid)) => inner
                .keys
                .iter()
                .filter(|k| k.id.as_deref() == Some(kid))
                .filter(of_algorithm)
                .collect(),
            _ => inner.keys.iter().filter(of_algorithm).collect(),
        };
        if candidates.is_empty() {
            return Err(format!(
                "no key of this server verifies {:?} tokens{}",
                header.alg,
                header
                    .kid
                    .as_ref()
                    .map(|kid| format!(" with `kid` {kid:?}"))
                    .unwrap_or_default()
            ));
        }
        for key in candidates {
            let mut validation = Validation::new(key.algorithm);
            validation.leeway = inner.leeway.as_secs();
            validation.validate_nbf = true;
            validation.set_issuer(&inner.issuers);
            validation.set_audience(&inner.audiences);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            match decode::<Map<String, Value>>(token, &key.key, &validation) {
                Ok(data) => return Identity::from_claims(data.claims),
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => continue,
                Err(e) => return Err(describe(&e)),
            }
        }
        Err("the token's signature does not match any key".to_owned())
    }
}

fn describe(error: &jsonwebtoken::errors::Error) -> String {
    match error.kind() {
        ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (`nbf`)".to_owned(),
        ErrorKind::InvalidIssuer => "the token's issuer (`iss`) is not accepted".to_owned(),
        ErrorKind::InvalidAudience => "the token is not meant for this service (`aud`)".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token has no `{claim}` claim"),
        ErrorKind::InvalidSignature => "the token's signature does not match".to_owned(),
        ErrorKind::InvalidAlgorithm => "the token's algorithm is not accepted".to_owned(),
        ErrorKind::InvalidClaimFormat(claim) => format!("the token's `{claim}` claim is malformed"),
        _ => "the token is malformed".to_owned(),
    }
}

/// Configures a [`JwtVerifier`].
#[derive(Default)]
pub struct JwtVerifierBuilder {
    keys: Vec<Key>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Option<Duration>,
}

impl fmt::Debug for JwtVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifierBuilder")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl JwtVerifierBuilder {
    /// A public key in PEM (RSA, EC or Ed25519, as `algorithm` says), used
    /// only for `algorithm`.
    pub fn pem(self, pem: &[u8], algorithm: Algorithm) -> Result<Self, AuthConfigError> {
        let key = match algorithm {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => DecodingKey::from_rsa_pem(pem),
            Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem),
            Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                return Err(AuthConfigError(format!(
                    "{algorithm:?} takes a shared secret, not a PEM key; use `hmac_secret`"
                )))
            }
            other => {
                return Err(AuthConfigError(format!(
                    "{other:?} is not an algorithm accord verifies PEM keys for"
                )))
            }
        }
        .map_err(|e| AuthConfigError(format!("not a PEM public key for {algorithm:?}: {e}")))?;
        self.push(None, algorithm, key)
    }

    /// A PEM public key read from `path`, as [`JwtVerifierBuilder::pem`].
    pub fn pem_file(
        self,
        path: impl AsRef<Path>,
        algorithm: Algorithm,
    ) -> Result<Self, AuthConfigError> {
        let pem = read_bounded(path.as_ref(), MAX_JWKS_BYTES)?;
        self.pem(&pem, algorithm)
            .map_err(|e| AuthConfigError(format!("{}: {e}", path.as_ref().display())))
    }

    /// A shared secret for HS256, HS384 or HS512.
    pub fn hmac_secret(self, secret: &[u8], algorithm: Algorithm) -> Result<Self, AuthConfigError> {
        if !matches!(
            algorithm,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        ) {
            return Err(AuthConfigError(format!(
                "{algorithm:?} verifies with a public key, not a shared secret; use `pem` or `jwks`"
            )));
        }
        if secret.len() < 32 {
            return Err(AuthConfigError(format!(
                "an HMAC secret of {} bytes is too short to resist guessing; use at least 32 random bytes",
                secret.len()
            )));
        }
        let key = DecodingKey::from_secret(secret)
            .map_err(|e| AuthConfigError(format!("not an HMAC secret: {e}")))?;
        self.push(None, algorithm, key)
    }

    /// Every signing key of a JWKS document (RFC 7517). Each key is pinned
    /// to its `alg`; an EC or Ed25519 key without one is pinned to the only
    /// algorithm its curve allows, and an RSA key without one is refused.
    /// Keys marked `"use": "enc"` are skipped.
    pub fn jwks(mut self, json: &[u8]) -> Result<Self, AuthConfigError> {
        if json.len() as u64 > MAX_JWKS_BYTES {
            return Err(AuthConfigError(format!(
                "the JWKS document is {} bytes, over the {MAX_JWKS_BYTES} bytes accord reads",
                json.len()
            )));
        }
        let set: JwkSet = serde_json::from_slice(json)
            .map_err(|e| AuthConfigError(format!("not a JWKS document: {e}")))?;
        for jwk in &set.keys {
            if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
                continue;
            }
            let id = jwk.common.key_id.clone();
            let name = id.as_deref().unwrap_or("without `kid`");
            let algorithm = match (&jwk.common.key_algorithm, &jwk.algorithm) {
                (Some(alg), _) => alg.to_string().parse::<Algorithm>().map_err(|_| {
                    AuthConfigError(format!("JWKS key {name}: `alg` {alg} is not a signature algorithm accord verifies"))
                })?,
                (None, AlgorithmParameters::EllipticCurve(ec)) => match ec.curve {
                    EllipticCurve::P256 => Algorithm::ES256,
                    EllipticCurve::P384 => Algorithm::ES384,
                    _ => {
                        return Err(AuthConfigError(format!(
                            "JWKS key {name}: curve {:?} is not one accord verifies",
                            ec.curve
                        )))
                    }
                },
                (None, AlgorithmParameters::OctetKeyPair(_)) => Algorithm::EdDSA,
                (None, _) => {
                    return Err(AuthConfigError(format!(
                        "JWKS key {name} has no `alg`; an RSA or HMAC key must name its algorithm so tokens cannot choose it"
                    )))
                }
            };
            let key = DecodingKey::from_jwk(jwk)
                .map_err(|e| AuthConfigError(format!("JWKS key {name}: {e}")))?;
            self = self.push(id, algorithm, key)?;
        }
        Ok(self)
    }

    /// The JWKS document at `path`, as [`JwtVerifierBuilder::jwks`]; at
    /// most [`MAX_JWKS_BYTES`] are read.
    pub fn jwks_file(self, path: impl AsRef<Path>) -> Result<Self, AuthConfigError> {
        let json = read_bounded(path.as_ref(), MAX_JWKS_BYTES)?;
        self.jwks(&json)
            .map_err(|e| AuthConfigError(format!("{}: {e}", path.as_ref().display())))
    }

    /// Accepts tokens issued by `issuer` (`iss`); call again to accept
    /// several.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Accepts tokens meant for `audience` (`aud`); call again to accept
    /// several.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Clock skew allowed on `exp` and `nbf`, [`DEFAULT_LEEWAY`] unless set;
    /// whole seconds.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// The verifier, once it has a key, an issuer and an audience.
    pub fn build(self) -> Result<JwtVerifier, AuthConfigError> {
        if self.keys.is_empty() {
            return Err(AuthConfigError(
                "a JWT verifier needs at least one key: `pem`, `hmac_secret` or `jwks`".to_owned(),
            ));
        }
        if self.issuers.is_empty() {
            return Err(AuthConfigError(
                "a JWT verifier checks who issued a token: set `issuer`".to_owned(),
            ));
        }
        if self.audiences.is_empty() {
            return Err(AuthConfigError(
                "a JWT verifier checks whom a token is for: set `audience`".to_owned(),
            ));
        }
        Ok(JwtVerifier {
            inner: Arc::new(Inner {
                keys: self.keys,
                issuers: self.issuers,
                audiences: self.audiences,
                leeway: self.leeway.unwrap_or(DEFAULT_LEEWAY),
            }),
        })
    }

    fn push(
        mut self,
        id: Option<String>,
        algorithm: Algorithm,
        key: DecodingKey,
    ) -> Result<Self, AuthConfigError> {
        if self.keys.len() == MAX_KEYS {
            return Err(AuthConfigError(format!(
                "a JWT verifier holds at most {MAX_KEYS} keys"
            )));
        }
        self.keys.push(Key { id, algorithm, key });
        Ok(self)
    }
}

fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, AuthConfigError> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| AuthConfigError(format!("{}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| AuthConfigError(format!("{}: {e}", path.display())))?;
    if bytes.len() as u64 > limit {
        return Err(AuthConfigError(format!(
            "{} is over the {limit} bytes accord reads",
            path.display()
        )));
    }
    Ok(bytes)
}
