//! Duplicate suppression by event id, per subscriber group.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

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
/// attempt that will be retried, or when the attempt was abandoned. Implement it over a shared
/// store (Redis, a database) when the members of a group run in several
/// processes.
pub trait DedupeStore: Send + Sync + 'static {
    /// Claims `id` for handling by `group`.
    fn begin<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, Begin>;
    /// Records that `group` is done with `id`: handled it, or dead-lettered
    /// it.
    fn complete<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, ()>;
    /// Releases the claim after a failed or abandoned attempt.
    fn abort<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, ()>;
}

/// The default store: in memory, remembering the last `capacity` handled
/// ids per process.
#[derive(Debug)]
pub struct MemoryDedupe {
    capacity: usize,
    state: Mutex<DedupeState>,
}

#[derive(Debug, Default)]
struct DedupeState {
    done: HashSet<(String, String)>,
    order: VecDeque<(String, String)>,
    in_progress: HashSet<(String, String)>,
}

/// The default number of handled ids a [`MemoryDedupe`] remembers.
pub const DEFAULT_DEDUPE_CAPACITY: usize = 100_000;

impl Default for MemoryDedupe {
    fn default() -> Self {
        MemoryDedupe::new(DEFAULT_DEDUPE_CAPACITY)
    }
}

impl MemoryDedupe {
    /// A store remembering the last `capacity` handled ids.
    pub fn new(capacity: usize) -> Self {
        MemoryDedupe {
            capacity: capacity.max(1),
            state: Mutex::new(DedupeState::default()),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut DedupeState) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut state)
    }
}

impl DedupeStore for MemoryDedupe {
    fn begin<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, Begin> {
        let key = (group.to_owned(), id.to_owned());
        let result = self.with(|s| {
            if s.done.contains(&key) {
                Begin::Duplicate
            } else if !s.in_progress.insert(key) {
                Begin::InProgress
            } else {
                Begin::New
            }
        });
        Box::pin(std::future::ready(result))
    }

    fn complete<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, ()> {
        let key = (group.to_owned(), id.to_owned());
        let capacity = self.capacity;
        self.with(|s| {
            s.in_progress.remove(&key);
            if s.done.insert(key.clone()) {
                s.order.push_back(key);
                while s.order.len() > capacity {
                    if let Some(old) = s.order.pop_front() {
                        s.done.remove(&old);
                    }
                }
            }
        });
        Box::pin(std::future::ready(()))
    }

    fn abort<'a>(&'a self, group: &'a str, id: &'a str) -> StoreFuture<'a, ()> {
        let key = (group.to_owned(), id.to_owned());
        self.with(|s| {
            s.in_progress.remove(&key);
        });
        Box::pin(std::future::ready(()))
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
}
