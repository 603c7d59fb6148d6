//! Authentication declared on a contract, enforced over HTTP, in process
//! and over a broker by the same `AuthLayer`: each refusal's status,
//! challenge and problem document, the identity reaching the handler, and
//! the Rust client's credentials.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use accord::auth::{ApiKeys, AuthLayer, Authenticator, Identity, FORBIDDEN, UNAUTHENTICATED};
use accord::error::Problem;
use accord::wire::{Call, Reply, Route};
use accord::{
    BrokerTransport, CallError, Credentials, Dispatcher, HttpTransport, InProcess, MemoryBroker,
    Transport,
};
use accord_tests::tokens::{now, TokenIssuer};
use accord_tests::{within, TestServer};
use payments_contract::{NewCharge, Payments, PaymentsClient, PaymentsServer};
use payments_server::InMemoryPayments;
use serde_json::json;

const OFFICE_KEY: &str = "office-key-0123456789";

fn dispatcher(issuer: &TokenIssuer) -> Dispatcher {
    let keys = ApiKeys::new().insert(OFFICE_KEY, Identity::new("office").with_scopes(["reports"]));
    let authenticator = Authenticator::new()
        .bearer(issuer.verifier())
        .api_keys(keys);
    let layer = AuthLayer::new(Payments::descriptor(), authenticator).expect("the layer");
    InMemoryPayments::new().into_dispatcher().layer(layer)
}

fn route(dispatcher: &Dispatcher, operation: &str) -> &'static Route {
    dispatcher
        .routes()
        .iter()
        .find(|r| r.operation == operation)
        .expect("a route")
}

fn charge_call(headers: &[(&'static str, String)]) -> Call {
    let mut call = Call::new();
    call.encode_json_body(&NewCharge {
        customer: "c-1".into(),
        amount_cents: 500,
    })
    .expect("a body");
    for (name, value) in headers {
        call.headers_mut()
            .insert(*name, value.parse().expect("a header value"));
    }
    call
}

fn bearer(token: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {token}"))]
}

async fn send<T: Transport>(transport: &T, route: &'static Route, call: Call) -> Reply {
    within(
        route.operation,
        transport.send(route, call, Duration::from_secs(5)),
    )
    .await
    .unwrap_or_else(|e| panic!("{}: {e:?}", route.operation))
}

fn challenge(reply: &Reply) -> String {
    reply
        .header("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn problem(reply: &Reply) -> Problem {
    assert_eq!(
        reply.content_type.as_ref().and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "a refusal is a problem document"
    );
    serde_json::from_slice(&reply.body).expect("a problem document")
}

/// Every refusal and acceptance, through `transport`, which reaches a
/// server built by [`dispatcher`] with `issuer`'s key.
async fn check_every_case<T: Transport + Clone>(
    transport: T,
    routes: &Dispatcher,
    issuer: &TokenIssuer,
) {
    let charge = route(routes, "charge");

    // A public request needs nothing.
    let health = send(&transport, route(routes, "health"), Call::new()).await;
    assert_eq!(health.status, 200);

    // No credential: 401 with the bare challenge.
    let reply = send(&transport, charge, charge_call(&[])).await;
    assert_eq!(reply.status, 401);
    assert_eq!(challenge(&reply), r#"Bearer realm="payments""#);
    let refused = problem(&reply);
    assert_eq!(
        (refused.status, refused.type_.as_str()),
        (401, UNAUTHENTICATED)
    );

    // Not a bearer token: 401 without an error code.
    let basic = vec![("authorization", "Basic dXNlcjpwYXNz".to_owned())];
    let reply = send(&transport, charge, charge_call(&basic)).await;
    assert_eq!(
        (reply.status, challenge(&reply)),
        (401, r#"Bearer realm="payments""#.to_owned())
    );

    // Tokens that fail verification: 401 invalid_token, saying why.
    let other_key = issuer.another();
    let mut cases = vec![(
        other_key.token("ada", &["payments:write"]),
        "the token's signature does not match any key",
    )];
    for (claim, value, why) in [
        ("exp", json!(now() - 600), "the token has expired"),
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
    ] {
        let mut claims = issuer.claims("ada");
        claims.insert(claim.into(), value);
        claims.insert("scope".into(), json!("payments:write"));
        cases.push((issuer.sign(&claims), why));
    }
    for (token, why) in cases {
        let reply = send(&transport, charge, charge_call(&bearer(&token))).await;
        assert_eq!(reply.status, 401, "{why}");
        assert_eq!(
            challenge(&reply),
            format!(
                r#"Bearer realm="payments", error="invalid_token", error_description="{}""#,
                why.replace('"', "\\\"")
            ),
        );
        assert_eq!(problem(&reply).detail.as_deref(), Some(why));
    }

    // Valid, without the scope: 403 naming it.
    let reply = send(
        &transport,
        charge,
        charge_call(&bearer(&issuer.token("ada", &["payments:read"]))),
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        challenge(&reply),
        r#"Bearer realm="payments", error="insufficient_scope", scope="payments:write""#
    );
    let forbidden = problem(&reply);
    assert_eq!(forbidden.type_, FORBIDDEN);
    assert!(forbidden.detail.unwrap().contains("`payments:write`"));

    // With the scope, the handler runs and sees who called.
    let client = PaymentsClient::with_transport(transport.clone())
        .with_credentials(Credentials::new().bearer(issuer.token("ada", &["payments:write"])));
    let made = within(
        "charge",
        client.charge(&NewCharge {
            customer: "c-1".into(),
            amount_cents: 500,
        }),
    )
    .await
    .expect("an authorised charge");
    assert_eq!(made.charged_by, "ada");

    // A wrong API key is 401 with the API key challenge; the right one
    // reaches the handler.
    let totals = route(routes, "totals");
    let mut wrong = Call::new();
    wrong
        .headers_mut()
        .insert("x-api-key", "nope".parse().unwrap());
    let reply = send(&transport, totals, wrong).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        challenge(&reply),
        r#"ApiKey realm="payments", header="x-api-key""#
    );
    let office = PaymentsClient::with_transport(transport.clone())
        .with_credentials(Credentials::new().api_key(OFFICE_KEY));
    let sum = within("totals", office.totals())
        .await
        .expect("totals with the key");
    assert_eq!(sum.charged_cents, 500);

    // The typed client reports a refusal as the problem document.
    let anonymous = PaymentsClient::with_transport(transport.clone());
    match within(
        "charge",
        anonymous.charge(&NewCharge {
            customer: "c".into(),
            amount_cents: 1,
        }),
    )
    .await
    {
        Err(CallError::Problem(problem)) => assert_eq!(problem.status, 401),
        other => panic!("expected a 401 problem, got {other:?}"),
    }

    // A provider is asked before each call that needs a credential, and
    // only those.
    let asked = Arc::new(AtomicUsize::new(0));
    let token = issuer.token("bob", &[]);
    let counter = asked.clone();
    let fetching = PaymentsClient::with_transport(transport.clone()).with_credentials(
        Credentials::new().bearer_from(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let token = token.clone();
            async move { Ok::<_, std::io::Error>(token) }
        }),
    );
    within("get_charge", fetching.get_charge(&made.id))
        .await
        .expect("a read");
    within("get_charge", fetching.get_charge(&made.id))
        .await
        .expect("a read");
    within("health", fetching.health()).await.expect("health");
    assert_eq!(asked.load(Ordering::SeqCst), 2);

    // A provider that fails fails the call before it is sent.
    let failing =
        PaymentsClient::with_transport(transport).with_credentials(Credentials::new().bearer_from(
            || async { Err::<String, _>(std::io::Error::other("the identity provider is down")) },
        ));
    match within("get_charge", failing.get_charge(&made.id)).await {
        Err(CallError::Credential(error)) => {
            assert!(error.to_string().contains("identity provider is down"))
        }
        other => panic!("expected a credential error, got {other:?}"),
    }
}

#[tokio::test]
async fn auth_over_http() {
    let issuer = TokenIssuer::es256();
    let dispatcher = dispatcher(&issuer);
    let server = TestServer::start(accord::HttpServer::new(dispatcher.clone()).into_router()).await;
    let transport = HttpTransport::new(&server.url()).expect("a transport");
    check_every_case(transport, &dispatcher, &issuer).await;
}

#[tokio::test]
async fn auth_in_process() {
    let issuer = TokenIssuer::ed25519();
    let dispatcher = dispatcher(&issuer);
    check_every_case(InProcess::new(dispatcher.clone()), &dispatcher, &issuer).await;
}

#[tokio::test]
async fn auth_over_a_broker() {
    let issuer = TokenIssuer::hs256();
    let dispatcher = dispatcher(&issuer);
    let broker = MemoryBroker::new();
    let served = accord::serve_requests(broker.clone(), dispatcher.clone())
        .await
        .expect("serving over the broker");
    check_every_case(BrokerTransport::new(broker), &dispatcher, &issuer).await;
    served.shutdown().await;
}

#[test]
fn a_server_without_a_verifier_for_its_scheme_does_not_start() {
    let error = AuthLayer::new(
        Payments::descriptor(),
        Authenticator::new().api_keys(ApiKeys::new()),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("requires bearer tokens"),
        "{error}"
    );
}

/// Bearer auth over HTTPS: the client trusts a CA made for the test and
/// sends its token over TLS; the server verifies both.
#[tokio::test]
async fn bearer_auth_over_https() {
    use accord::http::{ServeOptions, ServerTls};
    use accord::tls::Roots;
    use accord_tests::certs::Ca;

    let ca = Ca::new("payments test CA");
    let server_identity = ca.server();
    let tls = ServerTls::from_pem(&server_identity.cert_pem, &server_identity.key_pem)
        .expect("server TLS");

    let issuer = TokenIssuer::es256();
    let router = accord::HttpServer::new(dispatcher(&issuer)).into_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("an address").port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        ServeOptions::new()
            .tls(tls)
            .serve(listener, router, async move {
                let _ = stopped.await;
            }),
    );

    let transport = HttpTransport::builder(&format!("https://127.0.0.1:{port}"))
        .roots(Roots::None)
        .ca_pem(ca.pem())
        .build()
        .expect("an HTTPS transport");
    let anonymous = PaymentsClient::with_transport(transport.clone());
    match within(
        "charge",
        anonymous.charge(&NewCharge {
            customer: "c".into(),
            amount_cents: 1,
        }),
    )
    .await
    {
        Err(CallError::Problem(problem)) => assert_eq!(problem.status, 401),
        other => panic!("expected a 401 problem, got {other:?}"),
    }
    let client = PaymentsClient::with_transport(transport)
        .with_credentials(Credentials::new().bearer(issuer.token("ada", &["payments:write"])));
    let made = within(
        "charge",
        client.charge(&NewCharge {
            customer: "c-1".into(),
            amount_cents: 900,
        }),
    )
    .await
    .expect("a charge over HTTPS");
    assert_eq!((made.charged_by.as_str(), made.amount_cents), ("ada", 900));

    let _ = stop.send(());
    within("the server to stop", server)
        .await
        .expect("the server task")
        .expect("the server");
}
