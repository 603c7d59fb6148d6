//! Fault tests of accord's broker backends: each test starts its own broker
//! process on a spare port, kills and restarts it or a subscriber process,
//! and checks that no confirmed event is lost.
pub mod nats_server;
pub mod rabbit_server;

pub mod support;
