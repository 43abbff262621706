//! Session tokens: HS256 JWTs whose key is derived from the master key. The token names a
//! `sessions` row, so logout and password changes revoke it before it expires.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Session id.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct SessionKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(…)")
    }
}

impl SessionKeys {
    pub fn new(secret: &[u8; 32]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn issue(&self, claims: &Claims) -> Result<String, String> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(|e| e.to_string())
    }

    /// Checks signature, algorithm and expiry (at `now`, seconds since the epoch).
    pub fn check(&self, token: &str, now: i64) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against our clock below, not the system's.
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp", "sub"].iter().map(|s| s.to_string()).collect();
        let claims = decode::<Claims>(token, &self.decoding, &validation)
            .ok()?
            .claims;
        (claims.exp > now).then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_expiry_and_tampering() {
        let keys = SessionKeys::new(&[9; 32]);
        let claims = Claims {
            sub: "u".into(),
            sid: "s".into(),
            iat: 100,
            exp: 200,
        };
        let token = keys.issue(&claims).unwrap();
        assert_eq!(keys.check(&token, 150).unwrap().sid, "s");
        assert!(keys.check(&token, 200).is_none());
        assert!(SessionKeys::new(&[8; 32]).check(&token, 150).is_none());
        let mut tampered = token.clone();
        tampered.pop();
        assert!(keys.check(&tampered, 150).is_none());
        // "alg": "none" tokens are refused.
        let none = format!(
            "{}.{}.",
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0",
            token.split('.').nth(1).unwrap()
        );
        assert!(keys.check(&none, 150).is_none());
    }
}
