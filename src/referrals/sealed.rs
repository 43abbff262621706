//! Webhook secrets at rest: the secret must be readable to verify HMAC signatures, so it is
//! sealed (XChaCha20-Poly1305 under a subkey of the master key, the program id as associated
//! data) rather than hashed. A database dump alone does not reveal it; a row copied to another
//! program does not open.
//!
//! Sealed form: `v1.` + base64url-no-pad(nonce24 ‖ ciphertext ‖ tag16).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::RngCore;

use crate::secrets::MasterKey;

const PREFIX: &str = "v1.";
const NONCE_LEN: usize = 24;
const SUBKEY: &str = "referral-webhook-secret-aead";
/// Prefix of generated webhook secrets, so they are recognizable in configs and secret scanners.
pub const SECRET_PREFIX: &str = "whsec_";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("cannot seal the webhook secret")]
    Seal,
    #[error(
        "cannot open the webhook secret: wrong master key, another program's row, or altered data"
    )]
    Open,
}

/// A fresh random webhook secret (256 bits).
pub fn generate_secret() -> String {
    format!("{SECRET_PREFIX}{}", crate::secrets::random_token())
}

pub fn seal(master: &MasterKey, program_id: &str, secret: &str) -> Result<String, SealError> {
    seal_with(master, SUBKEY, program_id, secret)
}

pub fn open(master: &MasterKey, program_id: &str, sealed: &str) -> Result<String, SealError> {
    open_with(master, SUBKEY, program_id, sealed)
}

/// Seals `secret` under the master key's `subkey` (one per kind of secret) with `owner_id` (the
/// row that holds it) as associated data. Outbound webhook endpoints use it too.
pub fn seal_with(
    master: &MasterKey,
    subkey: &str,
    owner_id: &str,
    secret: &str,
) -> Result<String, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand_core::OsRng.fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new((&master.derive(subkey)).into());
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: secret.as_bytes(),
                aad: owner_id.as_bytes(),
            },
        )
        .map_err(|_| SealError::Seal)?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&ciphertext);
    Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed)))
}

/// Opens what [`seal_with`] sealed with the same subkey and owner.
pub fn open_with(
    master: &MasterKey,
    subkey: &str,
    owner_id: &str,
    sealed: &str,
) -> Result<String, SealError> {
    let bytes = sealed
        .strip_prefix(PREFIX)
        .and_then(|body| URL_SAFE_NO_PAD.decode(body).ok())
        .filter(|bytes| bytes.len() > NONCE_LEN)
        .ok_or(SealError::Open)?;
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new((&master.derive(subkey)).into());
    let plain = cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: owner_id.as_bytes(),
            },
        )
        .map_err(|_| SealError::Open)?;
    String::from_utf8(plain).map_err(|_| SealError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> MasterKey {
        MasterKey::from_bytes([7u8; 32])
    }

    #[test]
    fn round_trip_with_fresh_nonces() {
        let secret = generate_secret();
        assert!(secret.starts_with(SECRET_PREFIX) && secret.len() > 40);
        let a = seal(&master(), "p1", &secret).unwrap();
        let b = seal(&master(), "p1", &secret).unwrap();
        assert_ne!(a, b);
        assert!(!a.contains(&secret));
        assert_eq!(open(&master(), "p1", &a).unwrap(), secret);
        assert_eq!(open(&master(), "p1", &b).unwrap(), secret);
    }

    #[test]
    fn other_program_master_or_tampering_fail() {
        let sealed = seal(&master(), "p1", "whsec_x").unwrap();
        assert_eq!(open(&master(), "p2", &sealed), Err(SealError::Open));
        assert_eq!(
            open(&MasterKey::from_bytes([8u8; 32]), "p1", &sealed),
            Err(SealError::Open)
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
        bytes[NONCE_LEN] ^= 1;
        let tampered = format!("v1.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(open(&master(), "p1", &tampered), Err(SealError::Open));
        assert_eq!(open(&master(), "p1", "whsec_plain"), Err(SealError::Open));
        assert_eq!(open(&master(), "p1", "v1.***"), Err(SealError::Open));
    }
}
