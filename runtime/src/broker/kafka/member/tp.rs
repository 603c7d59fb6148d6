//! Topic-partitions as the member's maps key them, with a hasher cheaper
//! than the default: the member looks its partitions up several times per
//! record, and their names come from the group's own assignment, not from
//! what producers write, so a hash that is not keyed does no harm here.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// A topic and partition.
pub(in crate::broker::kafka) type Tp = (Arc<str>, i32);

/// A map by topic-partition.
pub(super) type TpMap<V> = HashMap<Tp, V, BuildHasherDefault<TpHasher>>;

/// A set of topic-partitions.
pub(super) type TpSet = HashSet<Tp, BuildHasherDefault<TpHasher>>;

/// The multiply-rotate hash of rustc (`FxHasher`): a few instructions per
/// word of the topic's name.
#[derive(Default)]
pub(super) struct TpHasher(u64);

impl TpHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for TpHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let mut last = [0u8; 8];
        let rest = chunks.remainder();
        last[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(last));
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_i32(&mut self, n: i32) {
        self.add(u64::from(n as u32));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_of_topics_are_told_apart() {
        let mut map = TpMap::default();
        for topic in ["orders.placed", "orders.placed.", "orders", "a", ""] {
            for partition in 0..64 {
                map.insert((Arc::<str>::from(topic), partition), partition);
            }
        }
        assert_eq!(map.len(), 5 * 64);
        assert_eq!(map.get(&(Arc::from("orders"), 7)), Some(&7));
        assert_eq!(map.get(&(Arc::from("orders"), 64)), None);
    }
}
