//! The fault scenarios ([`accord_faults::scenarios`]) against Kafka, each
//! on a tansu broker of its own ([`KafkaServer`]): a subscriber process
//! killed mid-handler, poison events. tansu keeps its data in memory, so
//! the broker-kill scenario says so and is skipped (docs/kafka.md).

use accord_faults::kafka_server::KafkaServer;

accord_faults::for_each_scenario!(KafkaServer);
