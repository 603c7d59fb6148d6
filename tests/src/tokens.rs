//! Bearer tokens for tests: a signing key made at run time (ECDSA P-256,
//! Ed25519 or an HMAC secret), tokens with the claims a test chooses, and
//! the verifier, PEM and JWKS that accept them.

use std::time::{SystemTime, UNIX_EPOCH};

use accord::auth::{Algorithm, JwtVerifier};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Map, Value};

/// The issuer every test token names unless a test overrides `iss`.
pub const ISSUER: &str = "https://issuer.test";
/// The audience every test token names unless a test overrides `aud`.
pub const AUDIENCE: &str = "orders";

/// A signing key and what verifies its tokens.
pub struct TokenIssuer {
    algorithm: Algorithm,
    key: EncodingKey,
    kid: Option<String>,
    /// The public key in PEM (empty for HMAC).
    pub public_pem: String,
    /// The raw public key, for Ed25519.
    public_raw: Vec<u8>,
    secret: Vec<u8>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// A fresh ECDSA P-256 key (ES256).
    pub fn es256() -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
        TokenIssuer {
            algorithm: Algorithm::ES256,
            key: EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).expect("EC PEM"),
            kid: None,
            public_pem: pair.public_key_pem(),
            public_raw: pair.public_key_raw().to_vec(),
            secret: Vec::new(),
        }
    }

    /// A fresh Ed25519 key (EdDSA).
    pub fn ed25519() -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("Ed25519 key");
        TokenIssuer {
            algorithm: Algorithm::EdDSA,
            key: EncodingKey::from_ed_pem(pair.serialize_pem().as_bytes()).expect("Ed PEM"),
            kid: None,
            public_pem: pair.public_key_pem(),
            public_raw: pair.public_key_raw().to_vec(),
            secret: Vec::new(),
        }
    }

    /// A random 32-byte HMAC secret (HS256).
    pub fn hs256() -> Self {
        let secret: Vec<u8> = (0..32).map(|_| fastrand_byte()).collect();
        TokenIssuer {
            algorithm: Algorithm::HS256,
            key: EncodingKey::from_secret(&secret).expect("HMAC key"),
            kid: None,
            public_pem: String::new(),
            public_raw: Vec::new(),
            secret,
        }
    }

    /// A fresh key of the same algorithm: a stranger to this one's
    /// verifier.
    pub fn another(&self) -> Self {
        match self.algorithm {
            Algorithm::EdDSA => TokenIssuer::ed25519(),
            Algorithm::HS256 => TokenIssuer::hs256(),
            _ => TokenIssuer::es256(),
        }
    }

    /// The same key, naming `kid` in its tokens and its JWKS entry.
    pub fn with_kid(mut self, kid: &str) -> Self {
        self.kid = Some(kid.to_owned());
        self
    }

    /// The claims of a valid token for `subject`: [`ISSUER`], [`AUDIENCE`],
    /// issued now, expiring in five minutes.
    pub fn claims(&self, subject: &str) -> Map<String, Value> {
        let now = now();
        json!({
            "sub": subject,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 300,
        })
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    /// A token for `subject` granting `scopes` (the `scope` claim).
    pub fn token(&self, subject: &str, scopes: &[&str]) -> String {
        let mut claims = self.claims(subject);
        claims.insert("scope".into(), json!(scopes.join(" ")));
        self.sign(&claims)
    }

    /// A token carrying exactly `claims`.
    pub fn sign(&self, claims: &Map<String, Value>) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = self.kid.clone();
        encode(&header, claims, &self.key).expect("sign a test token")
    }

    /// A verifier of this key's tokens from [`ISSUER`] for [`AUDIENCE`].
    pub fn verifier(&self) -> JwtVerifier {
        let builder = JwtVerifier::builder().issuer(ISSUER).audience(AUDIENCE);
        let builder = if self.algorithm == Algorithm::HS256 {
            builder.hmac_secret(&self.secret, self.algorithm)
        } else {
            builder.pem(self.public_pem.as_bytes(), self.algorithm)
        };
        builder.expect("test key").build().expect("test verifier")
    }

    /// A JWKS document holding this key's public half, with its `kid`, and
    /// its `alg` except for Ed25519 (whose curve allows only EdDSA).
    pub fn jwks(&self) -> String {
        if self.algorithm == Algorithm::EdDSA {
            let mut jwk =
                json!({ "kty": "OKP", "crv": "Ed25519", "x": base64url(&self.public_raw) });
            if let Some(kid) = &self.kid {
                jwk["kid"] = json!(kid);
            }
            return json!({ "keys": [jwk] }).to_string();
        }
        let mut jwk = Jwk::from_encoding_key(&self.key, self.algorithm).expect("JWK of a test key");
        jwk.common.key_id = self.kid.clone();
        serde_json::to_string(&JwkSet { keys: vec![jwk] }).expect("JWKS")
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Unpadded base64url (RFC 4648 §5), as JWKs write key material.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn fastrand_byte() -> u8 {
    fastrand::u8(..)
}
