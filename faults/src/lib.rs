//! Fault tests of accord's broker backends: each test starts its own broker
//! process on a spare port, kills and restarts it or a subscriber process,
//! and checks that no confirmed event is lost. The outbox tests ([`outbox`])
//! do the same to the relay of a PostgreSQL outbox: relay processes killed
//! mid-stream, a broker stopped under a relay, two relays at once.
//!
//! The scenarios ([`scenarios`]) are written once; a backend implements
//! [`FaultBackend`] (how to start, kill and restart its broker, and how it
//! differs) and runs them all with [`for_each_scenario!`].

pub mod backend;
pub mod kafka_server;
pub mod nats_cluster;
pub mod nats_server;
pub mod outbox;
pub mod rabbit_server;
pub mod scenarios;
pub mod stall_proxy;
pub mod support;

pub use backend::{FaultBackend, Timing};

/// Defines one test per fault scenario against the backend `$backend` (a
/// [`FaultBackend`]), in the calling test file.
///
/// ```text
/// accord_faults::for_each_scenario!(accord_faults::nats_server::NatsServer);
/// ```
// rustfmt reflows the long turbofish calls differently on every run.
#[rustfmt::skip]
#[macro_export]
macro_rules! for_each_scenario {
    ($backend:ty) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn broker_killed_mid_stream_loses_no_confirmed_event() {
            use $crate::scenarios::broker_killed_mid_stream_loses_no_confirmed_event as run;
            run::<$backend>().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn killed_subscriber_process_hands_its_events_to_another_member() {
            use $crate::scenarios::killed_subscriber_process_hands_its_events_to_another_member as run;
            run::<$backend>(env!("CARGO_BIN_EXE_fault-worker")).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn poison_events_end_in_the_dead_letters_with_their_reasons() {
            use $crate::scenarios::poison_events_end_in_the_dead_letters_with_their_reasons as run;
            run::<$backend>().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn shutdown_with_the_broker_gone_returns_within_its_bounds() {
            use $crate::scenarios::shutdown_with_the_broker_gone_returns_within_its_bounds as run;
            run::<$backend>().await;
        }
    };
}
