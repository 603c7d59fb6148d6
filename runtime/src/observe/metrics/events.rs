//! The per-event metrics: those of a subscriber group's deliveries
//! ([`EVENTS`](super::EVENTS), [`EVENT_DURATION`](super::EVENT_DURATION))
//! and of publishes ([`PUBLISHED`](super::PUBLISHED),
//! [`PUBLISH_DURATION`](super::PUBLISH_DURATION)), their keys made once
//! per thread and reused.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use metrics::{Key, Label, Recorder};

use super::{KeyHasher, EVENTS, EVENT_DURATION, METADATA, PUBLISHED, PUBLISH_DURATION};
use crate::events::EventRoute;

/// How a subscriber group settled a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    Handled,
    Retried,
    DeadLettered,
    Duplicate,
}

/// The label value of an event's operation when no handler knows its
/// topic.
pub(crate) const UNKNOWN_OPERATION: &str = "unknown";

/// Which per-event metric: its name, service, operation, group (0 for a
/// publish's) and outcome (0 for none), each by address. The group's
/// address stays its own while the entry holds the group.
type EventMetricId = (usize, usize, usize, usize, usize);

/// The per-event metric keys kept, with the group each names.
type EventKeys = HashMap<EventMetricId, (Option<Arc<str>>, Rc<Key>), KeyHasher>;

/// The most per-event metric keys a thread keeps ([`EVENT_KEYS`]).
const EVENT_KEYS_MAX: usize = 1024;

thread_local! {
    /// The keys of the per-event metrics this thread has recorded, with
    /// the group each names. One per metric, handler or publisher, group and
    /// outcome:
    /// bounded by the contracts and the groups the application starts,
    /// and at most [`EVENT_KEYS_MAX`]; when full (an application that
    /// starts subscribers anew, each with a new group name) it is emptied
    /// and fills again.
    static EVENT_KEYS: RefCell<EventKeys> = RefCell::default();
}

/// Registers per-event metric `name` (labels `service`, `operation`, and
/// `group` and `outcome` if any) with `register`, the key made once per
/// thread.
fn event_metric<T>(
    name: &'static str,
    service: &'static str,
    operation: &'static str,
    group: Option<&Arc<str>>,
    outcome: Option<&'static str>,
    register: impl FnOnce(&dyn Recorder, &Key) -> T,
) -> T {
    let id = (
        name.as_ptr() as usize,
        service.as_ptr() as usize,
        operation.as_ptr() as usize,
        group.map_or(0, |group| group.as_ptr() as usize),
        outcome.map_or(0, |value| value.as_ptr() as usize),
    );
    let key = EVENT_KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        if let Some((_, key)) = keys.get(&id) {
            return key.clone();
        }
        if keys.len() >= EVENT_KEYS_MAX {
            keys.clear();
        }
        let mut labels = vec![
            Label::from_static_parts("service", service),
            Label::from_static_parts("operation", operation),
        ];
        if let Some(group) = group {
            labels.push(Label::new("group", group.clone()));
        }
        if let Some(value) = outcome {
            labels.push(Label::from_static_parts("outcome", value));
        }
        let key = Rc::new(Key::from_parts(name, labels));
        keys.insert(id, (group.cloned(), key.clone()));
        key
    });
    // The cache is not borrowed while the recorder runs.
    metrics::with_recorder(|recorder| register(recorder, &key))
}

/// Group `group` of `service` settled a delivery to `operation` so.
pub(crate) fn event_settled(
    service: &'static str,
    operation: &'static str,
    group: &Arc<str>,
    settled: Settled,
) {
    let outcome = match settled {
        Settled::Handled => "handled",
        Settled::Retried => "retried",
        Settled::DeadLettered => "dead_lettered",
        Settled::Duplicate => "duplicate",
    };
    event_metric(
        EVENTS,
        service,
        operation,
        Some(group),
        Some(outcome),
        |r, key| r.register_counter(key, &METADATA),
    )
    .increment(1);
}

/// Group `group`'s handler of `route` ran for the time since `started`.
pub(crate) fn event_handled(route: &EventRoute, group: &Arc<str>, started: Instant) {
    event_metric(
        EVENT_DURATION,
        route.service,
        route.operation,
        Some(group),
        None,
        |r, key| r.register_histogram(key, &METADATA),
    )
    .record(started.elapsed().as_secs_f64());
}

/// An event of `route` was published (`ok`) or not, `started` ago.
pub(crate) fn published(route: &'static EventRoute, ok: bool, started: Instant) {
    let (service, operation) = (route.service, route.operation);
    let outcome = if ok { "ok" } else { "error" };
    event_metric(
        PUBLISHED,
        service,
        operation,
        None,
        Some(outcome),
        |r, key| r.register_counter(key, &METADATA),
    )
    .increment(1);
    event_metric(
        PUBLISH_DURATION,
        service,
        operation,
        None,
        None,
        |r, key| r.register_histogram(key, &METADATA),
    )
    .record(started.elapsed().as_secs_f64());
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::DebuggingRecorder;

    use super::super::tests::find;
    use super::*;

    #[test]
    fn deliveries_are_counted_by_handler_group_and_outcome() {
        static ROUTE: EventRoute = EventRoute {
            service: "billing",
            operation: "order_placed",
            topic: "orders.placed",
        };
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let started = Instant::now();
        // Two groups of the same name at two addresses count as one.
        let groups: [Arc<str>; 3] = ["billing".into(), "audit".into(), "billing".into()];
        metrics::with_local_recorder(&recorder, || {
            // Twice each, so the second goes through the kept keys.
            for _ in 0..2 {
                for group in &groups {
                    event_settled(ROUTE.service, ROUTE.operation, group, Settled::Handled);
                    event_handled(&ROUTE, group, started);
                }
                event_settled(
                    ROUTE.service,
                    UNKNOWN_OPERATION,
                    &groups[1],
                    Settled::DeadLettered,
                );
            }
        });
        let snapshot = snapshotter.snapshot().into_vec();
        let labels = |group, outcome| {
            [
                ("service", "billing"),
                ("operation", "order_placed"),
                ("group", group),
                ("outcome", outcome),
            ]
        };
        assert_eq!(
            find(&snapshot, EVENTS, &labels("billing", "handled")),
            Some(4.0)
        );
        assert_eq!(
            find(&snapshot, EVENTS, &labels("audit", "handled")),
            Some(2.0)
        );
        assert_eq!(
            find(
                &snapshot,
                EVENTS,
                &[
                    ("operation", UNKNOWN_OPERATION),
                    ("group", "audit"),
                    ("outcome", "dead_lettered")
                ]
            ),
            Some(2.0)
        );
        assert_eq!(find(&snapshot, EVENTS, &labels("billing", "retried")), None);
        assert_eq!(
            find(&snapshot, EVENT_DURATION, &labels("audit", "handled")[..3]),
            Some(2.0)
        );
    }

    #[test]
    fn the_event_keys_kept_are_bounded() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            for n in 0..EVENT_KEYS_MAX + 10 {
                let group: Arc<str> = format!("g{n}").into();
                event_settled("s", "o", &group, Settled::Handled);
                assert!(EVENT_KEYS.with(|keys| keys.borrow().len()) <= EVENT_KEYS_MAX);
            }
        });
        let snapshot = snapshotter.snapshot().into_vec();
        assert_eq!(find(&snapshot, EVENTS, &[("group", "g1033")]), Some(1.0));
    }
}
