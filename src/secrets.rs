//! The instance master key: it encrypts issuer signing keys at rest and, through derived subkeys,
//! signs session tokens and hashes click data. Every node of one deployment must share it.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the master key must be 32 bytes written as 64 hex characters or base64 (got {0} bytes)"
    )]
    Length(usize),
    #[error("the master key is neither hex nor base64")]
    Encoding,
    #[error("master key file {path}: {source}")]
    File {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(…)")
    }
}

impl MasterKey {
    pub const FILE_NAME: &'static str = "master.key";

    /// Parses 64 hex characters or base64 (standard or URL-safe) of exactly 32 bytes.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|_| SecretError::Encoding)?
        } else {
            let engines = [
                base64::engine::general_purpose::STANDARD,
                base64::engine::general_purpose::URL_SAFE,
                base64::engine::general_purpose::STANDARD_NO_PAD,
                base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ];
            engines
                .iter()
                .find_map(|e| e.decode(text).ok())
                .ok_or(SecretError::Encoding)?
        };
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| SecretError::Length(bytes.len()))?;
        Ok(Self(key))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn generate() -> Self {
        use rand_core::RngCore;
        let mut key = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut key);
        Self(key)
    }

    /// Reads `<data_dir>/master.key`, creating it (mode 0600) with a fresh key on first run.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, SecretError> {
        let path = data_dir.join(Self::FILE_NAME);
        let io_err = |source| SecretError::File {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create_private_dir(data_dir).map_err(io_err)?;
                let key = Self::generate();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                match options.open(&path) {
                    Ok(mut file) => {
                        file.write_all(hex::encode(key.0).as_bytes())
                            .map_err(io_err)?;
                        file.sync_all().map_err(io_err)?;
                        Ok(key)
                    }
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::parse(&std::fs::read_to_string(&path).map_err(io_err)?)
                    }
                    Err(e) => Err(io_err(e)),
                }
            }
            Err(e) => Err(io_err(e)),
        }
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A subkey for one purpose, so no two uses share key material.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"credo subkey v1:");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Seals `plain` at rest: XChaCha20-Poly1305 under the subkey `purpose`, with `bound_to` (the
    /// owning row's id) as associated data, so a sealed value copied into another row does not
    /// open. Form: `v1.` + base64url-no-pad(nonce24 ‖ ciphertext ‖ tag16).
    pub fn seal(
        &self,
        purpose: &str,
        bound_to: &str,
        plain: &[u8],
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<String, SealError> {
        let mut nonce = [0u8; SEAL_NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let ciphertext = XChaCha20Poly1305::new((&self.derive(purpose)).into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: bound_to.as_bytes(),
                },
            )
            .map_err(|_| SealError::Seal)?;
        let mut sealed = Vec::with_capacity(SEAL_NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// Opens what [`MasterKey::seal`] sealed for the same `purpose` and `bound_to`.
    pub fn open(&self, purpose: &str, bound_to: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let body = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or(SealError::UnknownFormat)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|e| SealError::Encoding(e.to_string()))?;
        if bytes.len() < SEAL_NONCE_LEN + SEAL_TAG_LEN {
            return Err(SealError::Length(bytes.len()));
        }
        let (nonce, ciphertext) = bytes.split_at(SEAL_NONCE_LEN);
        XChaCha20Poly1305::new((&self.derive(purpose)).into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: bound_to.as_bytes(),
                },
            )
            .map_err(|_| SealError::Open)
    }
}

const SEALED_PREFIX: &str = "v1.";
const SEAL_NONCE_LEN: usize = 24;
const SEAL_TAG_LEN: usize = 16;

/// Why a value could not be sealed or opened (see [`MasterKey::seal`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("sealed data must start with \"v1.\"")]
    UnknownFormat,
    #[error("sealed data is not base64url: {0}")]
    Encoding(String),
    #[error("sealed data is {0} bytes, too short to hold a nonce and a tag")]
    Length(usize),
    #[error("cannot open sealed data: wrong master key, sealed for another row, or altered")]
    Open,
    #[error("cannot seal the data")]
    Seal,
}

/// Hex SHA-256, used to store tokens and API keys (high-entropy secrets need no slow hash).
pub fn sha256_hex(value: &str) -> String {
    use sha2::Digest;
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// A random URL-safe token with 256 bits of entropy.
pub fn random_token() -> String {
    use rand_core::RngCore;
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Creates a directory (and its parents) readable by this user only (0700 on Unix): the data
/// directory holds the database, the master key and mailed links.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_and_base64_and_rejects_the_rest() {
        let hex_key = "0f".repeat(32);
        assert_eq!(MasterKey::parse(&hex_key).unwrap().bytes(), &[0x0f; 32]);
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(MasterKey::parse(&b64).unwrap().bytes(), &[7u8; 32]);
        assert!(matches!(
            MasterKey::parse("abcd"),
            Err(SecretError::Encoding | SecretError::Length(_))
        ));
        assert!(matches!(
            MasterKey::parse(&base64::engine::general_purpose::STANDARD.encode([1u8; 16])),
            Err(SecretError::Length(16))
        ));
    }

    #[test]
    fn key_file_is_created_once_with_mode_0600_in_a_0700_dir() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("data");
        let first = MasterKey::load_or_create(&dir).unwrap();
        let second = MasterKey::load_or_create(&dir).unwrap();
        assert_eq!(first.bytes(), second.bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.join(MasterKey::FILE_NAME)), 0o600);
            assert_eq!(mode(&dir), 0o700);
        }
    }

    #[test]
    fn subkeys_differ_by_purpose() {
        let key = MasterKey::parse(&"11".repeat(32)).unwrap();
        assert_ne!(key.derive("session"), key.derive("clicks"));
        assert_eq!(key.derive("session"), key.derive("session"));
        assert!(!format!("{key:?}").contains("11"));
    }
}
