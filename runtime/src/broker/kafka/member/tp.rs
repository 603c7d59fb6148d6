//! Topic-partitions as the member's maps key them, with foldhash's fast
//! hasher rather than the default SipHash: the member looks its partitions
//! up several times per record, and their names come from the group's own
//! assignment, not from what producers write, so a fixed seed does no harm
//! here.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use foldhash::fast::FixedState;

/// A topic and partition.
pub(in crate::broker::kafka) type Tp = (Arc<str>, i32);

/// A map by topic-partition.
pub(super) type TpMap<V> = HashMap<Tp, V, FixedState>;

/// A set of topic-partitions.
pub(super) type TpSet = HashSet<Tp, FixedState>;

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
