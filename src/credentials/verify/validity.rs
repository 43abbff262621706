//! The validity check: `validFrom` and `validUntil` against the time of verification.

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Map, Value};

use super::outcome::{fail, pass, Failure, Outcome};

/// validFrom and validUntil; either may be absent.
type Window = (Option<DateTime<FixedOffset>>, Option<DateTime<FixedOffset>>);

pub(super) fn validity_window(doc: &Map<String, Value>) -> Result<Window, String> {
    let read = |field: &str| match doc.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(Some)
            .map_err(|_| format!("{field} is not an RFC 3339 date-time with a time zone")),
        Some(_) => Err(format!("{field} must be a date-time string")),
    };
    Ok((read("validFrom")?, read("validUntil")?))
}

pub(super) fn check_validity(doc: &Map<String, Value>, now: DateTime<Utc>) -> Outcome {
    let (from, until) = match validity_window(doc) {
        Ok(window) => window,
        Err(detail) => return fail(Failure::Invalid, detail),
    };
    let show =
        |t: DateTime<FixedOffset>| crate::credentials::format_timestamp(t.with_timezone(&Utc));
    if let Some(from) = from.filter(|from| *from > now) {
        return fail(
            Failure::NotYetValid,
            format!("not valid before {}", show(from)),
        );
    }
    if let Some(until) = until.filter(|until| *until <= now) {
        return fail(Failure::Expired, format!("expired at {}", show(until)));
    }
    match until {
        Some(until) => pass(format!("valid until {}", show(until))),
        None => pass("valid; no expiry date"),
    }
}
