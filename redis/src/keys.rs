//! The Redis key of a group's event id: `<prefix>:<group>:<id>`.
//!
//! Group names and ids come from publishers and configuration, so a key
//! must stay unambiguous and bounded whatever they hold:
//!
//! - `%` and `:` in a group or id are written `%25` and `%3A`, so the
//!   separators cannot be forged: the group `a:b` with the id `c` and the
//!   group `a` with the id `b:c` are different keys;
//! - a group or id longer than the store's `max_id_len` (default 256
//!   bytes) is written as `%sha256=` and the hex of its SHA-256 digest (64
//!   characters), which escaped text can never spell, since a `%` in it is
//!   always followed by `25` or `3A`.
//!
//! A key is therefore at most the prefix, two separators and twice
//! `3 × max_id_len` bytes long (about 1.5 KiB with the defaults); a UUID
//! event id makes a key of the prefix, the group and 38 bytes.

use sha2::{Digest, Sha256};

/// What a digested group or id starts with.
const DIGEST_MARK: &str = "%sha256=";

/// The key of `id` handled by `group`, under `prefix`.
pub(crate) fn dedupe_key(prefix: &str, group: &str, id: &str, max_id_len: usize) -> String {
    let mut key = String::with_capacity(prefix.len() + group.len() + id.len() + 2);
    key.push_str(prefix);
    key.push(':');
    push_part(&mut key, group, max_id_len);
    key.push(':');
    push_part(&mut key, id, max_id_len);
    key
}

/// Appends `part` escaped, or its digest when it is longer than
/// `max_id_len` bytes.
fn push_part(key: &mut String, part: &str, max_id_len: usize) {
    if part.len() > max_id_len {
        key.push_str(DIGEST_MARK);
        for byte in Sha256::digest(part.as_bytes()) {
            key.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
            key.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
        }
        return;
    }
    for c in part.chars() {
        match c {
            '%' => key.push_str("%25"),
            ':' => key.push_str("%3A"),
            c => key.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_are_kept_as_they_are() {
        assert_eq!(
            dedupe_key("accord:dedupe", "inventory", "0b6c-41", 256),
            "accord:dedupe:inventory:0b6c-41"
        );
    }

    #[test]
    fn separators_in_a_group_or_id_cannot_make_two_keys_equal() {
        let a = dedupe_key("p", "a:b", "c", 256);
        let b = dedupe_key("p", "a", "b:c", 256);
        assert_ne!(a, b);
        assert_eq!(a, "p:a%3Ab:c");
        assert_eq!(b, "p:a:b%3Ac");
        assert_eq!(dedupe_key("p", "g", "50%", 256), "p:g:50%25");
    }

    #[test]
    fn a_long_id_is_kept_as_its_digest_and_never_equals_a_text() {
        let long = "x".repeat(64 * 1024);
        let key = dedupe_key("p", "g", &long, 256);
        assert_eq!(key.len(), "p:g:".len() + DIGEST_MARK.len() + 64);
        assert!(key.starts_with("p:g:%sha256="), "{key}");
        assert_eq!(
            key,
            dedupe_key("p", "g", &long, 256),
            "the same id, the same key"
        );
        let other = format!("{long}y");
        assert_ne!(key, dedupe_key("p", "g", &other, 256));
        // The digest's text, sent as an id, is escaped and so differs.
        let spelled = &key["p:g:".len()..];
        assert_ne!(dedupe_key("p", "g", spelled, 256), key);
    }

    #[test]
    fn the_length_bound_is_on_the_text_as_sent() {
        let at = "y".repeat(256);
        assert_eq!(dedupe_key("p", "g", &at, 256), format!("p:g:{at}"));
        let over = "y".repeat(257);
        assert!(dedupe_key("p", "g", &over, 256).starts_with("p:g:%sha256="));
        let long_group = "g".repeat(300);
        assert!(dedupe_key("p", &long_group, "id", 256).starts_with("p:%sha256="));
    }
}
