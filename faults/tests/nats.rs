//! The fault scenarios ([`accord_faults::scenarios`]) against NATS
//! JetStream, each on a server of its own ([`NatsServer`]): a server
//! killed mid-stream and restarted on the same store, a subscriber process
//! killed mid-handler, poison events whose dead letters outlive a crash.

use accord_faults::nats_server::NatsServer;

accord_faults::for_each_scenario!(NatsServer);
