//! The commit window of one partition: which offsets a member has read and
//! not yet settled, and how far the group's offset may be committed.
//!
//! Records settle in any order; the committed offset only ever moves up to
//! the first record read and not yet settled, so a record is never skipped
//! because a later one finished first.
//!
//! When a member hands a partition over (its delivery passed its ack wait,
//! the partition is revoked, or the member leaves), it commits the
//! partition up to its first unsettled record with a note in the commit's
//! metadata ([`Window::handover`]): which later records are settled
//! already, and how often each unsettled record was handed out. The
//! partition's next owner reads from the committed offset, skips what the
//! note says is settled and counts attempts on ([`Resume`]), so records
//! come again in partition order, each once and with its attempt.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;

/// The longest note a commit carries, in bytes: below the 4,096 bytes of
/// Kafka's default `offset.metadata.max.bytes`. What does not fit is left
/// out: records it names come again to the next owner, as after a crash.
pub(crate) const MAX_NOTE: usize = 3_000;

/// The longest run of settled offsets a note is read as: a note that
/// names more is not one of this member's windows (each holds at most the
/// records the member reads ahead and hands out).
const MAX_RANGE: i64 = 65_536;

/// The start of a note, which tells it from other clients' metadata.
const NOTE_TAG: &str = "accord1 ";

/// One read record of the window.
#[derive(Debug, Default, Clone, Copy)]
struct Slot {
    settled: bool,
    /// The attempt it was last handed out as (0: not handed out yet).
    attempt: u32,
}

/// Offsets read from one partition and not yet covered by a commit.
#[derive(Debug, Default)]
pub(crate) struct Window {
    /// Read offsets in ascending order, with whether each is settled. A
    /// partition's records are read in offset order, so a read is mostly
    /// a push at the back, and a settlement a search and a pop at the
    /// front.
    read: VecDeque<(i64, Slot)>,
}

impl Window {
    fn slot(&mut self, offset: i64) -> Option<&mut Slot> {
        let index = self.read.binary_search_by_key(&offset, |(o, _)| *o).ok()?;
        Some(&mut self.read[index].1)
    }

    /// Records that `offset` was read.
    pub(crate) fn read(&mut self, offset: i64) {
        match self.read.back() {
            Some((last, _)) if *last >= offset => {
                if let Err(index) = self.read.binary_search_by_key(&offset, |(o, _)| *o) {
                    self.read.insert(index, (offset, Slot::default()));
                }
            }
            _ => self.read.push_back((offset, Slot::default())),
        }
    }

    /// Records that `offset` was handed out as `attempt`.
    pub(crate) fn handed_out(&mut self, offset: i64, attempt: u32) {
        if let Some(slot) = self.slot(offset) {
            slot.attempt = attempt;
        }
    }

    /// Settles `offset`; returns the offset to commit (the next one to
    /// read) when the settled front moved.
    pub(crate) fn settle(&mut self, offset: i64) -> Option<i64> {
        self.slot(offset)?.settled = true;
        let mut commit = None;
        while let Some((front, slot)) = self.read.front() {
            if !slot.settled {
                break;
            }
            commit = Some(front + 1);
            self.read.pop_front();
        }
        commit
    }

    /// What to commit when the partition is handed over: its first
    /// unsettled offset and the note for the next owner, or `None` when
    /// every record read is settled (the settlements' commit covers it).
    pub(crate) fn handover(&self) -> Option<(i64, String)> {
        let front = self.read.front()?.0;
        let mut note = String::from(NOTE_TAG);
        let mut items = self.read.iter().peekable();
        while let Some(&(offset, slot)) = items.next() {
            let start = note.len();
            let delta = offset - front;
            if slot.settled {
                // A run of settled offsets in a row is written as a range.
                let mut last = offset;
                while let Some(&(next, _)) = items.next_if(|(o, s)| s.settled && *o == last + 1) {
                    last = next;
                }
                if last == offset {
                    let _ = write!(note, "{delta},");
                } else {
                    let _ = write!(note, "{delta}-{},", last - front);
                }
            } else if slot.attempt > 0 {
                let _ = write!(note, "{delta}:{},", slot.attempt);
            }
            if note.len() > MAX_NOTE {
                note.truncate(start);
                break;
            }
        }
        Some((front, note))
    }

    /// How many read records are not settled.
    #[cfg(test)]
    pub(crate) fn unsettled(&self) -> usize {
        self.read.iter().filter(|(_, s)| !s.settled).count()
    }
}

/// What a partition's previous owner noted in its last commit: the records
/// from the committed offset on that are settled, and how often the others
/// were handed out.
#[derive(Debug, Default)]
pub(crate) struct Resume {
    settled: HashSet<i64>,
    attempts: HashMap<i64, u32>,
}

impl Resume {
    /// Reads the note committed with `committed`; anything that is not a
    /// note of this format (another client's metadata) notes nothing.
    pub(crate) fn parse(committed: i64, metadata: &str) -> Resume {
        let mut resume = Resume::default();
        let Some(items) = metadata.strip_prefix(NOTE_TAG) else {
            return resume;
        };
        for item in items.split(',').filter(|i| !i.is_empty()) {
            let parsed = if let Some((delta, attempt)) = item.split_once(':') {
                delta
                    .parse::<i64>()
                    .ok()
                    .zip(attempt.parse::<u32>().ok())
                    .map(|(delta, attempt)| {
                        resume.attempts.insert(committed + delta, attempt);
                    })
            } else {
                let (first, last) = item.split_once('-').unwrap_or((item, item));
                first
                    .parse::<i64>()
                    .ok()
                    .zip(last.parse::<i64>().ok())
                    .map(|(first, last)| {
                        for delta in first..=last.min(first + MAX_RANGE) {
                            resume.settled.insert(committed + delta);
                        }
                    })
            };
            if parsed.is_none() {
                return Resume::default();
            }
        }
        resume
    }

    /// Whether the previous owner settled `offset` already.
    pub(crate) fn settled(&mut self, offset: i64) -> bool {
        // Mostly empty: no hashing per record then.
        !self.settled.is_empty() && self.settled.remove(&offset)
    }

    /// The attempt `offset` comes as, given the attempt its record carries.
    pub(crate) fn attempt(&mut self, offset: i64, carried: u32) -> u32 {
        if self.attempts.is_empty() {
            return carried;
        }
        match self.attempts.remove(&offset) {
            Some(handed) => carried.max(handed.saturating_add(1)),
            None => carried,
        }
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
    fn a_read_out_of_order_takes_its_place() {
        let mut window = Window::default();
        for offset in [5, 3, 7, 3, 4] {
            window.read(offset);
        }
        assert_eq!(window.unsettled(), 4, "3 is read once");
        assert_eq!(window.settle(4), None);
        assert_eq!(window.settle(3), Some(5), "3 and 4 settled, 5 next");
        assert_eq!(window.settle(7), None);
        assert_eq!(window.settle(5), Some(8));
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

    #[test]
    fn a_handover_notes_what_the_next_owner_skips_and_counts() {
        let mut window = Window::default();
        for offset in 100..108 {
            window.read(offset);
        }
        window.handed_out(100, 2);
        window.handed_out(104, 1);
        for offset in [101, 102, 103, 105] {
            assert_eq!(window.settle(offset), None);
        }
        let (front, note) = window.handover().expect("100 is unsettled");
        assert_eq!(front, 100);
        assert_eq!(note, "accord1 0:2,1-3,4:1,5,");
        let mut resume = Resume::parse(front, &note);
        assert_eq!(
            resume.attempt(100, 1),
            3,
            "handed out twice: the third attempt"
        );
        assert!(!resume.settled(100));
        assert!(resume.settled(101) && resume.settled(103) && resume.settled(105));
        assert!(!resume.settled(101), "each skip is used once");
        assert_eq!(resume.attempt(104, 1), 2);
        assert_eq!(resume.attempt(106, 1), 1, "never handed out");
        assert!(!resume.settled(106) && !resume.settled(107));

        assert_eq!(window.settle(100), Some(104));
        assert_eq!(window.settle(104), Some(106));
        assert_eq!(window.handover().unwrap(), (106, "accord1 ".to_owned()));
        assert_eq!(window.settle(107), None);
        assert_eq!(window.settle(106), Some(108));
        assert_eq!(
            window.handover(),
            None,
            "all settled: the plain commit covers it"
        );
    }

    #[test]
    fn a_note_is_bounded_and_foreign_metadata_notes_nothing() {
        let mut window = Window::default();
        for offset in 0..4_000 {
            window.read(offset);
            window.handed_out(offset, 1);
        }
        let (_, note) = window.handover().unwrap();
        assert!(note.len() <= MAX_NOTE, "{} bytes", note.len());
        let mut resume = Resume::parse(7, "someone else's metadata");
        assert_eq!(resume.attempt(7, 1), 1);
        assert!(!resume.settled(8));
        let mut broken = Resume::parse(7, "accord1 0:x,1,");
        assert!(
            !broken.settled(8),
            "a note that does not parse notes nothing"
        );
        let mut huge = Resume::parse(0, "accord1 0-999999999,");
        assert!(huge.settled(MAX_RANGE) && !huge.settled(MAX_RANGE + 1));
    }
}
