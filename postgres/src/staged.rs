//! The recording sink a publisher publishes into before the outbox write.

use std::sync::{Arc, Mutex, MutexGuard};

use accord::broker::memory::message_size;
use accord::broker::{BrokerError, Message, Publish};

/// The default most messages a [`Staged`] records: 1,000.
pub const DEFAULT_STAGED_MAX_MESSAGES: usize = 1_000;

/// The default most bytes a [`Staged`] records (topics, keys, headers and
/// payloads, as [`message_size`] counts them): 16 MiB.
pub const DEFAULT_STAGED_MAX_BYTES: usize = 16 * 1024 * 1024;

/// Records the messages a publisher publishes, in memory, until
/// [`Outbox::write`](crate::Outbox::write) stores them in the caller's
/// transaction.
///
/// A generated `{Trait}Publisher` publishes into it as into a broker
/// (`OrdersPublisher::new(staged.clone())`); its publish "returns once
/// accepted", here once recorded. Clones share the same recording.
///
/// # Bounds
///
/// At most [`DEFAULT_STAGED_MAX_MESSAGES`] messages and
/// [`DEFAULT_STAGED_MAX_BYTES`] bytes (see [`Staged::with_limits`]); a
/// publish over either bound fails with [`BrokerError::Rejected`] naming
/// it, and records nothing. One transaction's events are meant to fit in
/// memory; a bulk job writes them in several transactions.
///
/// Dropped with messages that were never written (the last clone gone),
/// it logs a warning naming how many: those events were not published.
#[derive(Debug, Clone)]
pub struct Staged {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    max_messages: usize,
    max_bytes: usize,
    state: Mutex<Recorded>,
}

#[derive(Debug, Default)]
struct Recorded {
    messages: Vec<Message>,
    bytes: usize,
}

impl Default for Staged {
    fn default() -> Self {
        Staged::new()
    }
}

impl Staged {
    /// An empty recording with the default bounds.
    pub fn new() -> Self {
        Staged::with_limits(DEFAULT_STAGED_MAX_MESSAGES, DEFAULT_STAGED_MAX_BYTES)
    }

    /// An empty recording holding at most `max_messages` messages and
    /// `max_bytes` bytes (each at least 1).
    pub fn with_limits(max_messages: usize, max_bytes: usize) -> Self {
        Staged {
            inner: Arc::new(Inner {
                max_messages: max_messages.max(1),
                max_bytes: max_bytes.max(1),
                state: Mutex::new(Recorded::default()),
            }),
        }
    }

    /// How many messages are recorded and not yet written.
    pub fn len(&self) -> usize {
        self.lock().messages.len()
    }

    /// Whether nothing waits to be written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes recorded, as bounded.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// A copy of the recorded messages, in publish order.
    pub fn messages(&self) -> Vec<Message> {
        self.lock().messages.clone()
    }

    /// Forgets the recorded messages without writing them (a caller that
    /// decided not to commit), so that dropping it does not warn.
    pub fn discard(&self) {
        let mut state = self.lock();
        state.messages.clear();
        state.bytes = 0;
    }

    /// Forgets the first `count` messages: they were written.
    pub(crate) fn written(&self, count: usize) {
        let mut state = self.lock();
        let count = count.min(state.messages.len());
        let bytes: usize = state.messages[..count].iter().map(message_size).sum();
        state.messages.drain(..count);
        state.bytes -= bytes;
    }

    fn lock(&self) -> MutexGuard<'_, Recorded> {
        self.inner.lock()
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Recorded> {
        // Every mutation completes before anything that can panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let unwritten = self.lock().messages.len();
        if unwritten > 0 {
            tracing::warn!(
                unwritten,
                "staged events dropped without being written to the outbox: they will not be published"
            );
        }
    }
}

impl Publish for Staged {
    async fn publish(&self, message: Message) -> Result<(), BrokerError> {
        let size = message_size(&message);
        let mut state = self.lock();
        if state.messages.len() >= self.inner.max_messages {
            return Err(BrokerError::Rejected(format!(
                "the staged events are at their bound of {} messages; write fewer events per transaction or raise Staged::with_limits",
                self.inner.max_messages
            )));
        }
        if state.bytes + size > self.inner.max_bytes {
            return Err(BrokerError::Rejected(format!(
                "a {size}-byte event would take the staged events over their bound of {} bytes ({} held); write fewer events per transaction or raise Staged::with_limits",
                self.inner.max_bytes, state.bytes
            )));
        }
        state.bytes += size;
        state.messages.push(message);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_within_its_bounds_and_names_the_one_reached() {
        let staged = Staged::with_limits(2, 1_000);
        staged.publish(Message::new("t", "1")).await.unwrap();
        staged
            .clone()
            .publish(Message::new("t", "2"))
            .await
            .unwrap();
        assert_eq!(staged.len(), 2, "clones share the recording");
        let err = staged.publish(Message::new("t", "3")).await.unwrap_err();
        assert!(err.to_string().contains("bound of 2 messages"), "{err}");

        let small = Staged::with_limits(10, 8);
        small.publish(Message::new("t", "1234")).await.unwrap();
        let err = small.publish(Message::new("t", "1234")).await.unwrap_err();
        assert!(err.to_string().contains("bound of 8 bytes"), "{err}");
        assert_eq!(small.len(), 1, "a refused publish records nothing");
        small.written(1);
        assert!(small.is_empty());
        assert_eq!(small.bytes(), 0);
        staged.discard();
    }

    /// Log output, captured.
    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn dropping_unwritten_events_warns_with_their_count_and_written_ones_do_not() {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let written = Staged::new();
        written.publish(Message::new("t", "1")).await.unwrap();
        written.written(1);
        drop(written);
        let empty = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(empty.is_empty(), "{empty}");

        let staged = Staged::new();
        let clone = staged.clone();
        for n in 0..3 {
            staged
                .publish(Message::new("t", n.to_string()))
                .await
                .unwrap();
        }
        drop(staged);
        assert!(
            logs.0.lock().unwrap().is_empty(),
            "a clone still holds them"
        );
        drop(clone);
        let warned = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(warned.contains("WARN"), "{warned}");
        assert!(warned.contains("unwritten=3"), "{warned}");
        assert!(warned.contains("will not be published"), "{warned}");
    }
}
