//! The broker backends over TLS: NATS `tls://` and RabbitMQ `amqps://`
//! against broker processes of their own, started with certificates made at
//! run time. An event goes through each over TLS; a server certificate from
//! a CA the client does not trust is refused with an error that says so;
//! a server that verifies clients refuses a client without a certificate
//! and accepts one with a certificate from its CA.
//!
//! Where `nats-server` or `rabbitmq-server` is not installed the tests say
//! so and pass, except on CI (`CI` set), where they fail.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use accord::broker::amqp::{AmqpBroker, AmqpOptions};
use accord::broker::nats::{NatsBroker, NatsOptions};
use accord::broker::{Broker, BrokerError, Delivery, Message, SubscribeOptions, Subscription};
use accord::tls::{ClientTls, Roots};
use accord_faults::nats_server::{self, NatsServer};
use accord_faults::rabbit_server::{self, RabbitNode};
use accord_faults::support::runnable;
use accord_tests::certs::Ca;
use accord_tests::{within, DEADLINE as STEP};

/// A folder of certificate files readable by the broker's user.
fn cert_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("accord-tls-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a certificate folder");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("a certificate file");
    path
}

/// Publishes one event on a fresh topic and receives it in a fresh group.
async fn round_trip<B: Broker>(broker: &B, label: &str) {
    let topic = format!("tls.{label}.{}", std::process::id());
    let mut subscription = within(
        "subscribing over TLS",
        broker.subscribe(SubscribeOptions::new(format!("{label}-group"), [&topic])),
    )
    .await
    .expect("subscribe over TLS");
    within(
        "publishing over TLS",
        broker.publish(
            Message::new(topic.as_str(), "\"over tls\"").with_header("ce-id", format!("{label}-1")),
        ),
    )
    .await
    .expect("publish over TLS");
    let delivery = within("receiving over TLS", subscription.next())
        .await
        .expect("a delivery");
    assert_eq!(&delivery.message().payload[..], b"\"over tls\"");
    within("acking over TLS", delivery.ack())
        .await
        .expect("ack over TLS");
}

fn connection_error<T>(result: Result<T, BrokerError>) -> String {
    match result {
        Ok(_) => panic!("the connection was expected to be refused"),
        Err(BrokerError::Connection(text)) => text,
        Err(other) => panic!("expected a connection error, got {other:?}"),
    }
}

/// A NATS server with TLS, verifying client certificates from `ca` when
/// `verify_clients`.
async fn nats_with_tls(label: &str, ca: &Ca, dir: &Path, verify_clients: bool) -> NatsServer {
    let (cert, key) = ca.server().write(dir, "server").expect("server files");
    let mut args: Vec<String> = vec![
        "--tls".into(),
        "--tlscert".into(),
        cert.display().to_string(),
        "--tlskey".into(),
        key.display().to_string(),
    ];
    if verify_clients {
        let ca_file = write(dir, "clients-ca.pem", &ca.pem());
        args.extend([
            "--tlsverify".into(),
            "--tlscacert".into(),
            ca_file.display().to_string(),
        ]);
    }
    NatsServer::start_with_args(label, args)
        .await
        .expect("a NATS server with TLS")
}

#[tokio::test]
async fn nats_over_tls_trusting_a_private_ca() {
    if !runnable("NATS server", nats_server::available()) {
        return;
    }
    let ca = Ca::new("nats test CA");
    let dir = cert_dir("nats");
    let server = nats_with_tls("tls", &ca, &dir, false).await;
    let url = format!("tls://127.0.0.1:{}", server.port());

    let tls = ClientTls::new().roots(Roots::None).ca_pem(ca.pem());
    let broker = within(
        "connecting over TLS",
        NatsBroker::connect_with(&url, NatsOptions::new().tls(tls)),
    )
    .await
    .expect("a TLS connection trusting the test CA");
    round_trip(&broker, "nats").await;

    // The same server through a nats:// URL: the TLS settings make the
    // client upgrade rather than talk in the clear.
    let plain_url = server.url();
    let tls = ClientTls::new().roots(Roots::None).ca_pem(ca.pem());
    let broker = within(
        "connecting with TLS settings to a nats:// URL",
        NatsBroker::connect_with(&plain_url, NatsOptions::new().tls(tls)),
    )
    .await
    .expect("TLS through a nats:// URL with TLS settings");
    round_trip(&broker, "nats-upgrade").await;

    // A CA that did not issue the server's certificate.
    let other = Ca::new("another CA");
    let tls = ClientTls::new().roots(Roots::None).ca_pem(other.pem());
    let error = connection_error(
        within(
            "connecting with the wrong CA",
            NatsBroker::connect_with(&url, NatsOptions::new().tls(tls)),
        )
        .await,
    );
    assert!(
        error.contains(&url) && error.contains("not issued by a certificate authority"),
        "the error should name the URL and the certificate problem: {error}"
    );

    // A setting that cannot work is named.
    let tls = ClientTls::new().ca_pem("not PEM");
    let error = connection_error(NatsBroker::connect_with(&url, NatsOptions::new().tls(tls)).await);
    assert!(error.contains("ca_pem"), "{error}");
}

#[tokio::test]
async fn nats_mutual_tls_needs_a_client_certificate_from_the_servers_ca() {
    if !runnable("NATS server", nats_server::available()) {
        return;
    }
    let ca = Ca::new("nats mTLS CA");
    let dir = cert_dir("nats-mtls");
    let server = nats_with_tls("mtls", &ca, &dir, true).await;
    let url = format!("tls://127.0.0.1:{}", server.port());

    let without = ClientTls::new().roots(Roots::None).ca_pem(ca.pem());
    let error = connection_error(
        within(
            "connecting without a client certificate",
            NatsBroker::connect_with(&url, NatsOptions::new().tls(without)),
        )
        .await,
    );
    assert!(
        error.contains(&url) && error.contains("client_identity_pem"),
        "the error should say a client certificate is wanted: {error}"
    );

    let client = ca.client("orders");
    let with = ClientTls::new()
        .roots(Roots::None)
        .ca_pem(ca.pem())
        .client_identity_pem(&client.cert_pem, &client.key_pem);
    let broker = within(
        "connecting with a client certificate",
        NatsBroker::connect_with(&url, NatsOptions::new().tls(with)),
    )
    .await
    .expect("mutual TLS with a certificate from the server's CA");
    round_trip(&broker, "nats-mtls").await;
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Waits until something accepts connections on `port`.
async fn wait_for_port(port: u16) {
    let deadline = tokio::time::Instant::now() + STEP;
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing listens on port {port} after {STEP:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn rabbitmq_over_amqps_with_and_without_client_certificates() {
    if !runnable("RabbitMQ node", rabbit_server::available()) {
        return;
    }
    let ca = Ca::new("rabbit test CA");
    let dir = cert_dir("rabbit");
    let (cert, key) = ca.server().write(&dir, "server").expect("server files");
    let ca_file = write(&dir, "ca.pem", &ca.pem());
    for file in [&cert, &key, &ca_file] {
        let _ = std::process::Command::new("chown")
            .arg("rabbitmq:rabbitmq")
            .arg(file)
            .status();
    }
    let tls_port = free_port();
    // Client certificates are asked for and checked when sent, but not
    // required, so one node shows both cases.
    let config = format!(
        "listeners.ssl.default = 127.0.0.1:{tls_port}\n\
         ssl_options.cacertfile = {}\n\
         ssl_options.certfile = {}\n\
         ssl_options.keyfile = {}\n\
         ssl_options.verify = verify_peer\n\
         ssl_options.fail_if_no_peer_cert = false\n",
        ca_file.display(),
        cert.display(),
        key.display()
    );
    let node = RabbitNode::start_with_config("tls", &config)
        .await
        .expect("a RabbitMQ node with TLS");
    wait_for_port(tls_port).await;
    let url = format!("amqps://guest:guest@localhost:{tls_port}/%2f");
    let prefix = format!("tls{}", std::process::id());

    let tls = ClientTls::new().ca_pem(ca.pem());
    let broker = within(
        "connecting over amqps",
        AmqpBroker::connect_with(&url, AmqpOptions::default().prefix(&prefix).tls(tls)),
    )
    .await
    .expect("amqps trusting the test CA");
    round_trip(&broker, "amqp").await;

    let client = ca.client("orders");
    let tls = ClientTls::new()
        .ca_pem(ca.pem())
        .client_identity_pem(&client.cert_pem, &client.key_pem);
    let broker = within(
        "connecting over amqps with a client certificate",
        AmqpBroker::connect_with(&url, AmqpOptions::default().prefix(&prefix).tls(tls)),
    )
    .await
    .expect("amqps with a client certificate from the server's CA");
    round_trip(&broker, "amqp-mtls").await;

    // A server certificate the client does not trust.
    let other = Ca::new("another CA");
    let tls = ClientTls::new().ca_pem(other.pem());
    let error = connection_error(
        within(
            "connecting over amqps with the wrong CA",
            AmqpBroker::connect_with(&url, AmqpOptions::default().prefix(&prefix).tls(tls)),
        )
        .await,
    );
    assert!(
        error.contains("RabbitMQ") && error.contains("not issued by a certificate authority"),
        "{error}"
    );

    // Settings RabbitMQ's client cannot take are named before connecting.
    let tls = ClientTls::new().roots(Roots::None).ca_pem(ca.pem());
    let error =
        connection_error(AmqpBroker::connect_with(&url, AmqpOptions::default().tls(tls)).await);
    assert!(
        error.contains("`roots`") && error.contains("Roots::None"),
        "{error}"
    );
    let tls = ClientTls::new().ca_pem(ca.pem());
    let error = connection_error(
        AmqpBroker::connect_with(&node.url(), AmqpOptions::default().tls(tls)).await,
    );
    assert!(error.contains("amqps://"), "{error}");
}
