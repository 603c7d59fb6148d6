//! A key's partition, the same for every part of accord that spreads keyed
//! events over partitions (the NATS subjects and RabbitMQ routing keys of
//! a topic, the partitions of an `accord-postgres` outbox), and the hash
//! that the backends also shorten long names with (NATS, Kafka).

/// FNV-1a, 64 bits: stable across builds, platforms, versions and
/// languages, so every publisher (or outbox writer) puts a key in the same
/// partition.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The partition of `key` among `partitions`: FNV-1a of the key's UTF-8
/// bytes, modulo the count (one partition when it is zero).
pub fn partition_of(key: &str, partitions: usize) -> usize {
    let count = u64::try_from(partitions.max(1)).unwrap_or(u64::MAX);
    usize::try_from(fnv1a(key.as_bytes()) % count).unwrap_or(0)
}

/// `<topic>.<token>.<partition>`, the name a keyed event of `topic` is
/// sent on. Written in place, in one allocation of the right size: it is
/// made on every keyed publish.
pub(crate) fn partition_name(topic: &str, token: &str, partition: usize) -> String {
    use std::fmt::Write;
    // 20 digits hold any u64.
    let mut name = String::with_capacity(topic.len() + token.len() + 2 + 20);
    name.push_str(topic);
    name.push('.');
    name.push_str(token);
    name.push('.');
    let _ = write!(name, "{partition}");
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_is_the_published_function() {
        // The reference values of FNV-1a 64 for "" and "a".
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn a_key_keeps_its_partition_and_zero_partitions_is_one() {
        let p = partition_of("customer-7", 8);
        assert!(p < 8);
        assert_eq!(partition_of("customer-7", 8), p);
        assert_eq!(partition_of("customer-7", 0), 0);
    }

    #[test]
    fn a_partition_name_is_topic_token_number() {
        assert_eq!(
            partition_name("orders.placed", "_key", 17),
            "orders.placed._key.17"
        );
        assert_eq!(
            partition_name("t", "_key", usize::MAX),
            format!("t._key.{}", usize::MAX)
        );
    }
}
