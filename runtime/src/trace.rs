//! W3C trace context (`traceparent`) carried across every call and event.
//!
//! The context of the operation being served is held in a task-local:
//! [`Dispatcher::dispatch`](crate::Dispatcher::dispatch) and the event
//! subscriber restore it from the incoming `traceparent` header (or start a
//! new trace) and record its ids on their span as `trace_id` and `span_id`;
//! clients and publishers send a child of it. A request that places an order
//! and the events it publishes, and their handlers, thus share one trace id.
//! With the `otel` feature and an OpenTelemetry layer installed, the ids are
//! those of the OpenTelemetry spans and the headers are the global
//! propagator's (`observe::otel`).

use std::fmt;
use std::future::Future;

/// The header that carries the context.
pub const TRACEPARENT: &str = "traceparent";

/// The length of a version 00 `traceparent` value.
pub const TRACEPARENT_LEN: usize = 55;

/// Every byte's two lowercase hex digits.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0u8; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        pairs[byte] = [DIGITS[byte >> 4], DIGITS[byte & 0xf]];
        byte += 1;
    }
    pairs
};

/// Writes the low `out.len()` nibbles of `value` into `out` as lowercase
/// hex, most significant first; `out.len()` is even. Two digits per step:
/// every call and every event sends one `traceparent`.
fn write_hex(out: &mut [u8], value: u128) {
    let bytes = value.to_be_bytes();
    let bytes = &bytes[bytes.len() - out.len() / 2..];
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(*byte)]);
    }
}

/// The value of at most 16 lower-case hex digits; `None` for any other
/// byte.
fn hex_u64(digits: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for &digit in digits {
        let nibble = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => return None,
        };
        value = value << 4 | u64::from(nibble);
    }
    Some(value)
}

/// A random id other than zero (an all-zero id is invalid), from the
/// thread's generator. Drawn over the full range and drawn again on zero,
/// rather than over `1..`: a range below the full one costs a division per
/// draw, a 128-bit one in software, on every call and request served.
fn nonzero_u64() -> u64 {
    loop {
        let id = fastrand::u64(..);
        if id != 0 {
            return id;
        }
    }
}

/// [`nonzero_u64`] for a trace id.
fn nonzero_u128() -> u128 {
    loop {
        let id = fastrand::u128(..);
        if id != 0 {
            return id;
        }
    }
}

tokio::task_local! {
    static CURRENT: TraceContext;
}

/// A W3C trace context: trace id, parent span id and the sampled flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace, shared by every span of one flow.
    pub trace_id: u128,
    /// The span this context was made for.
    pub span_id: u64,
    /// The `sampled` trace flag.
    pub sampled: bool,
}

impl TraceContext {
    /// A context starting a new trace.
    pub fn new_root() -> Self {
        TraceContext {
            trace_id: nonzero_u128(),
            span_id: nonzero_u64(),
            sampled: true,
        }
    }

    /// A context for a new span in the same trace.
    pub fn child(&self) -> Self {
        TraceContext {
            span_id: nonzero_u64(),
            ..*self
        }
    }

    /// The context of the operation being served on this task, if any: the
    /// one in [`scope`](Self::scope), else the trace of the current call
    /// [`Context`](crate::Context).
    pub fn current() -> Option<Self> {
        CURRENT
            .try_with(|c| *c)
            .ok()
            .or_else(|| crate::Context::with_current(|c| c.trace()).flatten())
    }

    /// A child of the current context, or a new root: what an outgoing call
    /// or event carries.
    pub fn outgoing() -> Self {
        Self::current().map_or_else(Self::new_root, |c| c.child())
    }

    /// The context an incoming `traceparent` value continues, or a new root
    /// when it is absent or malformed.
    pub fn incoming(traceparent: Option<&str>) -> Self {
        traceparent
            .and_then(Self::parse)
            .map_or_else(Self::new_root, |c| c.child())
    }

    /// Parses a `traceparent` value (version 00; a later version's fields
    /// after the four it shares with 00 are ignored).
    ///
    /// The value is read at its fixed positions, with no splitting or
    /// general number parsing: every event delivered and every call served
    /// parses one.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim().as_bytes();
        // `vv-<32 hex>-<16 hex>-ff`, then, for a version after 00 only,
        // more fields each after a `-`.
        let (head, rest) = value.split_at_checked(TRACEPARENT_LEN)?;
        if head[2] != b'-' || head[35] != b'-' || head[52] != b'-' {
            return None;
        }
        let version = hex_u64(&head[0..2])?;
        if version == 0xff || (!rest.is_empty() && (version == 0 || rest[0] != b'-')) {
            return None;
        }
        let trace_id =
            u128::from(hex_u64(&head[3..19])?) << 64 | u128::from(hex_u64(&head[19..35])?);
        let span_id = hex_u64(&head[36..52])?;
        let flags = hex_u64(&head[53..55])?;
        if trace_id == 0 || span_id == 0 {
            return None;
        }
        Some(TraceContext {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
        })
    }

    /// Runs `future` with this context as the current one.
    pub fn scope<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self, future)
    }

    /// The `traceparent` header value, written into a fixed buffer: the
    /// same text as [`Display`](fmt::Display) gives, without formatting
    /// machinery or a growing `String`.
    pub fn header_bytes(&self) -> [u8; TRACEPARENT_LEN] {
        let mut out = *b"00-00000000000000000000000000000000-0000000000000000-00";
        write_hex(&mut out[3..35], self.trace_id);
        write_hex(&mut out[36..52], u128::from(self.span_id));
        out[54] = if self.sampled { b'1' } else { b'0' };
        out
    }

    /// The trace id as 32 hex digits.
    pub fn trace_id_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// The span id as 16 hex digits.
    pub fn span_id_hex(&self) -> String {
        format!("{:016x}", self.span_id)
    }
}

impl fmt::Display for TraceContext {
    /// The `traceparent` header value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_header() {
        let ctx = TraceContext::new_root();
        assert_eq!(TraceContext::parse(&ctx.to_string()), Some(ctx));
        let parsed =
            TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(parsed.trace_id, 0x4bf92f3577b34da6a3ce929d0e0e4736);
        assert_eq!(parsed.span_id, 0x00f067aa0ba902b7);
        assert!(parsed.sampled);
    }

    #[test]
    fn header_bytes_are_the_display_text() {
        for ctx in [
            TraceContext::new_root(),
            TraceContext {
                trace_id: 1,
                span_id: u64::MAX,
                sampled: false,
            },
            TraceContext {
                trace_id: u128::MAX,
                span_id: 0x00f0_67aa_0ba9_02b7,
                sampled: true,
            },
        ] {
            let bytes = ctx.header_bytes();
            assert_eq!(std::str::from_utf8(&bytes).unwrap(), ctx.to_string());
            assert_eq!(TraceContext::parse(&ctx.to_string()), Some(ctx));
        }
    }

    #[test]
    fn a_later_version_is_read_as_far_as_version_00_goes() {
        let expected = TraceContext {
            trace_id: 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736,
            span_id: 0x00f0_67aa_0ba9_02b7,
            sampled: true,
        };
        for value in [
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\t",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-later-fields",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceContext::parse(value), Some(expected), "{value}");
        }
        let unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        assert_eq!(
            TraceContext::parse(unsampled).map(|c| c.sampled),
            Some(false)
        );
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-701",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0z",
            "00-4bf92f3577b34da6a3ce929d0e0e47é-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn children_keep_the_trace_of_the_current_scope() {
        assert_eq!(TraceContext::current(), None);
        let root = TraceContext::new_root();
        root.scope(async move {
            let out = TraceContext::outgoing();
            assert_eq!(out.trace_id, root.trace_id);
            assert_ne!(out.span_id, root.span_id);
        })
        .await;
    }
}
