//! Signed webhooks: `Credo-Signature: t=<unix seconds>,v1=<hex hmac>` for the referral event
//! webhook, and the same scheme under Stripe's header name, `Stripe-Signature` (`billing`).
//!
//! The signature is HMAC-SHA256(secret, `"<t>.<raw body>"`). Binding the timestamp into the MAC
//! and refusing old (or far-future) timestamps stops replays; several `v1=` entries may be
//! sent while a secret is rotated, and any one matching is enough. Other schemes (`v0=`, `v2=`)
//! are ignored so the format can grow.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Name of the HTTP header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Credo-Signature";
/// Replay window used unless a program configures another one.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook secret is empty; configure a random secret of at least 32 bytes")]
    EmptySecret,
    #[error("malformed signature header: {reason}; expected `t=<unix seconds>,v1=<hex hmac>`")]
    MalformedHeader { reason: &'static str },
    #[error("webhook timestamp {timestamp} is more than {tolerance_secs} s away from the server time {now}; check the sender's clock or resend the event")]
    TimestampOutsideWindow {
        timestamp: i64,
        now: i64,
        tolerance_secs: i64,
    },
    #[error("webhook signature does not match; sign `<t>.<raw body>` with HMAC-SHA256 and the current webhook secret")]
    BadSignature,
}

/// Header value for `body` sent at `timestamp`, e.g. `t=1700000000,v1=5f…`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> Result<String, WebhookError> {
    let timestamp_text = timestamp.to_string();
    let mac = keyed_mac(secret, &timestamp_text, body)?;
    Ok(format!(
        "t={timestamp_text},v1={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// Checks `header` (the value of [`SIGNATURE_HEADER`]) against the raw `body` and returns the
/// signed timestamp. The signature is checked first and in constant time; only an authentic
/// message is then judged on its timestamp, which must be within `tolerance_secs` of `now`
/// in either direction.
pub fn verify_signature(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<i64, WebhookError> {
    let parsed = parse_header(header)?;
    let mac = keyed_mac(secret, parsed.timestamp_text, body)?;
    // Every candidate is compared (no early exit), each in constant time.
    let matched = parsed.signatures.iter().fold(false, |found, candidate| {
        mac.clone().verify_slice(candidate).is_ok() | found
    });
    if !matched {
        return Err(WebhookError::BadSignature);
    }
    let tolerance = tolerance_secs.max(0).unsigned_abs();
    if now.abs_diff(parsed.timestamp) > tolerance {
        return Err(WebhookError::TimestampOutsideWindow {
            timestamp: parsed.timestamp,
            now,
            tolerance_secs,
        });
    }
    Ok(parsed.timestamp)
}

struct ParsedHeader<'a> {
    /// The digits exactly as sent; the MAC covers these bytes.
    timestamp_text: &'a str,
    timestamp: i64,
    signatures: Vec<Vec<u8>>,
}

fn parse_header(header: &str) -> Result<ParsedHeader<'_>, WebhookError> {
    let malformed = |reason| WebhookError::MalformedHeader { reason };
    let mut timestamp: Option<(&str, i64)> = None;
    let mut signatures = Vec::new();
    for part in header.trim().split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(malformed("every entry must be key=value"))?;
        match key.trim() {
            "t" => {
                if timestamp.is_some() {
                    return Err(malformed("t= appears more than once"));
                }
                let value = value.trim();
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(malformed("t= must be unix seconds (digits only)"));
                }
                let seconds = value
                    .parse::<i64>()
                    .map_err(|_| malformed("t= is too large"))?;
                timestamp = Some((value, seconds));
            }
            "v1" => {
                let bytes =
                    hex::decode(value.trim()).map_err(|_| malformed("v1= must be hexadecimal"))?;
                if bytes.len() != 32 {
                    return Err(malformed("v1= must be 64 hex characters (HMAC-SHA256)"));
                }
                signatures.push(bytes);
            }
            _ => {}
        }
    }
    let (timestamp_text, timestamp) = timestamp.ok_or(malformed("t= is missing"))?;
    if signatures.is_empty() {
        return Err(malformed("no v1= signature"));
    }
    Ok(ParsedHeader {
        timestamp_text,
        timestamp,
        signatures,
    })
}

fn keyed_mac(secret: &[u8], timestamp_text: &str, body: &[u8]) -> Result<HmacSha256, WebhookError> {
    if secret.is_empty() {
        return Err(WebhookError::EmptySecret);
    }
    // HMAC accepts keys of any length, so this only fails on the empty key refused above.
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| WebhookError::EmptySecret)?;
    mac.update(timestamp_text.as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test_0123456789abcdef0123456789";
    const BODY: &[u8] = br#"{"kind":"invoice_paid","amount_minor":15000}"#;
    const NOW: i64 = 1_700_000_000;

    fn signed(secret: &[u8], t: i64, body: &[u8]) -> Result<String, WebhookError> {
        sign(secret, t, body)
    }

    #[test]
    fn known_answer() -> Result<(), WebhookError> {
        // HMAC-SHA256("key", "1.x") computed independently (Python hmac module).
        assert_eq!(
            sign(b"key", 1, b"x")?,
            "t=1,v1=fc4913c41a7bf793267e2a384f3261c9436ec2cd097bd745e7b0d99113f510ec"
        );
        Ok(())
    }

    #[test]
    fn valid_signature_returns_timestamp() -> Result<(), WebhookError> {
        let header = signed(SECRET, NOW - 10, BODY)?;
        assert_eq!(
            verify_signature(SECRET, &header, BODY, NOW, 300),
            Ok(NOW - 10)
        );
        // Whitespace around entries is tolerated.
        let spaced = header.replace(',', " , ");
        assert_eq!(
            verify_signature(SECRET, &spaced, BODY, NOW, 300),
            Ok(NOW - 10)
        );
        Ok(())
    }

    #[test]
    fn timestamp_on_the_window_edge_passes_and_beyond_fails() -> Result<(), WebhookError> {
        for t in [NOW - 300, NOW + 300] {
            let header = signed(SECRET, t, BODY)?;
            assert_eq!(verify_signature(SECRET, &header, BODY, NOW, 300), Ok(t));
        }
        for t in [NOW - 301, NOW + 301, 0] {
            let header = signed(SECRET, t, BODY)?;
            assert_eq!(
                verify_signature(SECRET, &header, BODY, NOW, 300),
                Err(WebhookError::TimestampOutsideWindow {
                    timestamp: t,
                    now: NOW,
                    tolerance_secs: 300
                })
            );
        }
        Ok(())
    }

    #[test]
    fn tampered_body_wrong_secret_or_moved_timestamp_fail() -> Result<(), WebhookError> {
        let header = signed(SECRET, NOW, BODY)?;
        let tampered = br#"{"kind":"invoice_paid","amount_minor":99999}"#;
        assert_eq!(
            verify_signature(SECRET, &header, tampered, NOW, 300),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_signature(b"another-secret", &header, BODY, NOW, 300),
            Err(WebhookError::BadSignature)
        );
        // Replaying the signature under a fresh timestamp breaks the MAC.
        let moved = header.replace(&format!("t={NOW}"), &format!("t={}", NOW + 1));
        assert_eq!(
            verify_signature(SECRET, &moved, BODY, NOW, 300),
            Err(WebhookError::BadSignature)
        );
        // Leading zeros change the signed text, so they do not verify either.
        let padded = header.replace(&format!("t={NOW}"), &format!("t=0{NOW}"));
        assert_eq!(
            verify_signature(SECRET, &padded, BODY, NOW, 300),
            Err(WebhookError::BadSignature)
        );
        Ok(())
    }

    #[test]
    fn any_of_several_v1_entries_may_match() -> Result<(), WebhookError> {
        let old = signed(b"old-secret", NOW, BODY)?;
        let new = signed(b"new-secret", NOW, BODY)?;
        let Some((_, new_v1)) = new.split_once(",v1=") else {
            panic!("sign() output has a v1 entry");
        };
        let both = format!("{old},v1={new_v1},v0=ignored");
        assert_eq!(
            verify_signature(b"old-secret", &both, BODY, NOW, 60),
            Ok(NOW)
        );
        assert_eq!(
            verify_signature(b"new-secret", &both, BODY, NOW, 60),
            Ok(NOW)
        );
        assert_eq!(
            verify_signature(b"third-secret", &both, BODY, NOW, 60),
            Err(WebhookError::BadSignature)
        );
        Ok(())
    }

    #[test]
    fn bad_signature_is_reported_before_timestamp() -> Result<(), WebhookError> {
        let stale = signed(b"forged", NOW - 10_000, BODY)?;
        assert_eq!(
            verify_signature(SECRET, &stale, BODY, NOW, 300),
            Err(WebhookError::BadSignature)
        );
        Ok(())
    }

    #[test]
    fn malformed_headers_are_rejected() {
        let v1 = "a".repeat(64);
        let cases = [
            String::new(),
            "garbage".to_owned(),
            format!("v1={v1}"),
            format!("t={NOW}"),
            format!("t=,v1={v1}"),
            format!("t=-5,v1={v1}"),
            format!("t=+5,v1={v1}"),
            format!("t=12abc,v1={v1}"),
            format!("t=99999999999999999999,v1={v1}"),
            format!("t=1,t=2,v1={v1}"),
            format!("t={NOW},v1=zz"),
            format!("t={NOW},v1=abcd"),
            format!("t={NOW},v1={v1},junk"),
        ];
        for header in &cases {
            assert!(
                matches!(
                    verify_signature(SECRET, header, BODY, NOW, 300),
                    Err(WebhookError::MalformedHeader { .. })
                ),
                "{header:?}"
            );
        }
    }

    #[test]
    fn empty_secret_is_refused() {
        assert_eq!(sign(b"", NOW, BODY), Err(WebhookError::EmptySecret));
        let header = format!("t={NOW},v1={}", "a".repeat(64));
        assert_eq!(
            verify_signature(b"", &header, BODY, NOW, 300),
            Err(WebhookError::EmptySecret)
        );
    }
}
