//! JSON bodies (replies, request bodies, event payloads) encoded into one
//! allocation of their exact size.
//!
//! `serde_json::to_vec` starts a body at 128 bytes and doubles it as it
//! grows, and `Bytes::from` a vector with spare capacity allocates a
//! header of its own: four allocator calls for a reply of a few hundred
//! bytes, on every call. Here each thread encodes into a buffer it keeps,
//! and the body is copied out at its exact size: one allocation.

use std::cell::RefCell;

use bytes::Bytes;
use serde::Serialize;

/// The largest buffer a thread keeps between bodies: 16 KiB. A body up to
/// this size is copied out of it; a larger one takes the buffer itself (no
/// copy), and the thread starts its next body with a new one.
pub const KEPT_BUFFER: usize = 16 * 1024;

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// `value` as compact JSON, as `serde_json::to_vec` writes it.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Bytes> {
    let kept = BUFFER.try_with(|buffer| match buffer.try_borrow_mut() {
        Ok(mut buffer) => Some(encode_into(&mut buffer, value)),
        // A `Serialize` that encodes a body of its own while it runs.
        Err(_) => None,
    });
    match kept {
        Ok(Some(body)) => body,
        // Re-entered, or the thread is ending.
        _ => serde_json::to_vec(value).map(Bytes::from),
    }
}

fn encode_into<T: Serialize + ?Sized>(
    buffer: &mut Vec<u8>,
    value: &T,
) -> serde_json::Result<Bytes> {
    buffer.clear();
    let written = serde_json::to_writer(&mut *buffer, value);
    let body = match written {
        Ok(()) if buffer.len() <= KEPT_BUFFER => Ok(Bytes::copy_from_slice(buffer)),
        Ok(()) => Ok(Bytes::from(std::mem::take(buffer))),
        Err(e) => Err(e),
    };
    if buffer.capacity() > KEPT_BUFFER {
        *buffer = Vec::new();
    }
    body
}

#[cfg(test)]
mod tests {
    use serde::ser::{Serialize, Serializer};
    use serde_json::json;

    use super::*;

    #[test]
    fn writes_what_serde_json_writes() {
        for value in [
            json!({"id": 7, "lines": [{"sku": "a\"b", "qty": 2}], "note": null}),
            json!("x".repeat(KEPT_BUFFER + 10)),
            json!([]),
        ] {
            let body = encode(&value).unwrap();
            assert_eq!(body, serde_json::to_vec(&value).unwrap());
        }
    }

    #[test]
    fn bodies_do_not_share_the_buffer() {
        let first = encode(&json!({"a": 1})).unwrap();
        let second = encode(&json!({"b": [2, 3]})).unwrap();
        assert_eq!(first, &br#"{"a":1}"#[..]);
        assert_eq!(second, &br#"{"b":[2,3]}"#[..]);
    }

    #[test]
    fn a_large_body_does_not_stay_with_the_thread() {
        let large = json!("y".repeat(4 * KEPT_BUFFER));
        let body = encode(&large).unwrap();
        assert_eq!(body.len(), 4 * KEPT_BUFFER + 2);
        let capacity = BUFFER.with(|buffer| buffer.borrow().capacity());
        assert!(capacity <= KEPT_BUFFER, "kept {capacity} bytes");
    }

    /// A value whose serialization encodes another body.
    struct Nested;

    impl Serialize for Nested {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let inner = encode(&json!({"inner": true})).expect("encodes");
            serializer.serialize_str(std::str::from_utf8(&inner).expect("UTF-8"))
        }
    }

    #[test]
    fn a_body_encoded_while_encoding_is_its_own() {
        let body = encode(&Nested).unwrap();
        assert_eq!(body, &br#""{\"inner\":true}""#[..]);
    }

    #[test]
    fn an_error_leaves_the_buffer_usable() {
        let failing: std::collections::HashMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        assert!(encode(&failing).is_err());
        assert_eq!(encode(&json!(1)).unwrap(), &b"1"[..]);
    }
}
