//! Bearer token verification with keys made at run time: each algorithm
//! family, JWKS, and every reason a token is refused.

use accord::auth::{Algorithm, JwtVerifier, DEFAULT_LEEWAY};
use accord_tests::tokens::{now, TokenIssuer, AUDIENCE, ISSUER};
use serde_json::json;

#[test]
fn es256_ed25519_and_hs256_tokens_verify_with_their_keys() {
    for issuer in [
        TokenIssuer::es256(),
        TokenIssuer::ed25519(),
        TokenIssuer::hs256(),
    ] {
        let identity = issuer
            .verifier()
            .verify(&issuer.token("ada", &["orders:read", "orders:write"]))
            .expect("a valid token");
        assert_eq!(identity.subject, "ada");
        assert_eq!(identity.scopes, ["orders:read", "orders:write"]);
        assert_eq!(identity.claims["iss"], ISSUER);
    }
}

#[test]
fn a_token_signed_by_another_key_is_refused() {
    let trusted = TokenIssuer::es256();
    let other = TokenIssuer::es256();
    let error = trusted
        .verifier()
        .verify(&other.token("ada", &[]))
        .unwrap_err();
    assert_eq!(error, "the token's signature does not match any key");
}

#[test]
fn the_token_cannot_choose_the_algorithm() {
    // An HS256 token whose secret is the server's public key: the classic
    // confusion attack. The key is pinned to ES256, so no key verifies it.
    let trusted = TokenIssuer::es256();
    let forged = {
        let key = jsonwebtoken::EncodingKey::from_secret(trusted.public_pem.as_bytes()).unwrap();
        let claims = trusted.claims("mallory");
        jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::HS256), &claims, &key).unwrap()
    };
    let error = trusted.verifier().verify(&forged).unwrap_err();
    assert!(
        error.contains("no key of this server verifies HS256"),
        "{error}"
    );
}

#[test]
fn expired_not_yet_valid_wrong_issuer_and_wrong_audience_are_refused() {
    let issuer = TokenIssuer::es256();
    let verifier = issuer.verifier();
    let leeway = DEFAULT_LEEWAY.as_secs();
    let cases = [
        ("exp", json!(now() - leeway - 10), "the token has expired"),
        (
            "nbf",
            json!(now() + leeway + 60),
            "the token is not valid yet (`nbf`)",
        ),
        (
            "iss",
            json!("https://elsewhere.test"),
            "the token's issuer (`iss`) is not accepted",
        ),
        (
            "aud",
            json!("billing"),
            "the token is not meant for this service (`aud`)",
        ),
    ];
    for (claim, value, expected) in cases {
        let mut claims = issuer.claims("ada");
        claims.insert(claim.into(), value);
        assert_eq!(
            verifier.verify(&issuer.sign(&claims)).unwrap_err(),
            expected,
            "{claim}"
        );
    }
    // Within the leeway, an expired token still counts.
    let mut claims = issuer.claims("ada");
    claims.insert("exp".into(), json!(now() - leeway / 2));
    assert!(verifier.verify(&issuer.sign(&claims)).is_ok());
}

#[test]
fn required_claims_are_named_when_missing() {
    let issuer = TokenIssuer::hs256();
    for claim in ["exp", "iss", "aud", "sub"] {
        let mut claims = issuer.claims("ada");
        claims.remove(claim);
        let error = issuer.verifier().verify(&issuer.sign(&claims)).unwrap_err();
        assert_eq!(error, format!("the token has no `{claim}` claim"));
    }
}

#[test]
fn malformed_tokens_are_refused_without_a_panic() {
    let verifier = TokenIssuer::es256().verifier();
    for token in ["", "abc", "a.b.c", "....", "eyJhbGciOiJFUzI1NiJ9.e30."] {
        let error = verifier.verify(token).unwrap_err();
        assert!(error.starts_with("the token"), "{token}: {error}");
    }
}

#[test]
fn jwks_keys_are_chosen_by_kid_and_pinned_to_their_alg() {
    let first = TokenIssuer::es256().with_kid("k1");
    let second = TokenIssuer::ed25519().with_kid("k2");
    let mut keys: Vec<serde_json::Value> = Vec::new();
    for issuer in [&first, &second] {
        let set: serde_json::Value = serde_json::from_str(&issuer.jwks()).unwrap();
        keys.extend(set["keys"].as_array().unwrap().iter().cloned());
    }
    let jwks = json!({ "keys": keys }).to_string();
    let dir = std::env::temp_dir().join(format!("accord-jwks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("jwks.json");
    std::fs::write(&path, &jwks).unwrap();
    let verifier = JwtVerifier::builder()
        .jwks_file(&path)
        .unwrap()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .unwrap();
    assert_eq!(
        verifier.verify(&first.token("a", &[])).unwrap().subject,
        "a"
    );
    assert_eq!(
        verifier.verify(&second.token("b", &[])).unwrap().subject,
        "b"
    );
    let stranger = TokenIssuer::es256().with_kid("k1");
    assert!(verifier.verify(&stranger.token("c", &[])).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn configuration_mistakes_are_named() {
    let no_key = JwtVerifier::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build();
    assert!(no_key.unwrap_err().to_string().contains("at least one key"));
    let issuer = TokenIssuer::es256();
    let no_issuer = JwtVerifier::builder()
        .pem(issuer.public_pem.as_bytes(), Algorithm::ES256)
        .unwrap()
        .audience(AUDIENCE)
        .build();
    assert!(no_issuer.unwrap_err().to_string().contains("set `issuer`"));
    let wrong_family = JwtVerifier::builder().pem(issuer.public_pem.as_bytes(), Algorithm::RS256);
    assert!(wrong_family.unwrap_err().to_string().contains("RS256"));
    let short = JwtVerifier::builder().hmac_secret(b"short", Algorithm::HS256);
    assert!(short.unwrap_err().to_string().contains("too short"));
    let rsa_without_alg =
        JwtVerifier::builder().jwks(br#"{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}]}"#);
    assert!(rsa_without_alg
        .unwrap_err()
        .to_string()
        .contains("has no `alg`"));
    let huge = vec![b' '; accord::auth::MAX_JWKS_BYTES as usize + 1];
    assert!(JwtVerifier::builder()
        .jwks(&huge)
        .unwrap_err()
        .to_string()
        .contains("over the"));
}
