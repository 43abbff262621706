//! Webhook secrets at rest: the secret must be readable to verify HMAC signatures, so it is
//! sealed under the master key (`MasterKey::seal`, bound to the program id) rather than hashed.
//! A database dump alone does not reveal it; a row copied to another program does not open.

use crate::secrets::{MasterKey, SealError};

const SUBKEY: &str = "referral-webhook-secret-aead";
/// Prefix of generated webhook secrets, so they are recognizable in configs and secret scanners.
pub const SECRET_PREFIX: &str = "whsec_";

/// A fresh random webhook secret (256 bits).
pub fn generate_secret() -> String {
    format!("{SECRET_PREFIX}{}", crate::secrets::random_token())
}

pub fn seal(master: &MasterKey, program_id: &str, secret: &str) -> Result<String, SealError> {
    master.seal(SUBKEY, program_id, secret.as_bytes(), &mut rand_core::OsRng)
}

pub fn open(master: &MasterKey, program_id: &str, sealed: &str) -> Result<String, SealError> {
    let plain = master.open(SUBKEY, program_id, sealed)?;
    String::from_utf8(plain).map_err(|_| SealError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

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
        bytes[24] ^= 1; // the first ciphertext byte, after the nonce
        let tampered = format!("v1.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(open(&master(), "p1", &tampered), Err(SealError::Open));
        assert_eq!(
            open(&master(), "p1", "whsec_plain"),
            Err(SealError::UnknownFormat)
        );
        assert!(matches!(
            open(&master(), "p1", "v1.***"),
            Err(SealError::Encoding(_))
        ));
    }
}
