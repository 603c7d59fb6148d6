//! The chaos run: many events through the subscriber runtime, with handlers
//! that fail and panic at random and events published twice, proving every
//! event ends up handled exactly once or in the dead letters.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use accord::broker::{
    ConsumeEvents, Delivery, Publish, Subscription, DEAD_LETTER_ATTEMPTS, DEAD_LETTER_REASON,
};
use accord::events::{Backoff, EventPublisher};
use accord::Subscriber;

use crate::contract::{event_message, handlers, probe_handler, probe_payload, route, Probe};
use crate::{within, Names, Task, ARRIVE, QUIET};

/// How injected panics start, so [`quiet_chaos_panics`] can tell them apart.
pub const CHAOS_PANIC: &str = "chaos: injected panic";

/// What a chaos run does.
#[derive(Debug, Clone)]
pub struct ChaosConfig {
    /// How many distinct events are published.
    pub events: u64,
    /// Every this many events, one is published a second time with the same
    /// event id (some at once, some a while later).
    pub duplicate_every: u64,
    /// The chance that one handler attempt fails; half the failures return
    /// an error, half panic.
    pub failure_rate: f64,
    /// Seeds the failures: which attempt of which event fails is a function
    /// of the seed, the event and the attempt.
    pub seed: u64,
    /// The subscriber's concurrency.
    pub concurrency: usize,
    /// The subscriber's attempts per event.
    pub max_attempts: u32,
    /// The subscriber's backoff.
    pub backoff: Backoff,
    /// How long the whole run may take before it fails.
    pub deadline: Duration,
}

impl Default for ChaosConfig {
    /// 10,000 events, every 20th published twice, 20 % of attempts failing,
    /// 8 handlers at once, 3 attempts, 1 to 5 ms backoff.
    fn default() -> Self {
        ChaosConfig {
            events: 10_000,
            duplicate_every: 20,
            failure_rate: 0.2,
            seed: 0x5eed_cafe,
            concurrency: 8,
            max_attempts: 3,
            backoff: Backoff {
                initial: Duration::from_millis(1),
                max: Duration::from_millis(5),
                multiplier: 2.0,
            },
            deadline: Duration::from_secs(120),
        }
    }
}

/// What a chaos run counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChaosReport {
    /// Distinct events.
    pub events: u64,
    /// Messages published, duplicates included.
    pub published: u64,
    /// Of those, second publishes of an event id.
    pub duplicate_publishes: u64,
    /// Events whose handler succeeded (each exactly once).
    pub handled: u64,
    /// Events in the dead letters (each exactly once).
    pub dead_lettered: u64,
    /// Deliveries skipped as already handled or given up on.
    pub duplicates_suppressed: u64,
    /// Failed attempts that were retried.
    pub retried: u64,
    /// Handler attempts that returned an error.
    pub failed_attempts: u64,
    /// Handler attempts that panicked.
    pub panicked_attempts: u64,
    /// How long the run took, publishing included.
    pub elapsed: Duration,
}

impl fmt::Display for ChaosReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "events {}, published {} ({} duplicates), handled {}, dead-lettered {}, \
             duplicates suppressed {}, retried {} (attempts failed {}, panicked {}), in {:.2?}",
            self.events,
            self.published,
            self.duplicate_publishes,
            self.handled,
            self.dead_lettered,
            self.duplicates_suppressed,
            self.retried,
            self.failed_attempts,
            self.panicked_attempts,
            self.elapsed
        )
    }
}

/// Keeps the panics a chaos run injects out of the output; other panics
/// are reported as before.
pub fn quiet_chaos_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            if !text.is_some_and(|t| t.starts_with(CHAOS_PANIC)) {
                previous(info);
            }
        }));
    });
}

/// A number in [0, 1) fixed by the seed, the event and the attempt.
fn roll(seed: u64, n: u64, call: u32) -> f64 {
    let mut z = seed
        ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ u64::from(call).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

struct Tally {
    calls: Vec<AtomicU32>,
    successes: Vec<AtomicU32>,
    failed: AtomicU64,
    panicked: AtomicU64,
}

/// A dead letter as read back: the event, the reason, the attempts header.
type Letter = (u64, String, String);

/// Publishes `config.events` events (some twice) to one subscriber group
/// whose handler fails and panics at random, and proves that every event is
/// either handled exactly once or in the group's dead letters with its
/// reason: none lost, none both. Returns the counts.
pub async fn chaos<B: Publish + ConsumeEvents>(
    broker: &B,
    prefix: &str,
    config: ChaosConfig,
) -> ChaosReport {
    let started = tokio::time::Instant::now();
    let names = Names::new(prefix, "chaos");
    let topic = names.topic("events");
    let group = names.group("g");
    let route = route("chaos", &topic);
    let events = config.events;
    let tally = Arc::new(Tally {
        calls: (0..events).map(|_| AtomicU32::new(0)).collect(),
        successes: (0..events).map(|_| AtomicU32::new(0)).collect(),
        failed: AtomicU64::new(0),
        panicked: AtomicU64::new(0),
    });

    let handler = {
        let tally = tally.clone();
        let (seed, rate) = (config.seed, config.failure_rate);
        probe_handler(move |probe: Probe| {
            let tally = tally.clone();
            async move {
                let n = probe.n;
                let index = usize::try_from(n).expect("an event number fits");
                let call = tally.calls[index].fetch_add(1, Ordering::SeqCst);
                let roll = roll(seed, n, call);
                if roll < rate / 2.0 {
                    tally.failed.fetch_add(1, Ordering::SeqCst);
                    return Err(format!("injected failure of event {n}"));
                }
                if roll < rate {
                    tally.panicked.fetch_add(1, Ordering::SeqCst);
                    panic!("{CHAOS_PANIC} in event {n}");
                }
                tally.successes[index].fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
    };

    let letters: Arc<Mutex<Vec<Letter>>> = Arc::default();
    let mut dead = within(
        ARRIVE,
        "opening the dead letters",
        broker.dead_letters(&group),
    )
    .await
    .unwrap_or_else(|e| panic!("opening the dead letters: {e}"));
    let _collector = {
        let letters = letters.clone();
        Task::spawn(async move {
            while let Some(letter) = dead.next().await {
                let message = letter.message();
                let probe: Probe = serde_json::from_slice(&message.payload)
                    .expect("a dead letter keeps the event's payload");
                letters.lock().unwrap().push((
                    probe.n,
                    message
                        .header(DEAD_LETTER_REASON)
                        .unwrap_or_default()
                        .to_owned(),
                    message
                        .header(DEAD_LETTER_ATTEMPTS)
                        .unwrap_or_default()
                        .to_owned(),
                ));
                letter.ack().await.expect("acking a dead letter");
            }
        })
    };

    let subscriber = Subscriber::new(broker.clone(), &group)
        .concurrency(config.concurrency)
        .max_attempts(config.max_attempts)
        .backoff(config.backoff)
        .ack_wait(Duration::from_secs(60))
        .shutdown_grace(ARRIVE);
    let handle = within(
        ARRIVE,
        "starting the subscriber",
        subscriber.start(handlers(vec![(route, handler)])),
    )
    .await
    .unwrap_or_else(|e| panic!("starting the subscriber: {e}"));
    let stats = handle.stats_handle();

    let publisher = EventPublisher::new(broker.clone(), crate::contract::SERVICE);
    let mut duplicates = Vec::new();
    let mut published = 0u64;
    let mut duplicate_publishes = 0u64;
    for n in 0..events {
        let probe = Probe {
            run: names.run().to_owned(),
            n,
        };
        let key = (n & 1 == 0).then(|| format!("k{}", n % 64));
        let id = within(
            ARRIVE,
            "publishing an event",
            publisher.publish(route, key.clone(), &probe),
        )
        .await
        .unwrap_or_else(|e| panic!("publishing event {n}: {e}"));
        published += 1;
        if n.checked_rem(config.duplicate_every) == Some(0) {
            let mut message = event_message(&topic, &id, probe_payload(&probe));
            message.key = key;
            // Every other duplicate at once, the rest 100 events later.
            let later = ((n / config.duplicate_every) & 1) * 100;
            duplicates.push((n + later, message));
        }
        let (due, rest): (Vec<_>, Vec<_>) = duplicates.drain(..).partition(|(at, _)| *at <= n);
        duplicates = rest;
        for (_, message) in due {
            within(ARRIVE, "publishing a duplicate", broker.publish(message))
                .await
                .unwrap_or_else(|e| panic!("publishing a duplicate: {e}"));
            published += 1;
            duplicate_publishes += 1;
        }
    }
    for (_, message) in duplicates {
        within(ARRIVE, "publishing a duplicate", broker.publish(message))
            .await
            .unwrap_or_else(|e| panic!("publishing a duplicate: {e}"));
        published += 1;
        duplicate_publishes += 1;
    }

    let load = |stat: &AtomicU64| stat.load(Ordering::SeqCst);
    let settled = || load(&stats.handled) + load(&stats.duplicates) + load(&stats.dead_lettered);
    // A broker that drops a repeated event id at publish delivers only the
    // first copy; otherwise each repeat is delivered and must be skipped.
    let repeats_delivered = !broker.capabilities().dedupes_publishes;
    let deliveries = if repeats_delivered {
        published
    } else {
        published - duplicate_publishes
    };
    let deadline = started + config.deadline;
    loop {
        let collected = letters.lock().unwrap().len() as u64;
        if settled() >= deliveries && collected >= load(&stats.dead_lettered) {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "after {:?}: {published} messages published, {deliveries} to deliver, {} settled (handled {}, duplicates {}, \
                 dead-lettered {}), {collected} dead letters read",
                config.deadline,
                settled(),
                load(&stats.handled),
                load(&stats.duplicates),
                load(&stats.dead_lettered),
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = settled();
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        settled(),
        before,
        "deliveries kept coming after every event settled"
    );
    within(
        ARRIVE * 2,
        "shutting the subscriber down",
        handle.shutdown(),
    )
    .await;

    // Every event: handled exactly once, or dead-lettered exactly once.
    let letters = letters.lock().unwrap().clone();
    let mut dead_by_event = BTreeMap::<u64, Vec<&Letter>>::new();
    for letter in &letters {
        assert!(
            letter.0 < events,
            "a dead letter for an unknown event {}",
            letter.0
        );
        dead_by_event.entry(letter.0).or_default().push(letter);
    }
    let mut lost = Vec::new();
    let mut both = Vec::new();
    for n in 0..events {
        let index = usize::try_from(n).expect("an event number fits");
        let handled = tally.successes[index].load(Ordering::SeqCst);
        let dead = dead_by_event.get(&n).map_or(0, Vec::len);
        assert!(handled <= 1, "event {n} was handled {handled} times");
        assert!(dead <= 1, "event {n} was dead-lettered {dead} times");
        match (handled, dead) {
            (0, 0) => lost.push(n),
            (1, 1) => both.push(n),
            _ => {}
        }
    }
    assert!(
        lost.is_empty(),
        "events neither handled nor dead-lettered: {lost:?}"
    );
    assert!(
        both.is_empty(),
        "events both handled and dead-lettered: {both:?}"
    );
    for (n, reason, attempts) in &letters {
        assert!(
            reason.starts_with("handler failed: ") || reason.starts_with("handler panicked: "),
            "event {n} was dead-lettered for an unexpected reason: {reason:?}"
        );
        assert!(
            reason.contains(&format!("of {})", config.max_attempts)),
            "the reason names the attempts: {reason:?}"
        );
        let attempts: u32 = attempts.parse().unwrap_or_default();
        assert!(
            attempts >= config.max_attempts,
            "event {n} was dead-lettered after {attempts} attempts, fewer than {}",
            config.max_attempts
        );
    }

    let report = ChaosReport {
        events,
        published,
        duplicate_publishes,
        handled: tally
            .successes
            .iter()
            .map(|s| u64::from(s.load(Ordering::SeqCst)))
            .sum(),
        dead_lettered: letters.len() as u64,
        duplicates_suppressed: load(&stats.duplicates),
        retried: load(&stats.retried),
        failed_attempts: tally.failed.load(Ordering::SeqCst),
        panicked_attempts: tally.panicked.load(Ordering::SeqCst),
        elapsed: started.elapsed(),
    };
    assert_eq!(
        report.handled + report.dead_lettered,
        events,
        "every event is handled or dead-lettered: {report}"
    );
    assert_eq!(report.handled, load(&stats.handled), "{report}");
    assert_eq!(report.dead_lettered, load(&stats.dead_lettered), "{report}");
    assert_eq!(
        report.failed_attempts + report.panicked_attempts,
        report.retried + report.dead_lettered,
        "every failed attempt is retried or ends in the dead letters: {report}"
    );
    if repeats_delivered {
        assert!(
            report.duplicates_suppressed >= report.duplicate_publishes,
            "each second publish of an event is suppressed: {report}"
        );
    }
    report
}
