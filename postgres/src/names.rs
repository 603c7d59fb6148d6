//! Table names, the stable hashes that partition events and key advisory
//! locks, and how an inbox stores group names and event ids.

use accord::broker::key_partition::fnv1a;
use sha2::{Digest, Sha256};

use crate::Error;

/// The longest table name accepted, in bytes: PostgreSQL's 63-byte
/// identifier limit less room for the suffixes of the table's indexes.
pub const MAX_TABLE_NAME_LEN: usize = 48;

/// Checks that `name` is a plain lower-case identifier (`a`-`z`, `0`-`9`,
/// `_`, not starting with a digit) of at most [`MAX_TABLE_NAME_LEN`]
/// bytes. Names are also quoted in every statement, so a reserved word is
/// fine.
pub(crate) fn check_table_name(name: &str) -> Result<(), Error> {
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_well = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !starts_well || !rest_well {
        return Err(Error::InvalidName(format!(
            "{name:?} is not a plain lower-case identifier (a-z, 0-9 and _, not starting with a digit)"
        )));
    }
    if name.len() > MAX_TABLE_NAME_LEN {
        return Err(Error::InvalidName(format!(
            "{name:?} is {} bytes, over the {MAX_TABLE_NAME_LEN} allowed (PostgreSQL cuts identifiers at 63 bytes, and the indexes add a suffix)",
            name.len()
        )));
    }
    Ok(())
}

/// The first key of a table's two-key advisory locks: a non-negative
/// 32-bit hash of `purpose` and the table name, so that two outbox tables
/// in one database never share locks.
pub(crate) fn lock_space(purpose: &str, table: &str) -> i32 {
    let hash = fnv1a(format!("accord:{purpose}:{table}").as_bytes());
    (hash & 0x7fff_ffff) as i32
}

/// Group names and event ids kept as they are, up to this many bytes.
pub(crate) const MAX_STORED_ID_LEN: usize = accord::events::dedupe::DEFAULT_DEDUPE_MAX_ID_LEN;

/// What marks a stored digest.
const DIGEST_PREFIX: &str = "sha256:";

/// How a group name or an event id is stored: as it is, or as
/// `sha256:<hex>` of it when it is longer than [`MAX_STORED_ID_LEN`],
/// holds a NUL (which PostgreSQL text cannot), or itself starts with
/// `sha256:` (so that a digest never equals an id kept as it is).
pub(crate) fn stored_id(id: &str) -> std::borrow::Cow<'_, str> {
    if id.len() <= MAX_STORED_ID_LEN && !id.contains('\0') && !id.starts_with(DIGEST_PREFIX) {
        return id.into();
    }
    let digest = Sha256::digest(id.as_bytes());
    let mut text = String::with_capacity(DIGEST_PREFIX.len() + 64);
    text.push_str(DIGEST_PREFIX);
    for byte in digest {
        text.push_str(&format!("{byte:02x}"));
    }
    text.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_plain_identifiers() {
        for good in ["accord_outbox", "_x", "order", "t1"] {
            assert!(check_table_name(good).is_ok(), "{good}");
        }
        for bad in ["", "1t", "Outbox", "a-b", "a b", "x\"; drop", "é"] {
            let err = check_table_name(bad).unwrap_err().to_string();
            assert!(err.contains("lower-case identifier"), "{bad}: {err}");
        }
        let long = "a".repeat(MAX_TABLE_NAME_LEN + 1);
        assert!(check_table_name(&long)
            .unwrap_err()
            .to_string()
            .contains("over the 48 allowed"));
    }

    #[test]
    fn long_and_unstorable_ids_are_digested_without_colliding() {
        assert_eq!(stored_id("evt-1"), "evt-1");
        let long = "x".repeat(MAX_STORED_ID_LEN + 1);
        let digested = stored_id(&long);
        assert!(digested.starts_with("sha256:") && digested.len() == 71);
        let nul = stored_id("evt-1\0replay 1");
        assert!(nul.starts_with("sha256:"));
        assert_ne!(
            stored_id(&digested),
            digested,
            "a lookalike is digested too"
        );
        assert_eq!(
            stored_id(&"y".repeat(MAX_STORED_ID_LEN)).len(),
            MAX_STORED_ID_LEN
        );
    }
}
