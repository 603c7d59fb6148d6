//! Serves the in-memory payments service over HTTP, behind the contract's
//! authentication.
//!
//! ```text
//! payments-server [--listen ADDR] [--jwks FILE --issuer ISS --audience AUD] [--api-keys FILE]
//! ```
//!
//! With `--jwks`, bearer tokens are verified against that JWKS document
//! (each key pinned to its `alg`), from issuer ISS for audience AUD; with
//! `--api-keys`, API keys against the digests in that file (one
//! `<sha256-hex> <subject> [scope ...]` per line). Without `--jwks`, the
//! server runs in development mode: it makes a signing key and an API key
//! at start and prints a token (granting `payments:write` and
//! `payments:refund`) and the key, one per line, as `token: ...` and
//! `api key: ...`. Stop it with Ctrl-C; requests in flight finish first.

use accord::auth::{AuthLayer, Authenticator, JwtVerifier};
use payments_contract::{Payments, PaymentsServer};
use payments_server::{parse_api_keys, DevCredentials, InMemoryPayments};

struct Args {
    listen: String,
    jwks: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
    api_keys: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: "127.0.0.1:8081".to_owned(),
        jwks: None,
        issuer: None,
        audience: None,
        api_keys: None,
    };
    let mut words = std::env::args().skip(1);
    while let Some(flag) = words.next() {
        let mut value = || {
            words
                .next()
                .ok_or_else(|| format!("`{flag}` needs a value"))
        };
        match flag.as_str() {
            "--listen" => args.listen = value()?,
            "--jwks" => args.jwks = Some(value()?),
            "--issuer" => args.issuer = Some(value()?),
            "--audience" => args.audience = Some(value()?),
            "--api-keys" => args.api_keys = Some(value()?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = parse_args().map_err(|e| {
        format!("{e}\nusage: payments-server [--listen ADDR] [--jwks FILE --issuer ISS --audience AUD] [--api-keys FILE]")
    })?;

    let mut authenticator = Authenticator::new();
    let mut dev = None;
    match &args.jwks {
        Some(jwks) => {
            let (Some(issuer), Some(audience)) = (&args.issuer, &args.audience) else {
                return Err("`--jwks` needs `--issuer` and `--audience`".into());
            };
            let verifier = JwtVerifier::builder()
                .jwks_file(jwks)?
                .issuer(issuer)
                .audience(audience)
                .build()?;
            authenticator = authenticator.bearer(verifier);
        }
        None => {
            let credentials = DevCredentials::generate()?;
            authenticator = authenticator
                .bearer(credentials.verifier.clone())
                .api_keys(credentials.api_keys.clone());
            dev = Some(credentials);
        }
    }
    if let Some(path) = &args.api_keys {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        authenticator =
            authenticator.api_keys(parse_api_keys(&text).map_err(|e| format!("{path}: {e}"))?);
    }

    let layer = AuthLayer::new(Payments::descriptor(), authenticator)?;
    let dispatcher = InMemoryPayments::new().into_dispatcher().layer(layer);
    let app = accord::HttpServer::new(dispatcher).into_router();
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    let addr = listener.local_addr()?;
    if let Some(dev) = &dev {
        println!("listening: http://{addr}");
        println!("token: {}", dev.token);
        println!("api key: {}", dev.api_key);
    }
    tracing::info!("payments service on http://{addr}; OpenAPI at /openapi.json");
    accord::http::serve(listener, app, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down; finishing requests in flight");
    })
    .await?;
    Ok(())
}
