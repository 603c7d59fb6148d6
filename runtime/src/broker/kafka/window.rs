//! The commit window of one partition: which offsets a member has read and
//! not yet settled, and how far the group's offset may be committed.
//!
//! Records settle in any order; the committed offset only ever moves up to
//! the first record read and not yet settled, so a record is never skipped
//! because a later one finished first.

use std::collections::BTreeMap;

/// Offsets read from one partition and not yet covered by a commit.
#[derive(Debug, Default)]
pub(crate) struct Window {
    /// Read offsets, with whether each is settled.
    read: BTreeMap<i64, bool>,
}

impl Window {
    /// Records that `offset` was read.
    pub(crate) fn read(&mut self, offset: i64) {
        self.read.entry(offset).or_insert(false);
    }

    /// Settles `offset`; returns the offset to commit (the next one to
    /// read) when the settled front moved.
    pub(crate) fn settle(&mut self, offset: i64) -> Option<i64> {
        match self.read.get_mut(&offset) {
            Some(settled) => *settled = true,
            None => return None,
        }
        let mut commit = None;
        while let Some(entry) = self.read.first_entry() {
            if !*entry.get() {
                break;
            }
            commit = Some(*entry.key() + 1);
            entry.remove();
        }
        commit
    }

    /// How many read records are not settled.
    #[cfg(test)]
    pub(crate) fn unsettled(&self) -> usize {
        self.read.values().filter(|s| !**s).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_settlement_waits_for_the_earlier_ones() {
        let mut window = Window::default();
        for offset in 10..15 {
            window.read(offset);
        }
        assert_eq!(window.settle(12), None, "10 and 11 are not settled");
        assert_eq!(window.settle(14), None);
        assert_eq!(window.settle(10), Some(11));
        assert_eq!(window.settle(11), Some(13), "12 was settled already");
        assert_eq!(window.unsettled(), 1);
        assert_eq!(window.settle(13), Some(15));
        assert_eq!(window.unsettled(), 0);
    }

    #[test]
    fn settling_twice_or_an_unknown_offset_changes_nothing() {
        let mut window = Window::default();
        window.read(3);
        window.read(5);
        assert_eq!(window.settle(3), Some(4));
        assert_eq!(window.settle(3), None);
        assert_eq!(window.settle(99), None);
        assert_eq!(
            window.settle(5),
            Some(6),
            "gaps in offsets are skipped over"
        );
    }
}
