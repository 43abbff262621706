//! Multibase byte formats: base58btc (`z…`), Ed25519 Multikey public and secret keys, and
//! base64url-no-pad (`u…`). Every textual key or signature encoding in credentials goes through here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{SigningKey, VerifyingKey};

/// Multicodec prefix of an Ed25519 public key (`ed25519-pub`, varint 0xed).
pub const ED25519_PUB_PREFIX: [u8; 2] = [0xed, 0x01];
/// Multicodec prefix of an Ed25519 secret key (`ed25519-priv`, varint 0x1300).
pub const ED25519_PRIV_PREFIX: [u8; 2] = [0x80, 0x26];
/// Longest base58btc input we decode. Base58 decoding is quadratic in the input length, so an
/// attacker-supplied megabyte string must be refused before decoding, not after.
pub const MAX_BASE58_CHARS: usize = 256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MultibaseError {
    #[error("expected a base58btc multibase string starting with 'z'")]
    NotBase58btc,
    #[error("expected a base64url multibase string starting with 'u'")]
    NotBase64url,
    #[error("base58btc value is {0} characters long; at most {MAX_BASE58_CHARS} are accepted")]
    TooLong(usize),
    #[error("invalid base58btc: {0}")]
    Base58(String),
    #[error("invalid base64url (no padding): {0}")]
    Base64(String),
    #[error("{kind} must be 34 bytes (2-byte multicodec prefix + 32-byte key), got {len}")]
    KeyLength { kind: &'static str, len: usize },
    #[error("{kind} has multicodec prefix {found:02x?}; expected {expected:02x?}")]
    KeyPrefix {
        kind: &'static str,
        found: [u8; 2],
        expected: [u8; 2],
    },
    #[error("Multikey is not a valid Ed25519 public key (not a curve point, or a weak key)")]
    InvalidPublicKey,
}

/// `z` + base58btc(bytes).
pub fn encode_base58btc(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(1 + bytes.len() * 138 / 100 + 1);
    out.push('z');
    out.push_str(&bs58::encode(bytes).into_string());
    out
}

/// Decodes a `z…` base58btc multibase string of at most [`MAX_BASE58_CHARS`] characters.
pub fn decode_base58btc(encoded: &str) -> Result<Vec<u8>, MultibaseError> {
    let body = encoded
        .strip_prefix('z')
        .ok_or(MultibaseError::NotBase58btc)?;
    if encoded.len() > MAX_BASE58_CHARS {
        return Err(MultibaseError::TooLong(encoded.len()));
    }
    bs58::decode(body)
        .into_vec()
        .map_err(|e| MultibaseError::Base58(e.to_string()))
}

/// Ed25519 Multikey `publicKeyMultibase`: `z` + base58btc(0xed 0x01 ‖ pub32), always `z6Mk…`.
pub fn encode_multikey(key: &VerifyingKey) -> String {
    let mut bytes = [0u8; 34];
    bytes[..2].copy_from_slice(&ED25519_PUB_PREFIX);
    bytes[2..].copy_from_slice(key.as_bytes());
    encode_base58btc(&bytes)
}

/// Parses an Ed25519 Multikey; refuses other key types, wrong lengths, non-points and weak keys.
pub fn decode_multikey(encoded: &str) -> Result<VerifyingKey, MultibaseError> {
    let key = split_key("Multikey public key", encoded, ED25519_PUB_PREFIX)?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| MultibaseError::InvalidPublicKey)?;
    if key.is_weak() {
        return Err(MultibaseError::InvalidPublicKey);
    }
    Ok(key)
}

/// Parses a W3C secret key multibase (`z` + base58btc(0x80 0x26 ‖ seed32)).
pub fn decode_secret_multikey(encoded: &str) -> Result<SigningKey, MultibaseError> {
    let seed = split_key("Multikey secret key", encoded, ED25519_PRIV_PREFIX)?;
    Ok(SigningKey::from_bytes(&seed))
}

fn split_key(
    kind: &'static str,
    encoded: &str,
    expected: [u8; 2],
) -> Result<[u8; 32], MultibaseError> {
    let bytes = decode_base58btc(encoded)?;
    if bytes.len() != 34 {
        return Err(MultibaseError::KeyLength {
            kind,
            len: bytes.len(),
        });
    }
    let found = [bytes[0], bytes[1]];
    if found != expected {
        return Err(MultibaseError::KeyPrefix {
            kind,
            found,
            expected,
        });
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes[2..]);
    Ok(key)
}

/// `u` + base64url without padding.
pub fn encode_base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(1 + bytes.len().div_ceil(3) * 4);
    out.push('u');
    URL_SAFE_NO_PAD.encode_string(bytes, &mut out);
    out
}

/// Decodes a `u…` base64url-no-pad multibase string.
pub fn decode_base64url(encoded: &str) -> Result<Vec<u8>, MultibaseError> {
    let body = encoded
        .strip_prefix('u')
        .ok_or(MultibaseError::NotBase64url)?;
    URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|e| MultibaseError::Base64(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const KEY_PAIR: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/credentials/vc-di-eddsa/keyPair.json"
    ));

    fn key_pair() -> (String, String) {
        let v: Value = serde_json::from_str(KEY_PAIR).unwrap();
        (
            v["publicKeyMultibase"].as_str().unwrap().to_owned(),
            v["privateKeyMultibase"].as_str().unwrap().to_owned(),
        )
    }

    #[test]
    fn vector_secret_key_derives_vector_public_key() {
        let (public, secret) = key_pair();
        let signing = decode_secret_multikey(&secret).unwrap();
        assert_eq!(encode_multikey(&signing.verifying_key()), public);
        assert_eq!(decode_multikey(&public).unwrap(), signing.verifying_key());
    }

    #[test]
    fn multikey_round_trip_starts_with_z6mk() {
        for seed in [[0u8; 32], [7u8; 32], [255u8; 32]] {
            let key = SigningKey::from_bytes(&seed).verifying_key();
            let encoded = encode_multikey(&key);
            assert!(encoded.starts_with("z6Mk"), "{encoded}");
            assert_eq!(decode_multikey(&encoded).unwrap(), key);
        }
    }

    #[test]
    fn multikey_rejects_wrong_prefix_length_base_and_weak_keys() {
        let (public, secret) = key_pair();
        // A secret key is not a public Multikey and vice versa.
        assert!(matches!(
            decode_multikey(&secret),
            Err(MultibaseError::KeyPrefix { .. })
        ));
        assert!(matches!(
            decode_secret_multikey(&public),
            Err(MultibaseError::KeyPrefix { .. })
        ));
        // X25519 multicodec (0xec 0x01).
        let mut x25519 = vec![0xec, 0x01];
        x25519.extend_from_slice(&[9u8; 32]);
        assert!(matches!(
            decode_multikey(&encode_base58btc(&x25519)),
            Err(MultibaseError::KeyPrefix { .. })
        ));
        // Too short / too long.
        let mut short = ED25519_PUB_PREFIX.to_vec();
        short.extend_from_slice(&[1u8; 31]);
        assert_eq!(
            decode_multikey(&encode_base58btc(&short)),
            Err(MultibaseError::KeyLength {
                kind: "Multikey public key",
                len: 33
            })
        );
        let mut long = ED25519_PUB_PREFIX.to_vec();
        long.extend_from_slice(&[1u8; 33]);
        assert!(matches!(
            decode_multikey(&encode_base58btc(&long)),
            Err(MultibaseError::KeyLength { len: 35, .. })
        ));
        // Wrong multibase prefix, bad alphabet, oversized input.
        assert_eq!(
            decode_multikey(&public[1..]),
            Err(MultibaseError::NotBase58btc)
        );
        assert!(matches!(
            decode_multikey("z0OIl"),
            Err(MultibaseError::Base58(_))
        ));
        let huge = format!("z{}", "1".repeat(1_000_000));
        assert_eq!(
            decode_multikey(&huge),
            Err(MultibaseError::TooLong(1_000_001))
        );
        // The identity point is a weak (small-order) key.
        let mut identity = ED25519_PUB_PREFIX.to_vec();
        let mut point = [0u8; 32];
        point[0] = 1;
        identity.extend_from_slice(&point);
        assert_eq!(
            decode_multikey(&encode_base58btc(&identity)),
            Err(MultibaseError::InvalidPublicKey)
        );
    }

    #[test]
    fn base64url_multibase_round_trip_and_rejections() {
        let bytes: Vec<u8> = (0u8..=255).collect();
        let encoded = encode_base64url(&bytes);
        assert!(encoded.starts_with('u'));
        assert!(!encoded.contains('=') && !encoded.contains('+') && !encoded.contains('/'));
        assert_eq!(decode_base64url(&encoded).unwrap(), bytes);
        assert_eq!(decode_base64url("zabc"), Err(MultibaseError::NotBase64url));
        assert!(matches!(
            decode_base64url("uab+c"),
            Err(MultibaseError::Base64(_))
        ));
        assert!(matches!(
            decode_base64url("uYQ=="),
            Err(MultibaseError::Base64(_))
        ));
    }
}
