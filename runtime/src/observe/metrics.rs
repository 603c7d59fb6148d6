//! Metrics through the [`metrics`] facade: the application installs a
//! recorder (`metrics-exporter-prometheus`, an OpenTelemetry bridge, ...)
//! and accord's counts and latencies reach it; without one they cost a
//! clock read and a few no-op calls per request. The keys of the
//! per-request, per-delivery and per-publish metrics are made once per
//! thread and reused (`route_metric`, and `event_metric` for the events),
//! so a request, a call, a delivery or a publish allocates none.
//!
//! Every label has a bounded set of values: service and operation names
//! come from the contract, `group` from the subscriber groups the
//! application starts, `target` from the base URLs its clients call, and
//! the rest from the fixed sets below. No id, path or payload is a label.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `accord_requests_total` | counter | `service`, `operation`, `status_class` |
//! | `accord_request_duration_seconds` | histogram | `service`, `operation` |
//! | `accord_client_requests_total` | counter | `service`, `operation`, `outcome` |
//! | `accord_client_request_duration_seconds` | histogram | `service`, `operation` |
//! | `accord_events_total` | counter | `service`, `operation`, `group`, `outcome` |
//! | `accord_event_handling_duration_seconds` | histogram | `service`, `operation`, `group` |
//! | `accord_events_published_total` | counter | `service`, `operation`, `outcome` |
//! | `accord_event_publish_duration_seconds` | histogram | `service`, `operation` |
//! | `accord_circuit_breaker_state` | gauge | `target` |
//! | `accord_circuit_breaker_transitions_total` | counter | `target`, `state` |
//!
//! Call [`describe`] once after installing the recorder for help texts
//! and units.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use metrics::{counter, gauge, Key, Label, Level, Metadata, Recorder, Unit};

use crate::error::{CallError, ServiceError};
use crate::wire::Route;

mod events;

pub(crate) use events::{event_handled, event_settled, published, Settled, UNKNOWN_OPERATION};

/// Requests a server answered, by `status_class` (`1xx` to `5xx`).
pub const REQUESTS: &str = "accord_requests_total";
/// How long a server took to answer a request, in seconds.
pub const REQUEST_DURATION: &str = "accord_request_duration_seconds";
/// Calls a client made, by `outcome`: the reply's status class (`2xx` ...
/// `5xx`), or why none came: `timeout`, `connection`, `protocol`,
/// `encode`, `credential`, `circuit_open`, `bulkhead_full`.
pub const CLIENT_REQUESTS: &str = "accord_client_requests_total";
/// How long a client call took, retries included, in seconds.
pub const CLIENT_REQUEST_DURATION: &str = "accord_client_request_duration_seconds";
/// Event deliveries a subscriber group settled, by `outcome`: `handled`,
/// `retried` (the attempt failed and the event comes again),
/// `dead_lettered` (stored as a dead letter), `duplicate` (already
/// handled, skipped).
pub const EVENTS: &str = "accord_events_total";
/// How long an event handler ran (with the group's interceptors), in
/// seconds.
pub const EVENT_DURATION: &str = "accord_event_handling_duration_seconds";
/// Events published, by `outcome`: `ok` (the broker accepted it) or
/// `error`.
pub const PUBLISHED: &str = "accord_events_published_total";
/// How long a publish took until the broker accepted it, in seconds.
pub const PUBLISH_DURATION: &str = "accord_event_publish_duration_seconds";
/// A client's circuit breaker per target base URL: 0 closed, 1 half-open,
/// 2 open (it stays 2 after the cool-down until the next call probes).
pub const BREAKER_STATE: &str = "accord_circuit_breaker_state";
/// A circuit breaker's changes of state, by the `state` it entered
/// (`open`, `half_open`, `closed`).
pub const BREAKER_TRANSITIONS: &str = "accord_circuit_breaker_transitions_total";

/// Describes every metric above (help text and unit) to the installed
/// recorder; call it once after installing one.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(REQUESTS, "Requests answered, by status class.");
    describe_histogram!(REQUEST_DURATION, Unit::Seconds, "Time to answer a request.");
    describe_counter!(CLIENT_REQUESTS, "Client calls made, by outcome.");
    describe_histogram!(
        CLIENT_REQUEST_DURATION,
        Unit::Seconds,
        "Time a client call took, retries included."
    );
    describe_counter!(EVENTS, "Event deliveries settled, by outcome.");
    describe_histogram!(EVENT_DURATION, Unit::Seconds, "Time an event handler ran.");
    describe_counter!(PUBLISHED, "Events published, by outcome.");
    describe_histogram!(PUBLISH_DURATION, Unit::Seconds, "Time to publish an event.");
    describe_gauge!(
        BREAKER_STATE,
        "Circuit breaker state per target: 0 closed, 1 half-open, 2 open."
    );
    describe_counter!(
        BREAKER_TRANSITIONS,
        "Circuit breaker changes of state, by the state entered."
    );
}

/// The class of an HTTP status: `2xx` for 201.
fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// What the per-request metrics are registered with: what `counter!` here
/// would give them.
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// Which per-request metric: its name, its route and the value of its third
/// label (0 for none), each by address. Two equal names or values at two
/// addresses make two entries for the same key, which is only a miss.
type MetricId = (usize, usize, usize);

/// How the metric key caches hash their ids (a few addresses): foldhash's
/// fast hasher with a fixed seed, since the addresses are the program's own.
type KeyHasher = foldhash::fast::FixedState;

thread_local! {
    /// The keys of the per-request metrics this thread has recorded. At
    /// most one per metric name below, route served or called, and value
    /// of the fixed label sets above: bounded by the contracts.
    static ROUTE_KEYS: RefCell<HashMap<MetricId, Rc<Key>, KeyHasher>> = RefCell::default();
}

/// Registers metric `name` of `route` (labels `service`, `operation` and
/// `third`, if any) with `register`, the key made once per thread.
fn route_metric<T>(
    name: &'static str,
    route: &'static Route,
    third: Option<(&'static str, &'static str)>,
    register: impl FnOnce(&dyn Recorder, &Key) -> T,
) -> T {
    let id = (
        name.as_ptr() as usize,
        std::ptr::from_ref(route) as usize,
        third.map_or(0, |(_, value)| value.as_ptr() as usize),
    );
    let key = ROUTE_KEYS.with(|keys| {
        keys.borrow_mut()
            .entry(id)
            .or_insert_with(|| {
                let mut labels = vec![
                    Label::from_static_parts("service", route.service),
                    Label::from_static_parts("operation", route.operation),
                ];
                if let Some((label, value)) = third {
                    labels.push(Label::from_static_parts(label, value));
                }
                Rc::new(Key::from_parts(name, labels))
            })
            .clone()
    });
    // The cache is not borrowed while the recorder runs.
    metrics::with_recorder(|recorder| register(recorder, &key))
}

/// A server answered `route` with `status`, `started` ago.
pub(crate) fn request_answered(route: &'static Route, status: u16, started: Instant) {
    let class = status_class(status);
    route_metric(REQUESTS, route, Some(("status_class", class)), |r, key| {
        r.register_counter(key, &METADATA)
    })
    .increment(1);
    route_metric(REQUEST_DURATION, route, None, |r, key| {
        r.register_histogram(key, &METADATA)
    })
    .record(started.elapsed().as_secs_f64());
}

/// A client call of `route` ended with `result`, `started` ago.
pub(crate) fn call_ended<R, E: ServiceError>(
    route: &'static Route,
    result: &Result<R, CallError<E>>,
    started: Instant,
) {
    let outcome = match result {
        Ok(_) => "2xx",
        Err(CallError::Service(error)) => status_class(error.status()),
        Err(CallError::Problem(problem)) => status_class(problem.status),
        Err(CallError::Protocol(error)) => error.status.map_or("protocol", status_class),
        Err(CallError::Timeout(_)) => "timeout",
        Err(CallError::Connection(_)) => "connection",
        Err(CallError::Encode(_)) => "encode",
        Err(CallError::Credential(_)) => "credential",
        Err(CallError::CircuitOpen(_)) => "circuit_open",
        Err(CallError::BulkheadFull(_)) => "bulkhead_full",
    };
    route_metric(
        CLIENT_REQUESTS,
        route,
        Some(("outcome", outcome)),
        |r, key| r.register_counter(key, &METADATA),
    )
    .increment(1);
    route_metric(CLIENT_REQUEST_DURATION, route, None, |r, key| {
        r.register_histogram(key, &METADATA)
    })
    .record(started.elapsed().as_secs_f64());
}

/// A circuit breaker's state, as the gauge shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BreakerState {
    Closed,
    HalfOpen,
    Open,
}

/// The breaker guarding `target` is (now) in `state`; `changed` when it
/// just entered it rather than started there.
pub(crate) fn breaker_state(target: &Arc<str>, state: BreakerState, changed: bool) {
    let (value, name) = match state {
        BreakerState::Closed => (0.0, "closed"),
        BreakerState::HalfOpen => (1.0, "half_open"),
        BreakerState::Open => (2.0, "open"),
    };
    gauge!(BREAKER_STATE, "target" => target.clone()).set(value);
    if changed {
        counter!(BREAKER_TRANSITIONS, "target" => target.clone(), "state" => name).increment(1);
    }
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;
    use crate::error::RetryClass;
    use crate::resilience::{BreakerSettings, CircuitBreaker};

    /// The value of metric `name` whose labels include `labels`.
    pub(super) fn find(
        snapshot: &[(
            metrics_util::CompositeKey,
            Option<Unit>,
            Option<metrics::SharedString>,
            DebugValue,
        )],
        name: &str,
        labels: &[(&str, &str)],
    ) -> Option<f64> {
        snapshot
            .iter()
            .find(|(key, ..)| {
                let key = key.key();
                key.name() == name
                    && labels
                        .iter()
                        .all(|(k, v)| key.labels().any(|l| l.key() == *k && l.value() == *v))
            })
            .map(|(.., value)| match value {
                DebugValue::Counter(n) => *n as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(h) => h.len() as f64,
            })
    }

    #[test]
    fn a_breaker_shows_its_state_and_counts_its_changes() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let target = [("target", "http://stock.internal")];
        metrics::with_local_recorder(&recorder, || {
            let breaker = CircuitBreaker::new(
                "http://stock.internal",
                BreakerSettings::default().min_calls(2).failure_rate(0.5),
            );
            let state = find(&snapshotter.snapshot().into_vec(), BREAKER_STATE, &target);
            assert_eq!(state, Some(0.0), "closed at first");
            for _ in 0..2 {
                let permit = breaker.try_acquire().expect("closed");
                breaker.record(permit, RetryClass::Connection);
            }
            assert!(breaker.try_acquire().is_err(), "the breaker opened");
        });
        let snapshot = snapshotter.snapshot().into_vec();
        assert_eq!(find(&snapshot, BREAKER_STATE, &target), Some(2.0));
        assert_eq!(
            find(
                &snapshot,
                BREAKER_TRANSITIONS,
                &[("target", "http://stock.internal"), ("state", "open")]
            ),
            Some(1.0)
        );
    }

    #[test]
    fn requests_and_calls_are_counted_by_route_and_class() {
        static ROUTES: [Route; 2] = [
            Route {
                service: "orders",
                operation: "get_order",
                index: 0,
                method: http::Method::GET,
                path: "/orders/{id}",
                segments: &[],
                status: 200,
                credential: None,
                idempotent: true,
            },
            Route {
                service: "orders",
                operation: "place_order",
                index: 1,
                method: http::Method::POST,
                path: "/orders",
                segments: &[],
                status: 201,
                credential: None,
                idempotent: false,
            },
        ];
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let started = Instant::now();
        metrics::with_local_recorder(&recorder, || {
            // Twice each, so the second goes through the kept keys.
            for _ in 0..2 {
                request_answered(&ROUTES[0], 200, started);
                request_answered(&ROUTES[0], 404, started);
                request_answered(&ROUTES[1], 201, started);
                call_ended::<(), crate::NoError>(
                    &ROUTES[0],
                    &Err(CallError::Timeout(std::time::Duration::from_secs(1))),
                    started,
                );
            }
        });
        let snapshot = snapshotter.snapshot().into_vec();
        let get = [("service", "orders"), ("operation", "get_order")];
        let with = |third: (&'static str, &'static str)| [get[0], get[1], third];
        assert_eq!(
            find(&snapshot, REQUESTS, &with(("status_class", "2xx"))),
            Some(2.0)
        );
        assert_eq!(
            find(&snapshot, REQUESTS, &with(("status_class", "4xx"))),
            Some(2.0)
        );
        assert_eq!(
            find(
                &snapshot,
                REQUESTS,
                &[("operation", "place_order"), ("status_class", "2xx")]
            ),
            Some(2.0)
        );
        assert_eq!(find(&snapshot, REQUEST_DURATION, &get), Some(4.0));
        assert_eq!(
            find(&snapshot, CLIENT_REQUESTS, &with(("outcome", "timeout"))),
            Some(2.0)
        );
        assert_eq!(find(&snapshot, CLIENT_REQUEST_DURATION, &get), Some(2.0));
        assert_eq!(
            find(&snapshot, REQUESTS, &with(("status_class", "5xx"))),
            None
        );
    }

    #[test]
    fn statuses_fall_in_their_class() {
        assert_eq!(status_class(101), "1xx");
        assert_eq!(status_class(201), "2xx");
        assert_eq!(status_class(304), "3xx");
        assert_eq!(status_class(422), "4xx");
        assert_eq!(status_class(504), "5xx");
    }
}
