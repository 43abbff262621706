//! A bounded memory of proofs already found valid, so a credential verified again skips its
//! cryptography (for eddsa-rdfc-2022 that is milliseconds of JSON-LD expansion and
//! canonicalization). An entry is the SHA-256 of the exact credential bytes the engine read, the
//! proof's place in the proof set and the public key that verified it: other bytes or another key
//! is another entry, so the cache can only repeat a verdict the cryptography gave for the same
//! input. Only successes are kept; dates, keys, controllers and status are still checked on every
//! verification.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use ed25519_dalek::VerifyingKey;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The digest of the exact bytes of one credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialDigest([u8; 32]);

impl CredentialDigest {
    /// SHA-256 of `credential` as serialized (the bytes every proof of it is checked against).
    pub fn of(credential: &Value) -> Option<Self> {
        let bytes = serde_json::to_vec(credential).ok()?;
        Some(Self(Sha256::digest(&bytes).into()))
    }
}

/// Valid proofs, first in first out once `capacity` entries are held (0: nothing is kept).
pub struct ProofCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    known: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl ProofCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// How many proofs are remembered at most (0: none).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn entry(credential: &CredentialDigest, proof: usize, key: &VerifyingKey) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(credential.0);
        hash.update((proof as u64).to_be_bytes());
        hash.update(key.as_bytes());
        hash.finalize().into()
    }

    /// Whether proof number `proof` of the credential was verified with `key` before.
    pub fn contains(
        &self,
        credential: &CredentialDigest,
        proof: usize,
        key: &VerifyingKey,
    ) -> bool {
        let entry = Self::entry(credential, proof, key);
        self.entries
            .lock()
            .is_ok_and(|entries| entries.known.contains(&entry))
    }

    /// Remembers that proof number `proof` of the credential verified with `key`.
    pub fn insert(&self, credential: &CredentialDigest, proof: usize, key: &VerifyingKey) {
        if self.capacity == 0 {
            return;
        }
        let entry = Self::entry(credential, proof, key);
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if !entries.known.insert(entry) {
            return;
        }
        entries.order.push_back(entry);
        while entries.order.len() > self.capacity {
            if let Some(oldest) = entries.order.pop_front() {
                entries.known.remove(&oldest);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |entries| entries.order.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use serde_json::json;

    #[test]
    fn entries_depend_on_bytes_proof_and_key_and_stay_bounded() {
        let cache = ProofCache::new(2);
        let key = SigningKey::from_bytes(&[1; 32]).verifying_key();
        let other_key = SigningKey::from_bytes(&[2; 32]).verifying_key();
        let a = CredentialDigest::of(&json!({"id": "a"})).unwrap();
        let tampered = CredentialDigest::of(&json!({"id": "b"})).unwrap();
        cache.insert(&a, 0, &key);
        assert!(cache.contains(&a, 0, &key));
        assert!(!cache.contains(&tampered, 0, &key));
        assert!(!cache.contains(&a, 1, &key));
        assert!(!cache.contains(&a, 0, &other_key));
        cache.insert(&a, 1, &key);
        cache.insert(&tampered, 0, &key);
        assert_eq!(cache.len(), 2);
        assert!(
            !cache.contains(&a, 0, &key),
            "the oldest entry leaves first"
        );
        assert!(cache.contains(&tampered, 0, &key));
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let cache = ProofCache::new(0);
        let key = SigningKey::from_bytes(&[1; 32]).verifying_key();
        let a = CredentialDigest::of(&json!({"id": "a"})).unwrap();
        cache.insert(&a, 0, &key);
        assert!(cache.is_empty());
        assert!(!cache.contains(&a, 0, &key));
    }
}
