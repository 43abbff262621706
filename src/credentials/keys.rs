//! Issuer signing keys: Ed25519 seeds sealed at rest under the master key (`MasterKey::seal`),
//! bound to the key's storage id, so a sealed seed copied into another row fails to open.

use chrono::{DateTime, Utc};
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use serde_json::Value;

use super::multibase;
use super::proof::{self, Cryptosuite, ProofError};
pub use crate::secrets::MasterKey;
use crate::secrets::SealError;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("the sealed key: {0}")]
    Sealed(#[from] SealError),
    #[error("the sealed key holds {0} bytes; expected a 32-byte seed")]
    SeedLength(usize),
}

/// The master key's subkey that seals seeds, so no other use shares its key material.
const SEED_SUBKEY: &str = "issuer-seed-aead";

/// Seals a 32-byte Ed25519 seed, bound to `key_id` (the key's storage id).
pub fn seal_seed(
    master: &MasterKey,
    key_id: &str,
    seed: &[u8; 32],
    rng: &mut impl CryptoRngCore,
) -> Result<String, KeyError> {
    Ok(master.seal(SEED_SUBKEY, key_id, seed, rng)?)
}

/// Opens a seed sealed by [`seal_seed`] for the same `key_id`.
pub fn open_seed(master: &MasterKey, key_id: &str, sealed: &str) -> Result<[u8; 32], KeyError> {
    let seed = master.open(SEED_SUBKEY, key_id, sealed)?;
    seed.as_slice()
        .try_into()
        .map_err(|_| KeyError::SeedLength(seed.len()))
}

/// An issuer's signing key with its DID, verification method id (`<did>#z6Mk…`) and the
/// cryptosuite it signs with (eddsa-rdfc-2022 unless the vendor chose otherwise).
/// Debug shows the ids, never the seed.
#[derive(Clone)]
pub struct IssuerKey {
    did: String,
    verification_method: String,
    signing_key: SigningKey,
    cryptosuite: Cryptosuite,
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKey")
            .field("verification_method", &self.verification_method)
            .field("cryptosuite", &self.cryptosuite)
            .finish_non_exhaustive()
    }
}

impl IssuerKey {
    pub fn new(did: &str, signing_key: SigningKey) -> Self {
        let multikey = multibase::encode_multikey(&signing_key.verifying_key());
        Self {
            verification_method: format!("{did}#{multikey}"),
            did: did.to_owned(),
            signing_key,
            cryptosuite: Cryptosuite::default(),
        }
    }

    /// This key, signing with `cryptosuite` from now on.
    pub fn with_cryptosuite(mut self, cryptosuite: Cryptosuite) -> Self {
        self.cryptosuite = cryptosuite;
        self
    }

    pub fn cryptosuite(&self) -> Cryptosuite {
        self.cryptosuite
    }

    pub fn generate(did: &str, rng: &mut impl CryptoRngCore) -> Self {
        Self::new(did, SigningKey::generate(rng))
    }

    /// Opens a stored key: `key_id` is the storage id the seed was sealed with.
    pub fn open(
        did: &str,
        master: &MasterKey,
        key_id: &str,
        sealed: &str,
    ) -> Result<Self, KeyError> {
        Ok(Self::new(
            did,
            SigningKey::from_bytes(&open_seed(master, key_id, sealed)?),
        ))
    }

    /// Seals this key's seed for storage under `key_id`.
    pub fn seal(
        &self,
        master: &MasterKey,
        key_id: &str,
        rng: &mut impl CryptoRngCore,
    ) -> Result<String, KeyError> {
        seal_seed(master, key_id, self.signing_key.as_bytes(), rng)
    }

    pub fn did(&self) -> &str {
        &self.did
    }

    pub fn verification_method(&self) -> &str {
        &self.verification_method
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing_key.verifying_key()
    }

    /// Adds a proof made with this key in its cryptosuite.
    pub fn sign(&self, document: &Value, created: DateTime<Utc>) -> Result<Value, ProofError> {
        proof::sign(
            document,
            &self.signing_key,
            &self.verification_method,
            created,
            self.cryptosuite,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use rand_core::OsRng;

    fn master() -> MasterKey {
        MasterKey::from_bytes([42u8; 32])
    }

    #[test]
    fn seal_open_round_trip_with_fresh_nonces() {
        let seed = [9u8; 32];
        let a = seal_seed(&master(), "key-1", &seed, &mut OsRng).unwrap();
        let b = seal_seed(&master(), "key-1", &seed, &mut OsRng).unwrap();
        assert!(a.starts_with("v1."));
        assert_ne!(a, b, "each seal uses a new random nonce");
        assert_eq!(open_seed(&master(), "key-1", &a).unwrap(), seed);
        assert_eq!(open_seed(&master(), "key-1", &b).unwrap(), seed);
    }

    #[test]
    fn open_fails_on_other_id_other_master_or_tampering() {
        let sealed = seal_seed(&master(), "key-1", &[9u8; 32], &mut OsRng).unwrap();
        assert_eq!(
            open_seed(&master(), "key-2", &sealed),
            Err(KeyError::Sealed(SealError::Open))
        );
        assert_eq!(
            open_seed(&MasterKey::from_bytes([1u8; 32]), "key-1", &sealed),
            Err(KeyError::Sealed(SealError::Open))
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
        bytes[30] ^= 1;
        let tampered = format!("v1.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(
            open_seed(&master(), "key-1", &tampered),
            Err(KeyError::Sealed(SealError::Open))
        );
        assert_eq!(
            open_seed(&master(), "key-1", &sealed[1..]),
            Err(KeyError::Sealed(SealError::UnknownFormat))
        );
        assert!(matches!(
            open_seed(&master(), "key-1", "v1.***"),
            Err(KeyError::Sealed(SealError::Encoding(_)))
        ));
        assert_eq!(
            open_seed(
                &master(),
                "key-1",
                &format!("v1.{}", URL_SAFE_NO_PAD.encode([0u8; 30]))
            ),
            Err(KeyError::Sealed(SealError::Length(30)))
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let master = MasterKey::from_bytes([0xab; 32]);
        let shown = format!("{master:?}");
        assert!(!shown.contains("ab") && !shown.contains("171"), "{shown}");

        let key = IssuerKey::new("did:web:example.com", SigningKey::from_bytes(&[0xcd; 32]));
        let shown = format!("{key:?}");
        assert!(shown.contains("did:web:example.com#z6Mk"), "{shown}");
        assert!(!shown.contains("cdcd") && !shown.contains("205"), "{shown}");
    }

    #[test]
    fn issuer_key_seals_opens_and_signs() {
        let did = "did:web:example.com:issuers:acme";
        let key = IssuerKey::generate(did, &mut OsRng);
        assert!(key
            .verification_method()
            .starts_with(&format!("{did}#z6Mk")));
        let sealed = key.seal(&master(), "row-7", &mut OsRng).unwrap();
        let opened = IssuerKey::open(did, &master(), "row-7", &sealed).unwrap();
        assert_eq!(opened.verifying_key(), key.verifying_key());
        assert_eq!(opened.verification_method(), key.verification_method());
        assert_eq!(opened.did(), did);

        let doc = serde_json::json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:x"});
        let signed = opened
            .sign(&doc, "2025-01-01T00:00:00Z".parse().unwrap())
            .unwrap();
        assert_eq!(
            signed["proof"]["verificationMethod"],
            key.verification_method()
        );
        proof::verify(&signed, &key.verifying_key()).unwrap();
    }
}
