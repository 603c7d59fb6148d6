//! TLS and the client's connection pool, over real loopback sockets, with
//! certificates made at run time by rcgen: the typed client calls an HTTPS
//! server over HTTP/2 or HTTP/1.1 as ALPN decides, a certificate from
//! another CA and a missing client certificate are refused with errors that
//! say so, a client certificate's subject reaches the server, a TLS client
//! that never finishes its handshake is closed at the header-read timeout,
//! and the pool closes idle connections by timer and beyond its bound.
//!
//! Every wait has a deadline.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use accord::http::{ClientCertificate, ServeOptions, ServerTls};
use accord::tls::Roots;
use accord::{CallError, HttpTransport, NoError};
use accord_tests::certs::Ca;
use accord_tests::scenarios::pickup_order;
use accord_tests::within;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::Router;
use http::Version;
use orders_contract::{OrderId, OrdersClient, OrdersServer};
use orders_server::InMemoryOrders;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// What the server saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    version: Version,
    subject: Option<String>,
    alt_names: Vec<String>,
}

type SeenLog = Arc<Mutex<Vec<Seen>>>;

/// The orders service, recording each request's HTTP version and client
/// certificate.
fn recording_router() -> (Router, SeenLog) {
    let seen = SeenLog::default();
    let log = seen.clone();
    let router = InMemoryOrders::new()
        .into_router()
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            let log = log.clone();
            async move {
                let certificate = request.extensions().get::<ClientCertificate>();
                log.lock().expect("seen log").push(Seen {
                    version: request.version(),
                    subject: certificate.map(|c| c.subject().to_owned()),
                    alt_names: certificate
                        .map(|c| c.subject_alt_names().to_vec())
                        .unwrap_or_default(),
                });
                next.run(request).await
            }
        }));
    (router, seen)
}

fn seen(log: &SeenLog) -> Vec<Seen> {
    log.lock().expect("seen log").clone()
}

/// A server run by [`ServeOptions::serve`] in the background; dropping it
/// aborts it.
struct Server {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

impl Server {
    async fn start(router: Router, options: ServeOptions) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(options.serve(listener, router, async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            _stop: stop,
            task,
        }
    }

    /// An HTTPS server with `ca`'s server certificate.
    async fn https(ca: &Ca, router: Router) -> Server {
        let id = ca.server();
        let tls = ServerTls::from_pem(&id.cert_pem, &id.key_pem).expect("server TLS settings");
        Server::start(router, ServeOptions::new().tls(tls)).await
    }

    fn https_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A client of `url` trusting only `ca`.
fn client_trusting(url: &str, ca: &Ca) -> OrdersClient {
    OrdersClient::with_transport(
        HttpTransport::builder(url)
            .roots(Roots::None)
            .ca_pem(ca.pem())
            .build()
            .expect("transport"),
    )
}

fn connection_error(error: CallError<NoError>) -> String {
    match error {
        CallError::Connection(cause) => cause.to_string(),
        other => panic!("expected a connection error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_calls_use_http2_when_the_server_offers_it_by_alpn() {
    let ca = Ca::new("accord test CA");
    let (router, log) = recording_router();
    let server = Server::https(&ca, router).await;
    let client = client_trusting(&server.https_url(), &ca);

    let placed = within(
        "an order placed over HTTPS",
        client.place_order(&pickup_order("c1", "apple", 2)),
    )
    .await
    .expect("the order is placed");
    let fetched = within("the order fetched over HTTPS", client.get_order(&placed.id))
        .await
        .expect("the order is found");
    assert_eq!(fetched, placed);

    let versions: Vec<Version> = seen(&log).iter().map(|s| s.version).collect();
    assert_eq!(versions, [Version::HTTP_2, Version::HTTP_2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_calls_use_http1_when_the_server_offers_only_it() {
    let ca = Ca::new("accord test CA");
    let id = ca.server();
    let tls = ServerTls::builder()
        .identity_pem(&id.cert_pem, &id.key_pem)
        .alpn_protocols(&["http/1.1"])
        .build()
        .expect("server TLS settings");
    let (router, log) = recording_router();
    let server = Server::start(router, ServeOptions::new().tls(tls)).await;
    let client = client_trusting(&server.https_url(), &ca);
    within("a call over HTTPS", client.health())
        .await
        .expect("health");
    within("a call over HTTPS", client.stats())
        .await
        .expect("stats");

    // A client told to keep to HTTP/1.1 does, also when HTTP/2 is offered.
    let (router, both_log) = recording_router();
    let both = Server::https(&ca, router).await;
    let http1 = OrdersClient::with_transport(
        HttpTransport::builder(&both.https_url())
            .roots(Roots::None)
            .ca_pem(ca.pem())
            .http1_only()
            .build()
            .expect("transport"),
    );
    within("a call over HTTPS", http1.health())
        .await
        .expect("health");

    let versions: Vec<Version> = seen(&log)
        .iter()
        .chain(&seen(&both_log))
        .map(|s| s.version)
        .collect();
    assert_eq!(versions, [Version::HTTP_11; 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_no_trusted_ca_issued_is_refused_with_a_clear_error() {
    let ca = Ca::new("accord test CA");
    let other = Ca::new("another CA");
    let (router, log) = recording_router();
    let server = Server::https(&ca, router).await;
    let url = server.https_url();

    let error = within(
        "a call to an untrusted server",
        client_trusting(&url, &other).health(),
    )
    .await
    .expect_err("the server's certificate is not trusted");
    let text = connection_error(error);
    eprintln!("with another CA: {text}");
    assert!(
        text.contains(&format!("TLS with 127.0.0.1:{}", server.addr.port())),
        "{text}"
    );
    assert!(text.contains("certificate was not trusted"), "{text}");
    assert!(text.contains("certificate(s) given with ca_pem"), "{text}");

    // The default client trusts the platform's store, which has never heard
    // of this CA.
    let default = OrdersClient::new(&url).expect("an https:// base URL");
    let error = within("a call to an untrusted server", default.health())
        .await
        .expect_err("the server's certificate is not trusted");
    let text = connection_error(error);
    eprintln!("with the platform's roots: {text}");
    assert!(text.contains("certificate was not trusted"), "{text}");
    assert!(text.contains("the platform's trust store"), "{text}");

    assert!(seen(&log).is_empty(), "no request may reach the service");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_refuses_a_client_without_a_certificate_from_the_client_ca() {
    let ca = Ca::new("accord test CA");
    let rogue = Ca::new("a rogue CA");
    let id = ca.server();
    let tls = ServerTls::builder()
        .identity_pem(&id.cert_pem, &id.key_pem)
        .client_ca_pem(ca.pem())
        .build()
        .expect("server TLS settings");
    let (router, log) = recording_router();
    let server = Server::start(router, ServeOptions::new().tls(tls)).await;
    let url = server.https_url();

    let error = within(
        "a call without a client certificate",
        client_trusting(&url, &ca).health(),
    )
    .await
    .expect_err("a client certificate is required");
    let text = connection_error(error);
    eprintln!("without a client certificate: {text}");
    assert!(text.contains("requires a client certificate"), "{text}");
    assert!(text.contains("client_identity_pem"), "{text}");

    let rogue_id = rogue.client("intruder");
    let intruder = OrdersClient::with_transport(
        HttpTransport::builder(&url)
            .roots(Roots::None)
            .ca_pem(ca.pem())
            .client_identity_pem(&rogue_id.cert_pem, &rogue_id.key_pem)
            .build()
            .expect("transport"),
    );
    let error = within("a call with a rogue certificate", intruder.health())
        .await
        .expect_err("a certificate from another CA is refused");
    let text = connection_error(error);
    eprintln!("with a certificate from another CA: {text}");
    assert!(text.contains("refused this client's certificate"), "{text}");

    assert!(seen(&log).is_empty(), "no request may reach the service");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_hands_the_client_certificate_to_the_server() {
    let ca = Ca::new("accord test CA");
    let id = ca.server();
    let worker = ca.client("orders-worker");
    let with_certificate = |url: &str| {
        OrdersClient::with_transport(
            HttpTransport::builder(url)
                .roots(Roots::None)
                .ca_pem(ca.pem())
                .client_identity_pem(&worker.cert_pem, &worker.key_pem)
                .build()
                .expect("transport"),
        )
    };

    let tls = ServerTls::builder()
        .identity_pem(&id.cert_pem, &id.key_pem)
        .client_ca_pem(ca.pem())
        .build()
        .expect("server TLS settings");
    let (router, log) = recording_router();
    let server = Server::start(router, ServeOptions::new().tls(tls)).await;
    within(
        "a call with a client certificate",
        with_certificate(&server.https_url()).health(),
    )
    .await
    .expect("health");
    let requests = seen(&log);
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].subject.as_deref(),
        Some("CN=orders-worker,O=accord tests")
    );
    assert_eq!(
        requests[0].alt_names,
        ["URI:spiffe://accord.test/orders-worker"]
    );

    // With client certificates optional, a client without one gets in
    // anonymously and one with a certificate is still identified.
    let tls = ServerTls::builder()
        .identity_pem(&id.cert_pem, &id.key_pem)
        .client_ca_pem(ca.pem())
        .client_certificate_optional()
        .build()
        .expect("server TLS settings");
    let (router, log) = recording_router();
    let server = Server::start(router, ServeOptions::new().tls(tls)).await;
    within(
        "an anonymous call",
        client_trusting(&server.https_url(), &ca).health(),
    )
    .await
    .expect("health");
    within(
        "an identified call",
        with_certificate(&server.https_url()).health(),
    )
    .await
    .expect("health");
    let subjects: Vec<Option<String>> = seen(&log).into_iter().map(|s| s.subject).collect();
    assert_eq!(
        subjects,
        [None, Some("CN=orders-worker,O=accord tests".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_clients_that_never_finish_the_handshake_are_closed_after_the_header_read_timeout() {
    let header_read = Duration::from_secs(2);
    let ca = Ca::new("accord test CA");
    let id = ca.server();
    let tls = ServerTls::from_pem(&id.cert_pem, &id.key_pem).expect("server TLS settings");
    let server = Server::start(
        InMemoryOrders::new().into_router(),
        ServeOptions::new()
            .header_read_timeout(header_read)
            .tls(tls),
    )
    .await;
    let addr = server.addr;

    // A steady HTTPS client on fresh connections throughout.
    let (stop, mut stopped) = oneshot::channel::<()>();
    let url = server.https_url();
    let steady_ca = ca.pem();
    let steady = tokio::spawn(async move {
        let (mut answered, mut failures) = (0, Vec::new());
        loop {
            let client = OrdersClient::with_transport(
                HttpTransport::builder(&url)
                    .roots(Roots::None)
                    .ca_pem(&steady_ca)
                    .build()
                    .expect("transport"),
            );
            match tokio::time::timeout(Duration::from_secs(2), client.health()).await {
                Ok(Ok(())) => answered += 1,
                Ok(Err(error)) => failures.push(error.to_string()),
                Err(_) => failures.push("no answer within 2 s".to_owned()),
            }
            tokio::select! {
                _ = &mut stopped => return (answered, failures),
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
    });

    // Silent sockets, a ClientHello cut short, one trickled a byte every
    // half second, and a client that completes the handshake but sends no
    // request.
    let hello_start: &[u8] = &[
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    let mut stalled = Vec::new();
    for i in 0..12 {
        let (bytes, trickle): (&[u8], bool) = match i % 3 {
            0 => (&[], false),
            1 => (hello_start, false),
            _ => (hello_start, true),
        };
        let bytes = bytes.to_vec();
        stalled.push(tokio::spawn(async move {
            let opened = Instant::now();
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            if !trickle {
                stream.write_all(&bytes).await.expect("write");
            }
            let mut next = bytes.into_iter().chain(std::iter::repeat(0u8));
            let mut buf = [0u8; 256];
            loop {
                tokio::select! {
                    read = stream.read(&mut buf) => match read {
                        Ok(0) | Err(_) => return opened.elapsed(),
                        Ok(_) => {}
                    },
                    () = tokio::time::sleep(Duration::from_millis(500)), if trickle => {
                        let byte = [next.next().expect("endless")];
                        if stream.write_all(&byte).await.is_err() {
                            return opened.elapsed();
                        }
                    }
                }
            }
        }));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates({
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der()).expect("the CA as a root");
        roots
    })
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let quiet = tokio::spawn(async move {
        let opened = Instant::now();
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
        let mut tls = connector
            .connect(name, tcp)
            .await
            .expect("a completed handshake");
        let mut buf = [0u8; 256];
        loop {
            match tls.read(&mut buf).await {
                Ok(0) | Err(_) => return opened.elapsed(),
                Ok(_) => {}
            }
        }
    });
    stalled.push(quiet);

    for (i, client) in stalled.into_iter().enumerate() {
        let open_for = within("a stalled TLS connection to be closed", client)
            .await
            .expect("the stalled client did not panic");
        assert!(
            open_for >= header_read - Duration::from_millis(300)
                && open_for <= header_read + Duration::from_secs(2),
            "stalled connection {i} was closed after {open_for:?}, not after the header-read timeout of {header_read:?}"
        );
    }
    let _ = stop.send(());
    let (answered, failures) = within("the steady client", steady)
        .await
        .expect("the steady client did not panic");
    assert!(
        failures.is_empty(),
        "a normal client must be answered throughout: {failures:?}"
    );
    assert!(answered >= 5, "only {answered} normal requests answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_finishes_the_handshake_fails_the_call_at_the_connect_timeout() {
    // Accepts connections and never says a word.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let connect_timeout = Duration::from_millis(500);
    let client = OrdersClient::with_transport(
        HttpTransport::builder(&format!("https://127.0.0.1:{}", addr.port()))
            .connect_timeout(connect_timeout)
            .build()
            .expect("transport"),
    );
    let started = Instant::now();
    let error = within("a call to a silent server", client.health())
        .await
        .expect_err("the handshake never completes");
    let took = started.elapsed();
    let text = connection_error(error);
    eprintln!("a silent server: {text} (after {took:?})");
    assert!(text.contains("connect timeout of 500ms"), "{text}");
    // The idempotent call is sent once more after a connection failure.
    assert!(
        took >= connect_timeout && took < connect_timeout * 2 + Duration::from_secs(1),
        "the call failed after {took:?}"
    );
    holder.abort();
}

/// A bare HTTP/1.1 server answering `204 No Content` to every request, that
/// reports when each connection is closed by its client. The first
/// `hold_until` requests are answered only once that many are in flight.
struct BareServer {
    addr: SocketAddr,
    closed: tokio::sync::mpsc::UnboundedReceiver<Instant>,
    task: JoinHandle<()>,
}

impl BareServer {
    async fn start(hold_until: usize) -> BareServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (closed_tx, closed) = tokio::sync::mpsc::unbounded_channel();
        let barrier = Arc::new(tokio::sync::Barrier::new(hold_until.max(1)));
        let task = tokio::spawn(async move {
            let mut held = 0;
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let closed = closed_tx.clone();
                let barrier = (held < hold_until).then(|| barrier.clone());
                held += 1;
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut filled = 0;
                    let mut barrier = barrier;
                    loop {
                        match stream.read(&mut buf[filled..]).await {
                            Ok(0) | Err(_) => {
                                let _ = closed.send(Instant::now());
                                return;
                            }
                            Ok(n) => filled += n,
                        }
                        if buf[..filled].windows(4).any(|w| w == b"\r\n\r\n") {
                            filled = 0;
                            if let Some(barrier) = barrier.take() {
                                barrier.wait().await;
                            }
                            let reply = b"HTTP/1.1 204 No Content\r\n\r\n";
                            if stream.write_all(reply).await.is_err() {
                                let _ = closed.send(Instant::now());
                                return;
                            }
                        }
                    }
                });
            }
        });
        BareServer { addr, closed, task }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }
}

impl Drop for BareServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_closes_idle_connections_by_timer() {
    let mut server = BareServer::start(0).await;
    let idle = Duration::from_millis(500);
    let client = OrdersClient::with_transport(
        HttpTransport::builder(&server.url())
            .pool_idle_timeout(idle)
            .build()
            .expect("transport"),
    );
    within("a call", client.health()).await.expect("health");
    let answered = Instant::now();
    let closed = within("the idle connection to be closed", server.closed.recv())
        .await
        .expect("a closed connection");
    let after = closed - answered;
    assert!(
        after >= idle - Duration::from_millis(50) && after <= idle * 2 + Duration::from_secs(1),
        "the idle connection was closed {after:?} after its last call, with an idle timeout of {idle:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_keeps_at_most_its_bound_of_idle_connections() {
    let in_flight = 8;
    let max_idle = 2;
    let mut server = BareServer::start(in_flight).await;
    let client = OrdersClient::with_transport(
        HttpTransport::builder(&server.url())
            .pool_max_idle_per_host(max_idle)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .expect("transport"),
    );
    // The server answers none until all are in flight: one connection each.
    let calls: Vec<_> = (0..in_flight)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.health().await })
        })
        .collect();
    for call in calls {
        within("a call", call)
            .await
            .expect("no panic")
            .expect("health");
    }
    for closed in 0..in_flight - max_idle {
        within(
            &format!("connection {closed} beyond the idle bound to be closed"),
            server.closed.recv(),
        )
        .await
        .expect("a closed connection");
    }
    // The bound's worth stay open for the next calls.
    let more = tokio::time::timeout(Duration::from_millis(500), server.closed.recv()).await;
    assert!(
        more.is_err(),
        "only {} connections may be closed",
        in_flight - max_idle
    );
    within("a call on a pooled connection", client.health())
        .await
        .expect("health");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_speaks_h2c_to_a_plain_server() {
    let (router, log) = recording_router();
    let server = Server::start(router, ServeOptions::new()).await;
    let client = OrdersClient::with_transport(
        HttpTransport::builder(&format!("http://127.0.0.1:{}", server.addr.port()))
            .http2_prior_knowledge()
            .build()
            .expect("transport"),
    );
    within("a call over h2c", client.health())
        .await
        .expect("health");
    let plain =
        OrdersClient::new(&format!("http://127.0.0.1:{}", server.addr.port())).expect("transport");
    within("a call over HTTP/1.1", plain.get_order(&OrderId(1)))
        .await
        .expect_err("no order 1");
    let versions: Vec<Version> = seen(&log).iter().map(|s| s.version).collect();
    assert_eq!(versions, [Version::HTTP_2, Version::HTTP_11]);
}

#[test]
fn tls_settings_that_cannot_work_name_the_setting_and_the_problem() {
    let ca = Ca::new("accord test CA");
    let server = ca.server();
    let client = ca.client("orders-worker");
    let build_error = |builder: accord::HttpTransportBuilder| {
        builder
            .build()
            .expect_err("the settings cannot work")
            .to_string()
    };

    let text = build_error(HttpTransport::builder("http://127.0.0.1:1").ca_pem(ca.pem()));
    assert!(
        text.contains("TLS settings were given for the http:// base URL"),
        "{text}"
    );

    let text = build_error(HttpTransport::builder("https://127.0.0.1:1").ca_pem("no PEM here"));
    assert!(
        text.contains("`ca_pem`") && text.contains("no certificate found"),
        "{text}"
    );

    let text = build_error(
        HttpTransport::builder("https://127.0.0.1:1")
            .roots(Roots::None)
            .ca_pem(ca.pem())
            .client_identity_pem(&client.cert_pem, &server.key_pem),
    );
    assert!(
        text.contains("`client_identity_pem`") && text.contains("does not belong"),
        "{text}"
    );

    let text = build_error(HttpTransport::builder("https://127.0.0.1:1").roots(Roots::None));
    assert!(
        text.contains("Roots::None") && text.contains("none was given"),
        "{text}"
    );

    let text = build_error(
        HttpTransport::builder("https://127.0.0.1:1").ca_pem_file("/nonexistent/ca.pem"),
    );
    assert!(text.contains("cannot read /nonexistent/ca.pem"), "{text}");

    let text = ServerTls::from_pem(&server.cert_pem, &client.key_pem)
        .expect_err("a key of another certificate")
        .to_string();
    assert!(
        text.contains("`identity_pem`") && text.contains("does not belong"),
        "{text}"
    );

    let text = ServerTls::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem")
        .expect_err("no such files")
        .to_string();
    assert!(text.contains("cannot read /nonexistent/cert.pem"), "{text}");

    let text = ServerTls::builder()
        .identity_pem(&server.cert_pem, &server.key_pem)
        .client_ca_pem(&server.key_pem)
        .build()
        .expect_err("a key is no CA")
        .to_string();
    assert!(
        text.contains("`client_ca_pem`") && text.contains("no certificate found"),
        "{text}"
    );
}
