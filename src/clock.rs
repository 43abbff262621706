//! Time source. Domain functions take `now` as an argument; the clock lives in the app state so
//! tests can move time forward (hold periods, expiry, deadlines) without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    /// Current UTC time, truncated to microseconds (PostgreSQL's precision) so values read back
    /// from either backend compare equal to what was written.
    pub fn now(&self) -> NaiveDateTime {
        let now =
            Utc::now() + chrono::Duration::seconds(self.offset_seconds.load(Ordering::Relaxed));
        truncate_to_micros(now.naive_utc())
    }

    pub fn now_utc(&self) -> DateTime<Utc> {
        self.now().and_utc()
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_seconds
            .fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}

pub fn truncate_to_micros(t: NaiveDateTime) -> NaiveDateTime {
    let nanos = t.nanosecond();
    t.with_nanosecond(nanos - nanos % 1_000).unwrap_or(t)
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the one format used in API answers and credentials.
pub fn rfc3339_seconds(t: NaiveDateTime) -> String {
    t.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Serializes a stored UTC time as [`rfc3339_seconds`] (`#[serde(serialize_with = …)]`), as the
/// OpenAPI document's `date-time` promises.
pub fn serialize_rfc3339<S: serde::Serializer>(
    t: &NaiveDateTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339_seconds(*t))
}

/// [`serialize_rfc3339`] for an optional time (`null` when absent).
pub fn serialize_rfc3339_opt<S: serde::Serializer>(
    t: &Option<NaiveDateTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => serialize_rfc3339(t, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone() {
        let clock = Clock::default();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(chrono::Duration::days(3));
        let after = copy.now();
        assert!(after - before >= chrono::Duration::days(3));
        assert_eq!(after.nanosecond() % 1_000, 0);
    }

    #[test]
    fn formats_whole_seconds() {
        let t = NaiveDateTime::parse_from_str("2026-11-23 10:11:12.345678", "%Y-%m-%d %H:%M:%S%.f")
            .unwrap();
        assert_eq!(rfc3339_seconds(t), "2026-11-23T10:11:12Z");
        #[derive(serde::Serialize)]
        struct Times {
            #[serde(serialize_with = "serialize_rfc3339")]
            at: NaiveDateTime,
            #[serde(serialize_with = "serialize_rfc3339_opt")]
            until: Option<NaiveDateTime>,
        }
        let json = serde_json::to_string(&Times { at: t, until: None }).unwrap();
        assert_eq!(json, r#"{"at":"2026-11-23T10:11:12Z","until":null}"#);
    }
}
