//! API keys and the identities they stand for.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Identity;

/// A set of API keys, each standing for an [`Identity`].
///
/// Keys are held as SHA-256 digests and compared in constant time, every
/// key each time, so neither the comparison nor the position of a match
/// tells a caller how close a guess came; a key of any length hashes to the
/// same 32 bytes. [`ApiKeys::insert_sha256`] takes a digest directly, so a
/// configuration file need not hold the keys themselves.
#[derive(Clone, Default)]
pub struct ApiKeys {
    keys: Arc<Vec<([u8; 32], Identity)>>,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl ApiKeys {
    /// An empty set.
    pub fn new() -> Self {
        ApiKeys::default()
    }

    /// Adds `key`, standing for `identity`.
    pub fn insert(self, key: impl AsRef<[u8]>, identity: Identity) -> Self {
        let digest: [u8; 32] = Sha256::digest(key.as_ref()).into();
        self.push(digest, identity)
    }

    /// Adds the key whose SHA-256 digest is `digest`, standing for
    /// `identity`.
    pub fn insert_sha256(self, digest: [u8; 32], identity: Identity) -> Self {
        self.push(digest, identity)
    }

    fn push(mut self, digest: [u8; 32], identity: Identity) -> Self {
        Arc::make_mut(&mut self.keys).push((digest, identity));
        self
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The identity `key` stands for, if it is in the set.
    pub fn identify(&self, key: &[u8]) -> Option<Identity> {
        let digest: [u8; 32] = Sha256::digest(key).into();
        let mut found = None;
        for (known, identity) in self.keys.iter() {
            if bool::from(known.ct_eq(&digest)) && found.is_none() {
                found = Some(identity);
            }
        }
        found.cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_maps_to_its_identity_and_others_to_none() {
        let keys = ApiKeys::new()
            .insert("k-1", Identity::new("billing").with_scopes(["orders:read"]))
            .insert_sha256(Sha256::digest(b"k-2").into(), Identity::new("ops"));
        assert_eq!(keys.len(), 2);
        assert_eq!(keys.identify(b"k-1").unwrap().subject, "billing");
        assert_eq!(keys.identify(b"k-2").unwrap().subject, "ops");
        assert!(keys.identify(b"k-3").is_none());
        assert!(keys.identify(b"").is_none());
        assert!(keys.identify(b"k-1 ").is_none());
    }
}
