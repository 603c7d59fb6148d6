//! Duplicate suppression by event id, per subscriber group.
//!
//! Event ids come from publishers, so their length is not ours to choose.
//! [`MemoryDedupe`] holds at most a bounded number of ids and a bounded
//! number of bytes of group and id text: a group name or id longer than
//! its `max_id_len` is kept as its SHA-256 digest (32 bytes), and the
//! oldest handled ids are forgotten first when either bound is reached.

use std::collections::VecDeque;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use hashbrown::hash_table::{Entry, HashTable};
use sha2::{Digest, Sha256};

/// What a [`DedupeStore`] knows of an event id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// Not seen: handle it.
    New,
    /// Already handled, or given up on (dead-lettered), by this group:
    /// acknowledge and skip it.
    Duplicate,
    /// Being handled by another member right now: try again later.
    InProgress,
}

/// A boxed future borrowing its store.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Remembers which events a group has handled.
///
/// The subscriber calls [`begin`](DedupeStore::begin) before a handler runs,
/// then [`complete`](DedupeStore::complete) after it succeeded or after the
/// event was dead-lettered, or [`abort`](DedupeStore::abort) after a failed
/// attempt that will be retried, or when the attempt was abandoned.
/// Implement it over a shared store (Redis, a database) when the members of
/// a group run in several processes.
///
/// # Bounds
///
/// Group names and event ids arrive from publishers and can be of any
/// length and number, so a store must bound what it holds:
///
/// - in entries and in bytes, forgetting the oldest handled ids first (a
///   forgotten id is [`Begin::New`] again: duplicates are then suppressed
///   within a window, as a broker's duplicate window does), or with a time
///   to live;
/// - per id: a long id is kept as a digest of it (SHA-256, as
///   [`MemoryDedupe`] does), never as its full text, so that one id costs
///   a bounded number of bytes whatever a publisher sent.
///
/// Claims in progress (between `begin` and `complete` or `abort`) are
/// bounded by how many handlers run at once, and must not be forgotten
/// while they last.
///
/// Each call is bounded in time by the store itself: the subscriber awaits
/// it in the handling task, so a store waiting for good on a stalled
/// database or cache would hold that task for good. A store over a network
/// sets a timeout on each command or statement and answers
/// [`Begin::InProgress`] when `begin` runs out of it (the event comes back
/// after a backoff), as `RedisDedupe` (2 s) and `PgDedupe` (30 s) do.
pub trait DedupeStore: Send + Sync + 'static {
    /// Claims `id` for handling by `group`.
    fn begin<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, Begin>;
    /// Records that `group` is done with `id`: handled it, or dead-lettered
    /// it.
    fn complete<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, ()>;
    /// Releases the claim after a failed or abandoned attempt.
    fn abort<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, ()>;
}

/// The default number of ids a [`MemoryDedupe`] remembers: 100,000.
pub const DEFAULT_DEDUPE_CAPACITY: usize = 100_000;

/// The default most bytes of group and id text a [`MemoryDedupe`] holds:
/// 16 MiB.
pub const DEFAULT_DEDUPE_MAX_BYTES: usize = 16 * 1024 * 1024;

/// The default longest group name or event id a [`MemoryDedupe`] keeps as
/// it is: 256 bytes. A longer one is kept as its 32-byte SHA-256 digest.
pub const DEFAULT_DEDUPE_MAX_ID_LEN: usize = 256;

/// The length of a digested group name or id.
const DIGEST_LEN: usize = 32;

/// The default store: in memory, per process, remembering the most recently
/// handled ids within a bound in entries ([`DEFAULT_DEDUPE_CAPACITY`]) and
/// in bytes ([`DEFAULT_DEDUPE_MAX_BYTES`]); ids longer than
/// [`DEFAULT_DEDUPE_MAX_ID_LEN`] are kept as their SHA-256 digest.
///
/// ```
/// use accord::events::MemoryDedupe;
///
/// let store = MemoryDedupe::new(10_000).max_bytes(1024 * 1024).max_id_len(128);
/// assert_eq!(store.held_bytes(), 0);
/// ```
#[derive(Debug)]
pub struct MemoryDedupe {
    capacity: usize,
    max_bytes: usize,
    max_id_len: usize,
    /// SipHash with keys of its own: the ids come from publishers, so a
    /// hash they could aim collisions at is not an option.
    hasher: RandomState,
    state: Mutex<DedupeState>,
}

/// A group and an id as held, in one byte string: a flag byte (which
/// parts are digests, so a digest never equals a text), the group's
/// length (8 bytes), then each part as its text, or its digest when longer
/// than `max_id_len`. Lookups build it in a buffer on the stack
/// ([`with_key`]) and allocate nothing; only an id the store keeps is
/// copied to the heap, once.
type Key = [u8];

/// The bytes of a [`Key`] before its text.
const KEY_PREFIX: usize = 1 + 8;

/// The longest key built on the stack; a longer one (only with a
/// `max_id_len` raised past the default) is built on the heap.
const STACK_KEY: usize = KEY_PREFIX + 2 * DEFAULT_DEDUPE_MAX_ID_LEN;

/// The bytes a key counts against the store's byte bound: its text.
fn key_size(key: &Key) -> usize {
    key.len() - KEY_PREFIX
}

/// Calls `f` with the key of `group` and `id`.
fn with_key<R>(group: &str, id: &str, max_id_len: usize, f: impl FnOnce(&Key) -> R) -> R {
    let len = KEY_PREFIX + part_len(group, max_id_len) + part_len(id, max_id_len);
    if len <= STACK_KEY {
        let mut buffer = [0u8; STACK_KEY];
        write_key(&mut buffer[..len], group, id, max_id_len);
        f(&buffer[..len])
    } else {
        let mut buffer = vec![0u8; len];
        write_key(&mut buffer, group, id, max_id_len);
        f(&buffer)
    }
}

/// Writes the key of `group` and `id` into `out`, which is exactly as long
/// as it.
fn write_key(out: &mut [u8], group: &str, id: &str, max_id_len: usize) {
    let (prefix, text) = out.split_at_mut(KEY_PREFIX);
    let group_len = part_len(group, max_id_len);
    let (group_out, id_out) = text.split_at_mut(group_len);
    let group_digested = write_part(group_out, group, max_id_len);
    let id_digested = write_part(id_out, id, max_id_len);
    prefix[0] = u8::from(group_digested) | u8::from(id_digested) << 1;
    prefix[1..].copy_from_slice(&(group_len as u64).to_le_bytes());
}

fn part_len(part: &str, max_id_len: usize) -> usize {
    if part.len() > max_id_len {
        DIGEST_LEN
    } else {
        part.len()
    }
}

/// Writes `part`, or its digest when it is too long; whether it digested.
fn write_part(out: &mut [u8], part: &str, max_id_len: usize) -> bool {
    if part.len() > max_id_len {
        out.copy_from_slice(&Sha256::digest(part.as_bytes()));
        true
    } else {
        out.copy_from_slice(part.as_bytes());
        false
    }
}

/// Whether an id held is claimed by an attempt in progress or done with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    Claimed,
    Done,
}

/// An id held, with its hash.
#[derive(Debug)]
struct HeldId {
    hash: u64,
    key: Arc<Key>,
    held: Held,
}

#[derive(Debug, Default)]
struct DedupeState {
    /// Every id held, claimed or done, with its hash: one table, so that a
    /// claim and its completion each hash the id once, and growing it or
    /// forgetting an id hashes none.
    ids: HashTable<HeldId>,
    /// The done ids, oldest first, with their hashes, to forget them in
    /// that order; each key is shared with `ids`, not copied.
    order: VecDeque<(u64, Arc<Key>)>,
    /// What `ids` holds, by [`key_size`].
    bytes: usize,
}

impl DedupeState {
    /// Forgets the oldest handled ids until the store is within its
    /// bounds, or only claims in progress are left.
    fn trim(&mut self, capacity: usize, max_bytes: usize) {
        while self.ids.len() > capacity || self.bytes > max_bytes {
            let Some((hash, old)) = self.order.pop_front() else {
                break;
            };
            if let Ok(entry) = self.ids.find_entry(hash, |id| Arc::ptr_eq(&id.key, &old)) {
                entry.remove();
            }
            self.bytes -= key_size(&old);
        }
    }
}

impl Default for MemoryDedupe {
    fn default() -> Self {
        MemoryDedupe::new(DEFAULT_DEDUPE_CAPACITY)
    }
}

impl MemoryDedupe {
    /// A store remembering at most `capacity` ids (at least 1), within
    /// [`DEFAULT_DEDUPE_MAX_BYTES`], digesting ids longer than
    /// [`DEFAULT_DEDUPE_MAX_ID_LEN`].
    pub fn new(capacity: usize) -> Self {
        MemoryDedupe {
            capacity: capacity.max(1),
            max_bytes: DEFAULT_DEDUPE_MAX_BYTES,
            max_id_len: DEFAULT_DEDUPE_MAX_ID_LEN,
            hasher: RandomState::new(),
            state: Mutex::new(DedupeState::default()),
        }
    }

    /// The most bytes of group and id text held (at least 1); the oldest
    /// handled ids are forgotten to stay within it. Default
    /// [`DEFAULT_DEDUPE_MAX_BYTES`].
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes.max(1);
        self
    }

    /// The longest group name or id kept as it is; a longer one is kept as
    /// its 32-byte SHA-256 digest. Default [`DEFAULT_DEDUPE_MAX_ID_LEN`].
    pub fn max_id_len(mut self, len: usize) -> Self {
        self.max_id_len = len;
        self
    }

    /// How many ids the store holds: handled, and claimed in progress.
    pub fn len(&self) -> usize {
        self.with(|s| s.ids.len())
    }

    /// Whether the store holds no id.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of group and id text the store holds, as bounded by
    /// [`max_bytes`](Self::max_bytes).
    pub fn held_bytes(&self) -> usize {
        self.with(|s| s.bytes)
    }

    /// Calls `f` with the key of `group` and `id` and its hash.
    fn with_key<R>(&self, group: &str, id: &str, f: impl FnOnce(&Key, u64) -> R) -> R {
        with_key(group, id, self.max_id_len, |key| {
            f(key, self.hasher.hash_one(key))
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut DedupeState) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut state)
    }
}

impl DedupeStore for MemoryDedupe {
    fn begin<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, Begin> {
        let (capacity, max_bytes) = (self.capacity, self.max_bytes);
        let result = self.with_key(group, id, |key, hash| {
            self.with(|s| {
                match s
                    .ids
                    .entry(hash, |held| *held.key == *key, |held| held.hash)
                {
                    Entry::Occupied(entry) => match entry.get().held {
                        Held::Done => Begin::Duplicate,
                        Held::Claimed => Begin::InProgress,
                    },
                    Entry::Vacant(entry) => {
                        entry.insert(HeldId {
                            hash,
                            key: key.into(),
                            held: Held::Claimed,
                        });
                        s.bytes += key_size(key);
                        s.trim(capacity, max_bytes);
                        Begin::New
                    }
                }
            })
        });
        match result {
            Begin::New => Box::pin(Answer::<NEW>),
            Begin::Duplicate => Box::pin(Answer::<DUPLICATE>),
            Begin::InProgress => Box::pin(Answer::<IN_PROGRESS>),
        }
    }

    fn complete<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, ()> {
        let (capacity, max_bytes) = (self.capacity, self.max_bytes);
        self.with_key(group, id, |key, hash| {
            self.with(|s| {
                match s.ids.find_mut(hash, |held| *held.key == *key) {
                    Some(held) if held.held == Held::Done => return,
                    Some(held) => {
                        held.held = Held::Done;
                        s.order.push_back((hash, held.key.clone()));
                    }
                    None => {
                        let key: Arc<Key> = key.into();
                        s.bytes += key_size(&key);
                        let held = HeldId {
                            hash,
                            key: key.clone(),
                            held: Held::Done,
                        };
                        s.ids.insert_unique(hash, held, |held| held.hash);
                        s.order.push_back((hash, key));
                    }
                }
                s.trim(capacity, max_bytes);
            })
        });
        Box::pin(Done)
    }

    fn abort<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, ()> {
        self.with_key(group, id, |key, hash| {
            self.with(|s| {
                if let Ok(entry) = s.ids.find_entry(hash, |held| *held.key == *key) {
                    if entry.get().held == Held::Claimed {
                        entry.remove();
                        s.bytes -= key_size(key);
                    }
                }
            })
        });
        Box::pin(Done)
    }
}

/// A store future that is already done: of no size, so boxing it
/// allocates nothing, where `std::future::ready` would allocate per call.
#[derive(Debug)]
struct Done;

impl Future for Done {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::task::Poll::Ready(())
    }
}

const NEW: u8 = 0;
const DUPLICATE: u8 = 1;
const IN_PROGRESS: u8 = 2;

/// [`Done`] with a [`Begin`], one type for each.
#[derive(Debug)]
struct Answer<const BEGIN: u8>;

impl<const BEGIN: u8> Future for Answer<BEGIN> {
    type Output = Begin;

    fn poll(self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Begin> {
        std::task::Poll::Ready(match BEGIN {
            NEW => Begin::New,
            DUPLICATE => Begin::Duplicate,
            _ => Begin::InProgress,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn suppresses_duplicates_per_group_and_forgets_the_oldest() {
        let store = MemoryDedupe::new(2);
        assert_eq!(store.begin("g", "a").await, Begin::New);
        assert_eq!(store.begin("g", "a").await, Begin::InProgress);
        assert_eq!(
            store.begin("h", "a").await,
            Begin::New,
            "groups are separate"
        );
        store.complete("g", "a").await;
        assert_eq!(store.begin("g", "a").await, Begin::Duplicate);
        assert_eq!(store.begin("g", "b").await, Begin::New);
        store.abort("g", "b").await;
        assert_eq!(
            store.begin("g", "b").await,
            Begin::New,
            "a failed attempt frees the id"
        );
        store.complete("g", "b").await;
        store.complete("h", "a").await;
        assert_eq!(
            store.begin("g", "a").await,
            Begin::New,
            "capacity 2 forgot the oldest"
        );
    }

    #[tokio::test]
    async fn a_thousand_ids_of_64_kib_stay_within_the_byte_bound() {
        let store = MemoryDedupe::default();
        let group = "inventory";
        let ids: Vec<String> = (0..1_000)
            .map(|n| format!("{n:08}{}", "x".repeat(64 * 1024 - 8)))
            .collect();
        for id in &ids {
            assert_eq!(store.begin(group, id).await, Begin::New);
            store.complete(group, id).await;
        }
        assert_eq!(store.len(), 1_000, "nothing was forgotten");
        let per_id = group.len() + DIGEST_LEN;
        assert_eq!(
            store.held_bytes(),
            1_000 * per_id,
            "each long id is held as its digest"
        );
        assert!(store.held_bytes() <= DEFAULT_DEDUPE_MAX_BYTES);
        for id in ids.iter().step_by(10) {
            assert_eq!(
                store.begin(group, id).await,
                Begin::Duplicate,
                "a digested id is still recognised"
            );
        }
        let similar = format!("{:08}{}", 1_000, "x".repeat(64 * 1024 - 8));
        assert_eq!(store.begin(group, &similar).await, Begin::New);
    }

    #[tokio::test]
    async fn the_byte_bound_forgets_the_oldest_ids() {
        // Ten bytes per entry ("g" and a nine-byte id), room for three.
        let store = MemoryDedupe::new(1_000).max_bytes(30);
        for n in 0..5 {
            let id = format!("id-{n:06}");
            assert_eq!(store.begin("g", &id).await, Begin::New);
            store.complete("g", &id).await;
            assert!(store.held_bytes() <= 30, "{} bytes", store.held_bytes());
        }
        assert_eq!(store.len(), 3);
        assert_eq!(store.begin("g", "id-000001").await, Begin::New, "forgotten");
        assert_eq!(
            store.begin("g", "id-000004").await,
            Begin::Duplicate,
            "the newest are remembered"
        );
    }

    #[tokio::test]
    async fn claims_in_progress_count_and_are_never_forgotten() {
        let store = MemoryDedupe::new(2);
        store.complete("g", "old").await;
        assert_eq!(store.begin("g", "a").await, Begin::New);
        assert_eq!(store.begin("g", "b").await, Begin::New);
        assert_eq!(store.len(), 2, "the handled id made room for the claims");
        assert_eq!(store.begin("g", "a").await, Begin::InProgress);
        store.abort("g", "a").await;
        store.abort("g", "b").await;
        assert!(store.is_empty());
        assert_eq!(store.held_bytes(), 0);
    }

    #[tokio::test]
    async fn a_moved_boundary_between_group_and_id_is_another_key() {
        let store = MemoryDedupe::new(100);
        assert_eq!(store.begin("ab", "c").await, Begin::New);
        store.complete("ab", "c").await;
        assert_eq!(
            store.begin("a", "bc").await,
            Begin::New,
            "the group ends where it ends"
        );
        // Past the stack buffer, keys work the same.
        let store = MemoryDedupe::new(100).max_id_len(4096);
        let big = "y".repeat(3000);
        assert_eq!(store.begin("g", &big).await, Begin::New);
        store.complete("g", &big).await;
        assert_eq!(store.begin("g", &big).await, Begin::Duplicate);
        assert_eq!(store.held_bytes(), 1 + 3000);
    }
}
