//! The click recorder behind `/r/<code>`: a small cache of code → landing page and a group
//! commit buffer for clicks.
//!
//! Group commit: a redirect builds the click (its id is a UUIDv7 made here, so the landing URL
//! carries `credo_click=<id>` before the row exists), appends it to an in-memory buffer and
//! answers at once. The flusher job (`jobs::referrals`) wakes when the buffer fills, waits
//! `click_flush_ms` to gather more, and writes the batch in one transaction with multi-row
//! INSERTs; it flushes a last time when the node shuts down gracefully (after the HTTP server
//! drained). Binding a customer flushes first, so a click id handed out by this node is always
//! found.
//!
//! Crash window: clicks still in the buffer when the process dies without a graceful stop
//! (SIGKILL, power loss, panic abort) are lost — at most `click_flush_ms` plus one batch's
//! commit time of clicks. The visitor was redirected anyway; a later binding with such a click
//! id answers 422 (unknown click) and the vendor can bind with the referral code instead.
//! With `click_flush_ms = 0` every click is written before its redirect is answered.
//!
//! The code cache keeps lookups (including unknown codes) for [`CODE_TTL`]; pages that change a
//! landing URL or suspend an advocate clear it on their node, other nodes follow within the TTL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::QueryResult;
use tokio::sync::Notify;
use url::Url;

use super::clicks::{hash_with_salt, is_bot};
use super::codes::normalize_code;
use super::store::{self, CodeTarget, NewClick};
use crate::db::{self, DbConn};

/// How long a code lookup is reused.
pub const CODE_TTL: Duration = Duration::from_secs(2);
/// Cached lookups kept at most (the cache is cleared when it grows past this).
const MAX_CACHED_CODES: usize = 100_000;
/// Buffered clicks at most; beyond, redirects write their click directly (back-pressure).
const MAX_BUFFERED: usize = 200_000;
/// Referrer headers are cut to this many bytes.
const MAX_REFERRER: usize = 512;

/// Where a code leads, parsed once.
#[derive(Debug, Clone)]
pub struct Target {
    pub enrollment_id: String,
    pub program_id: String,
    pub landing: Url,
    pub active: bool,
}

impl Target {
    fn from_row(row: CodeTarget) -> Option<Self> {
        Some(Target {
            landing: Url::parse(&row.landing_url).ok()?,
            enrollment_id: row.enrollment_id,
            program_id: row.program_id,
            active: row.active,
        })
    }
}

/// What a visitor's request tells about the click.
pub struct Visit<'a> {
    pub address: &'a str,
    pub user_agent: Option<&'a str>,
    pub referrer: Option<&'a str>,
    /// The address is over its rate limit: the click is kept but counted as automated.
    pub over_limit: bool,
}

/// A code from a link's path, looked up in the cache ([`ClickRecorder::find`]).
#[derive(Debug)]
pub enum CodeLookup {
    /// The answer is known: `None` for a code that does not exist (or a text that cannot be one).
    Known(Option<Arc<Target>>),
    /// Not cached: look the (normalized) code up with [`ClickRecorder::lookup`].
    Unknown(String),
}

/// Where following a referral link leads ([`ClickRecorder::follow`]).
#[derive(Debug)]
pub enum Followed {
    /// An unknown or suspended code: nothing was recorded and there is nowhere to send the
    /// visitor (never an open redirect).
    Nowhere,
    /// Send the visitor to `location`, the landing URL with `credo_click=<click id>`.
    /// `write_now` is a click the buffer did not take (group commit off, or the buffer full):
    /// write it with [`ClickRecorder::write_one`] before answering.
    Redirect {
        location: String,
        write_now: Option<Box<NewClick>>,
    },
}

/// Normalized code → (looked up at, target; `None` for a code that does not exist).
type CodeCache = HashMap<String, (Instant, Option<Arc<Target>>)>;

pub struct ClickRecorder {
    salt: [u8; 32],
    flush_interval: Option<Duration>,
    buffer: Mutex<Vec<NewClick>>,
    /// Held while a batch is written, so a flush returns only after every click taken from the
    /// buffer before it (by any flusher) is committed.
    flushing: Mutex<()>,
    wake: Notify,
    codes: RwLock<CodeCache>,
}

impl std::fmt::Debug for ClickRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickRecorder")
            .field("flush_interval", &self.flush_interval)
            .finish_non_exhaustive()
    }
}

impl ClickRecorder {
    /// `salt` hashes addresses and user agents (derive it from the master key);
    /// `flush_ms == 0` turns group commit off.
    pub fn new(salt: [u8; 32], flush_ms: u64) -> Self {
        Self {
            salt,
            flush_interval: (flush_ms > 0).then(|| Duration::from_millis(flush_ms)),
            buffer: Mutex::new(Vec::new()),
            flushing: Mutex::new(()),
            wake: Notify::new(),
            codes: RwLock::new(HashMap::new()),
        }
    }

    /// `Some(interval)` when clicks are group-committed.
    pub fn flush_interval(&self) -> Option<Duration> {
        self.flush_interval
    }

    /// The cached lookup of a (normalized) code: `None` on a miss, `Some(None)` for a code known
    /// not to exist.
    pub fn cached(&self, code: &str) -> Option<Option<Arc<Target>>> {
        let codes = self.codes.read().unwrap_or_else(|e| e.into_inner());
        match codes.get(code) {
            Some((at, target)) if at.elapsed() < CODE_TTL => Some(target.clone()),
            _ => None,
        }
    }

    /// The first step of following `/r/<code>`: the code as it stands in the link, normalized
    /// and looked up in the cache.
    pub fn find(&self, raw_code: &str) -> CodeLookup {
        let Some(code) = normalize_code(raw_code) else {
            return CodeLookup::Known(None);
        };
        match self.cached(&code) {
            Some(target) => CodeLookup::Known(target),
            None => CodeLookup::Unknown(code),
        }
    }

    /// Follows a referral link to the code's `target`: an unknown or suspended code leads
    /// nowhere and records nothing; otherwise the visit becomes a click (bots and addresses over
    /// their rate limit flagged, see [`new_click`](Self::new_click)), buffered for the next
    /// flush, and the visitor goes to the landing URL. `visit` is asked for only when a click is
    /// recorded (it checks the rate limit).
    pub fn follow<'v>(
        &self,
        target: Option<&Target>,
        visit: impl FnOnce() -> Visit<'v>,
        now: NaiveDateTime,
    ) -> Followed {
        let Some(target) = target.filter(|t| t.active) else {
            return Followed::Nowhere;
        };
        let click = self.new_click(target, &visit(), now);
        Followed::Redirect {
            location: click.landing.clone(),
            write_now: self.enqueue(click).map(Box::new),
        }
    }

    /// Looks the code up in the database and caches the answer.
    pub fn lookup(&self, conn: &mut DbConn, code: &str) -> QueryResult<Option<Arc<Target>>> {
        let target = store::code_target(conn, code)?
            .and_then(Target::from_row)
            .map(Arc::new);
        let mut codes = self.codes.write().unwrap_or_else(|e| e.into_inner());
        if codes.len() >= MAX_CACHED_CODES {
            codes.clear();
        }
        codes.insert(code.to_string(), (Instant::now(), target.clone()));
        Ok(target)
    }

    /// Forgets every cached lookup (after a landing URL changed or an advocate was suspended).
    pub fn forget_codes(&self) {
        self.codes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Builds the click for a visit and the URL to redirect to (the landing URL with
    /// `credo_click=<id>` appended to its query).
    pub fn new_click(&self, target: &Target, visit: &Visit<'_>, now: NaiveDateTime) -> NewClick {
        let id = db::new_id();
        let mut landing = target.landing.clone();
        landing.query_pairs_mut().append_pair("credo_click", &id);
        let referrer = visit.referrer.map(|r| {
            let mut end = r.len().min(MAX_REFERRER);
            while !r.is_char_boundary(end) {
                end -= 1;
            }
            r[..end].to_string()
        });
        NewClick {
            id,
            program_id: target.program_id.clone(),
            enrollment_id: target.enrollment_id.clone(),
            at: now,
            ip_hash: hash_with_salt(&self.salt, visit.address),
            ua_hash: hash_with_salt(&self.salt, visit.user_agent.unwrap_or("")),
            referrer,
            landing: landing.into(),
            is_bot: visit.over_limit || is_bot(visit.user_agent),
        }
    }

    /// Buffers a click for the next flush. Gives it back when group commit is off or the buffer
    /// is full; the caller then writes it itself.
    pub fn enqueue(&self, click: NewClick) -> Option<NewClick> {
        if self.flush_interval.is_none() {
            return Some(click);
        }
        let was_empty = {
            let mut buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
            if buffer.len() >= MAX_BUFFERED {
                return Some(click);
            }
            buffer.push(click);
            buffer.len() == 1
        };
        if was_empty {
            self.wake.notify_one();
        }
        None
    }

    /// Clicks waiting for the next flush.
    pub fn buffered(&self) -> usize {
        self.buffer.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Resolves when clicks were buffered since the last wait (a permit is kept, so a click
    /// buffered just before waiting is not missed).
    pub async fn clicks_waiting(&self) {
        self.wake.notified().await;
    }

    /// Writes every buffered click in one transaction; on failure they go back to the buffer
    /// (before any newer ones) and the error is returned. When it returns `Ok`, every click
    /// buffered before the call is in the database (a concurrent flush is waited for).
    pub fn flush(&self, conn: &mut DbConn) -> QueryResult<usize> {
        let _flushing = self.flushing.lock().unwrap_or_else(|e| e.into_inner());
        let batch = std::mem::take(&mut *self.buffer.lock().unwrap_or_else(|e| e.into_inner()));
        if batch.is_empty() {
            return Ok(0);
        }
        match db::transaction(conn, |c| store::insert_clicks(c, &batch)) {
            Ok(n) => Ok(n),
            Err(e) => {
                let mut buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
                let newer = std::mem::replace(&mut *buffer, batch);
                buffer.extend(newer);
                drop(buffer);
                self.wake.notify_one();
                Err(e)
            }
        }
    }

    /// Writes one click in its own transaction (group commit off, or the buffer full).
    pub fn write_one(conn: &mut DbConn, click: &NewClick) -> QueryResult<usize> {
        db::transaction(conn, |c| {
            store::insert_clicks(c, std::slice::from_ref(click))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(landing: &str) -> Target {
        Target {
            enrollment_id: "e".into(),
            program_id: "p".into(),
            landing: Url::parse(landing).unwrap(),
            active: true,
        }
    }

    fn visit<'a>(ua: Option<&'a str>, referrer: Option<&'a str>) -> Visit<'a> {
        Visit {
            address: "203.0.113.9",
            user_agent: ua,
            referrer,
            over_limit: false,
        }
    }

    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";

    #[test]
    fn landing_keeps_its_query_and_gets_the_click_id() {
        let recorder = ClickRecorder::new([1; 32], 5);
        let now = NaiveDateTime::default();
        let click = recorder.new_click(
            &target("https://v.example/pricing?plan=pro&utm_source=credo#top"),
            &visit(Some(FIREFOX), None),
            now,
        );
        assert_eq!(
            click.landing,
            format!(
                "https://v.example/pricing?plan=pro&utm_source=credo&credo_click={}#top",
                click.id
            )
        );
        assert!(!click.is_bot);
        assert_ne!(click.ip_hash, "203.0.113.9");
        assert_eq!(click.ip_hash.len(), 64);
    }

    #[test]
    fn bots_and_flooding_addresses_are_flagged() {
        let recorder = ClickRecorder::new([1; 32], 5);
        let now = NaiveDateTime::default();
        let t = target("https://v.example/");
        assert!(
            recorder
                .new_click(&t, &visit(Some("curl/8.5.0"), None), now)
                .is_bot
        );
        assert!(recorder.new_click(&t, &visit(None, None), now).is_bot);
        let flooding = Visit {
            over_limit: true,
            ..visit(Some(FIREFOX), None)
        };
        assert!(recorder.new_click(&t, &flooding, now).is_bot);
    }

    #[test]
    fn long_referrers_are_cut_on_a_character_boundary() {
        let recorder = ClickRecorder::new([1; 32], 5);
        let long = format!("https://x.example/{}", "é".repeat(600));
        let click = recorder.new_click(
            &target("https://v.example/"),
            &visit(Some(FIREFOX), Some(&long)),
            NaiveDateTime::default(),
        );
        let referrer = click.referrer.unwrap();
        assert!(referrer.len() <= MAX_REFERRER && long.starts_with(&referrer));
    }

    #[test]
    fn following_a_link_records_only_active_codes() {
        let recorder = ClickRecorder::new([1; 32], 5);
        let now = NaiveDateTime::default();
        let suspended = Target {
            active: false,
            ..target("https://v.example/")
        };
        let visited = std::cell::Cell::new(false);
        let followed = recorder.follow(
            Some(&suspended),
            || {
                visited.set(true);
                visit(Some(FIREFOX), None)
            },
            now,
        );
        assert!(matches!(followed, Followed::Nowhere));
        assert!(matches!(
            recorder.follow(None, || visit(Some(FIREFOX), None), now),
            Followed::Nowhere
        ));
        assert!(
            !visited.get(),
            "no visit (and no rate-limit check) without a click"
        );
        assert_eq!(recorder.buffered(), 0);
        let Followed::Redirect {
            location,
            write_now,
        } = recorder.follow(
            Some(&target("https://v.example/")),
            || visit(Some(FIREFOX), None),
            now,
        )
        else {
            panic!("an active code redirects");
        };
        assert!(write_now.is_none());
        assert_eq!(recorder.buffered(), 1);
        assert!(location.starts_with("https://v.example/?credo_click="));
    }

    #[test]
    fn codes_that_cannot_exist_are_known_without_a_lookup() {
        let recorder = ClickRecorder::new([1; 32], 5);
        assert!(matches!(
            recorder.find("../../etc"),
            CodeLookup::Known(None)
        ));
        assert!(matches!(recorder.find("ADA-7K2Q9"), CodeLookup::Unknown(_)));
    }

    #[test]
    fn enqueue_buffers_only_with_group_commit() {
        let now = NaiveDateTime::default();
        let grouped = ClickRecorder::new([1; 32], 5);
        let click = grouped.new_click(&target("https://v.example/"), &visit(None, None), now);
        assert!(grouped.enqueue(click).is_none());
        assert_eq!(grouped.buffered(), 1);
        let direct = ClickRecorder::new([1; 32], 0);
        let click = direct.new_click(&target("https://v.example/"), &visit(None, None), now);
        assert!(direct.enqueue(click).is_some());
        assert_eq!(direct.buffered(), 0);
    }
}
