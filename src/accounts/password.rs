//! Password rules and argon2id hashing.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 1024;

/// Checks length in characters; the bound on top keeps hashing time bounded.
pub fn check_policy(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if password.trim().is_empty() {
        Err("enter a password".into())
    } else if chars < MIN_LENGTH {
        Err(format!("use at least {MIN_LENGTH} characters"))
    } else if chars > MAX_LENGTH {
        Err(format!("use at most {MAX_LENGTH} characters"))
    } else {
        Ok(())
    }
}

/// argon2id with the crate's defaults (OWASP's recommended parameters), PHC string format.
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

/// Constant-time verification against a stored PHC hash; a malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A valid hash of a random password, verified against when the account does not exist so that
/// a failed login takes the same time whether or not the address is registered.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash(&crate::secrets::random_token()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterz", &h));
        assert!(!verify("anything", "not a hash"));
        assert!(!verify("anything", dummy_hash()));
    }

    #[test]
    fn policy() {
        assert!(check_policy("").is_err());
        assert!(check_policy("          ").is_err());
        assert!(check_policy("short").is_err());
        assert!(check_policy("long enough!").is_ok());
        assert!(check_policy(&"x".repeat(MAX_LENGTH + 1)).is_err());
    }
}
