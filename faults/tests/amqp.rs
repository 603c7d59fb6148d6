//! The fault scenarios ([`accord_faults::scenarios`]) against RabbitMQ,
//! each on a node of its own ([`RabbitNode`]): a node killed mid-stream and
//! restarted on the same data, a subscriber process killed mid-handler,
//! poison events whose dead letters outlive a crash.

use accord_faults::rabbit_server::RabbitNode;

accord_faults::for_each_scenario!(RabbitNode);
