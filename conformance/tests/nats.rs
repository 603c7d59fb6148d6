//! The conformance suite against NATS JetStream, on the server at
//! `ACCORD_NATS_URL` (default `nats://127.0.0.1:4222`, started with `-js`).
//!
//! Without a reachable server each test says why on one line and passes,
//! except on CI (`CI` set), where it fails. Each test names its topics and
//! groups after a run id of its own and deletes the streams, consumers and
//! dead letters of that run when it ends, also when it fails.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use accord::broker::nats::{NatsBroker, NatsOptions};
use futures_util::StreamExt;

const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

fn url() -> String {
    std::env::var("ACCORD_NATS_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// The broker, or `None` (after saying why) when there is no server to
/// test against outside CI.
async fn connect(options: NatsOptions) -> Option<NatsBroker> {
    let url = url();
    match NatsBroker::connect_with(&url, options).await {
        Ok(broker) => Some(broker),
        Err(error) if std::env::var_os("CI").is_some() => {
            panic!("CI needs NATS with JetStream at {url} (ACCORD_NATS_URL): {error}")
        }
        Err(error) => {
            println!("skipped: no NATS with JetStream at {url} (set ACCORD_NATS_URL): {error}");
            None
        }
    }
}

/// Runs `check` with a fresh run id as the name prefix, then removes what
/// the run declared, and fails as the check did.
async fn run<F, Fut>(options: NatsOptions, check: F)
where
    F: FnOnce(NatsBroker, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(broker) = connect(options).await else {
        return;
    };
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(8);
    let prefix = format!("nats-{id}");
    let before = declared(&broker).await;
    let outcome = tokio::spawn(check(broker.clone(), prefix.clone())).await;
    remove_run(&broker, &before, |name| name.contains(&prefix)).await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// The most streams, and consumers per stream, one listing reads: far more
/// than a test server holds, so a listing that keeps going is a fault.
const LISTING_LIMIT: usize = 10_000;

/// How long one listing may take before the cleanup gives up on it.
const LISTING_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads a JetStream name listing to its end, its first error, its
/// [`LISTING_LIMIT`]th name or its [`LISTING_TIMEOUT`], whichever comes first.
///
/// A listing whose pages keep failing (a stream deleted by a concurrent run
/// between two calls) would otherwise be polled forever.
async fn bounded<E: std::fmt::Display>(
    what: &str,
    listing: impl futures_util::Stream<Item = Result<String, E>>,
) -> Vec<String> {
    let mut names = Vec::new();
    let read = tokio::time::timeout(LISTING_TIMEOUT, async {
        futures_util::pin_mut!(listing);
        while let Some(next) = listing.next().await {
            match next {
                Ok(name) if names.len() < LISTING_LIMIT => names.push(name),
                Ok(_) => {
                    println!("listing {what}: stopped at {LISTING_LIMIT} names");
                    break;
                }
                Err(error) => {
                    println!("listing {what}: stopped at an error: {error}");
                    break;
                }
            }
        }
    })
    .await;
    if read.is_err() {
        println!("listing {what}: stopped after {LISTING_TIMEOUT:?}");
    }
    names
}

/// The streams, and the consumers of each, on the server now.
async fn declared(broker: &NatsBroker) -> BTreeSet<(String, Option<String>)> {
    let js = broker.jetstream();
    let streams = bounded("streams", js.stream_names()).await;
    let mut found = BTreeSet::new();
    for name in streams {
        let stream = tokio::time::timeout(LISTING_TIMEOUT, js.get_stream(&name)).await;
        if let Ok(Ok(stream)) = stream {
            let consumers = bounded(&format!("consumers of {name}"), stream.consumer_names()).await;
            for consumer in consumers {
                found.insert((name.clone(), Some(consumer)));
            }
        }
        found.insert((name, None));
    }
    found
}

/// Deletes the streams and consumers declared since `before` whose names
/// `ours` recognises, with the dead letters those consumers read.
async fn remove_run(
    broker: &NatsBroker,
    before: &BTreeSet<(String, Option<String>)>,
    ours: impl Fn(&str) -> bool,
) {
    let js = broker.jetstream();
    let now = declared(broker).await;
    let mut deleted_streams = BTreeSet::new();
    for (stream, consumer) in now.difference(before) {
        match consumer {
            None if ours(stream) => {
                if let Err(error) = js.delete_stream(stream).await {
                    println!("could not delete stream {stream}: {error}");
                }
                deleted_streams.insert(stream.clone());
            }
            Some(consumer)
                if ours(consumer) && !deleted_streams.contains(stream) && !ours(stream) =>
            {
                let Ok(handle) = js.get_stream(stream).await else {
                    continue;
                };
                if stream == broker.dead_letter_stream_name() {
                    let subject = broker.dead_letter_subject(consumer);
                    let _ = handle.purge().filter(subject).await;
                }
                if let Err(error) = handle.delete_consumer(consumer).await {
                    println!("could not delete consumer {consumer} of {stream}: {error}");
                }
            }
            _ => {}
        }
    }
}

macro_rules! checks {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                run(NatsOptions::new(), |broker, prefix| async move {
                    accord_conformance::$check(&broker, &prefix).await;
                })
                .await;
            }
        )*
    };
}

accord_conformance::for_each_check!(checks: events, ordered, requests);

/// Every check on one connection, as a long-lived service uses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_checks_on_one_shared_broker() {
    all_checks(NatsOptions::new()).await;
}

/// The checks that publish an event twice on purpose count on the repeat
/// being delivered, which JetStream's duplicate window prevents. These
/// runs show the rest of each check holds when every publish is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedupe_through_subscriber_without_publish_dedupe() {
    run(
        NatsOptions::new().publish_dedupe(false),
        |broker, prefix| async move {
            accord_conformance::dedupe_through_subscriber(&broker, &prefix).await;
        },
    )
    .await;
}

/// [`all_checks_on_one_shared_broker`] with every publish stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_checks_on_one_shared_broker_without_publish_dedupe() {
    all_checks(NatsOptions::new().publish_dedupe(false)).await;
}

async fn all_checks(options: NatsOptions) {
    let Some(broker) = connect(options).await else {
        return;
    };
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(12);
    // Its own prefix, so its cleanup leaves other runs' streams alone.
    let prefix = format!("all-{id}");
    let before = declared(&broker).await;
    let shared = broker.clone();
    let run_prefix = prefix.clone();
    let outcome = tokio::spawn(async move {
        accord_conformance::run_all_named(&run_prefix, || shared.clone()).await;
    })
    .await;
    remove_run(&broker, &before, |name| name.contains(&prefix)).await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// The chaos run: 10,000 events through the subscriber runtime with
/// failing and panicking handlers and events published twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_ten_thousand_events() {
    chaos(NatsOptions::new(), "").await;
}

/// The chaos run with every publish stored, repeats included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_without_publish_dedupe() {
    chaos(
        NatsOptions::new().publish_dedupe(false),
        " without publish dedupe",
    )
    .await;
}

async fn chaos(options: NatsOptions, label: &'static str) {
    accord_conformance::quiet_chaos_panics();
    run(options, move |broker, prefix| async move {
        let config = accord_conformance::ChaosConfig::default();
        let report = accord_conformance::chaos(&broker, &prefix, config).await;
        println!("chaos on NATS JetStream{label}: {report}");
        assert_eq!(report.events, 10_000);
        assert_eq!(report.published, report.events + report.duplicate_publishes);
        assert_eq!(
            report.handled + report.dead_lettered,
            report.events,
            "every event is handled or dead-lettered: {report}"
        );
        assert!(report.retried > 0 && report.dead_lettered > 0, "{report}");
        assert!(
            report.failed_attempts > 0 && report.panicked_attempts > 0,
            "{report}"
        );
    })
    .await;
}

/// Dead letters refused by the server: the run's own dead-letter stream is
/// deleted, so their publishes find no stream, then declared again by a
/// second connection with the same options.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_dead_letter_retried_with_backoff() {
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(8);
    let options = NatsOptions::new()
        .stream_prefix(format!("nats-dlr-{id}"))
        .dead_letter_subject(format!("accord.nats-dlr-{id}"));
    let Some(broker) = connect(options.clone()).await else {
        return;
    };
    let stream = broker.dead_letter_stream_name().to_owned();
    let refuse = {
        let broker = broker.clone();
        let stream = stream.clone();
        move |_group: String| async move {
            broker
                .jetstream()
                .delete_stream(&stream)
                .await
                .expect("deleting the run's dead-letter stream");
        }
    };
    let accept = {
        let options = options.clone();
        move |_group: String| async move {
            connect(options)
                .await
                .expect("a second connection declares the dead-letter stream again");
        }
    };
    let before = declared(&broker).await;
    let check = {
        let broker = broker.clone();
        let prefix = format!("nats-dlr-{id}");
        async move {
            accord_conformance::refused_dead_letter_retried_with_backoff(
                &broker, &prefix, refuse, accept,
            )
            .await;
        }
    };
    let outcome = tokio::spawn(check).await;
    remove_run(&broker, &before, |name| name.contains(&id)).await;
    let _ = broker.jetstream().delete_stream(&stream).await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// A 200 KB `ce-id`, request header or reply header: refused before it is
/// sent, naming the header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_refused() {
    run(NatsOptions::new(), |broker, prefix| async move {
        let stats = broker.client().statistics();
        accord_conformance::oversized_messages_refused(&broker, &prefix, move || {
            usize::try_from(stats.connects.load(std::sync::atomic::Ordering::Relaxed))
                .unwrap_or(usize::MAX)
        })
        .await;
    })
    .await;
}
