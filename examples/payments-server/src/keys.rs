//! Where the server's keys come from: files an operator supplies, or, in
//! development mode, a signing key and an API key made at start.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use accord::auth::{Algorithm, ApiKeys, AuthConfigError, Identity, JwtVerifier};
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

/// The lines of an API key file: `<sha256-hex> <subject> [scope ...]`,
/// one key per line; blank lines and `#` comments are skipped. The file
/// holds digests, so it does not hold the keys themselves
/// (`printf %s "$KEY" | sha256sum` makes one).
pub fn parse_api_keys(text: &str) -> Result<ApiKeys, String> {
    let mut keys = ApiKeys::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(digest), Some(subject)) = (words.next(), words.next()) else {
            return Err(format!(
                "line {}: expected `<sha256-hex> <subject> [scope ...]`",
                number + 1
            ));
        };
        let digest = hex_digest(digest)
            .ok_or_else(|| format!("line {}: `{digest}` is not 64 hex digits", number + 1))?;
        keys = keys.insert_sha256(digest, Identity::new(subject).with_scopes(words));
    }
    Ok(keys)
}

fn hex_digest(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (i, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(digest)
}

/// Credentials made at start for development: an ES256 signing key with a
/// token granting every scope, and an API key granting `reports`.
#[derive(Clone)]
pub struct DevCredentials {
    /// A bearer token for `dev`, valid for `TOKEN_LIFETIME`.
    pub token: String,
    /// An API key for `back-office`.
    pub api_key: String,
    /// What verifies the token.
    pub verifier: JwtVerifier,
    /// The set holding the API key.
    pub api_keys: ApiKeys,
    signing: EncodingKey,
}

/// The issuer and audience of development tokens.
pub const DEV_ISSUER: &str = "payments-dev";
/// The audience of development tokens.
pub const DEV_AUDIENCE: &str = "payments";
/// How long a development token stays valid.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

impl std::fmt::Debug for DevCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCredentials").finish_non_exhaustive()
    }
}

impl DevCredentials {
    /// Makes a key pair, a token and an API key.
    pub fn generate() -> Result<Self, AuthConfigError> {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| AuthConfigError::new(format!("making a signing key: {e}")))?;
        let signing = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes())
            .map_err(|e| AuthConfigError::new(format!("reading the signing key: {e}")))?;
        let verifier = JwtVerifier::builder()
            .pem(pair.public_key_pem().as_bytes(), Algorithm::ES256)?
            .issuer(DEV_ISSUER)
            .audience(DEV_AUDIENCE)
            .build()?;
        let api_key: String = (0..32).map(|_| fastrand::alphanumeric()).collect();
        let api_keys = ApiKeys::new().insert(
            &api_key,
            Identity::new("back-office").with_scopes(["reports"]),
        );
        let mut credentials = DevCredentials {
            token: String::new(),
            api_key,
            verifier,
            api_keys,
            signing,
        };
        credentials.token = credentials.token_for("dev", &["payments:write", "payments:refund"])?;
        Ok(credentials)
    }

    /// A token for `subject` granting `scopes`, valid for `TOKEN_LIFETIME`.
    pub fn token_for(&self, subject: &str, scopes: &[&str]) -> Result<String, AuthConfigError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let claims = json!({
            "sub": subject,
            "iss": DEV_ISSUER,
            "aud": DEV_AUDIENCE,
            "iat": now,
            "exp": now + TOKEN_LIFETIME.as_secs(),
            "scope": scopes.join(" "),
        });
        encode(&Header::new(Algorithm::ES256), &claims, &self.signing)
            .map_err(|e| AuthConfigError::new(format!("signing the token: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_files_hold_digests_subjects_and_scopes() {
        let digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"; // "test"
        let keys =
            parse_api_keys(&format!("# back office\n\n{digest} ops reports audit\n")).unwrap();
        let identity = keys.identify(b"test").unwrap();
        assert_eq!(identity.subject, "ops");
        assert_eq!(identity.scopes, ["reports", "audit"]);
        let error = parse_api_keys("abc ops").unwrap_err();
        assert!(error.contains("line 1"), "{error}");
        assert!(parse_api_keys("only-one-word").is_err());
    }
}
