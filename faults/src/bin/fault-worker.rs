//! A subscriber process for the fault tests: joins a group and starts a
//! handler for each event that never finishes, so a test can kill the
//! process while its events are in flight.
//!
//! ```text
//! fault-worker <broker-url> <group> <topic> <concurrency> <ack-wait-ms>
//! ```
//!
//! The broker is NATS (`nats://`), RabbitMQ (`amqp://`) or Kafka
//! (`kafka://`, settings in the URL's query). Prints `ready`
//! once it consumes, then `handling <event>` as each handler starts (the
//! event's payload is a JSON string naming it).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use accord::broker::amqp::AmqpBroker;
use accord::broker::kafka::KafkaBroker;
use accord::broker::nats::NatsBroker;
use accord::broker::ConsumeEvents;
use accord::events::{event_handler, EventHandlers, EventRoute};
use accord::Subscriber;

fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

const USAGE: &str = "usage: fault-worker <broker-url> <group> <topic> <concurrency> <ack-wait-ms>";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, group, topic, concurrency, ack_wait] = args.as_slice() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let concurrency: usize = concurrency.parse().expect("the concurrency is a number");
    let ack_wait = Duration::from_millis(
        ack_wait
            .parse()
            .expect("the ack wait is a number of milliseconds"),
    );
    if url.starts_with("nats://") {
        let broker = NatsBroker::connect(url)
            .await
            .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
        work(broker, group, topic, concurrency, ack_wait).await;
    } else if url.starts_with("amqp://") {
        let broker = AmqpBroker::connect(url)
            .await
            .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
        work(broker, group, topic, concurrency, ack_wait).await;
    } else if url.starts_with("kafka://") {
        let broker = KafkaBroker::connect(url)
            .await
            .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
        work(broker, group, topic, concurrency, ack_wait).await;
    } else {
        eprintln!("{USAGE}: the broker URL starts with nats://, amqp:// or kafka://");
        std::process::exit(2);
    }
}

async fn work<B: ConsumeEvents>(
    broker: B,
    group: &str,
    topic: &str,
    concurrency: usize,
    ack_wait: Duration,
) {
    let route: &'static EventRoute = Box::leak(Box::new(EventRoute {
        service: "faults",
        operation: "stuck",
        topic: Box::leak(topic.to_owned().into_boxed_str()),
    }));
    let handler = event_handler(Arc::new(()), |_: Arc<()>, event: String, _| async move {
        say(&format!("handling {event}"));
        std::future::pending::<Result<(), String>>().await
    });
    let _subscriber = Subscriber::new(broker, group)
        .concurrency(concurrency)
        .ack_wait(ack_wait)
        .start(EventHandlers::new("faults", vec![(route, handler)]))
        .await
        .unwrap_or_else(|e| panic!("joining the group {group}: {e}"));
    say("ready");
    std::future::pending::<()>().await;
}
