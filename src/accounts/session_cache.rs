//! Sessions this node checked recently, so that a request does not read the database to know who
//! is calling. Entries are keyed by session id and live at most `session_cache_ms`.
//!
//! Revocation: the store functions that end sessions or change what a [`SessionUser`] holds
//! (logout, password reset, disabling an account, staff roles) forget the person's entries when
//! their transaction commits ([`crate::db::after_commit`]), so the change holds from the next
//! request on this node. Other nodes (and `credo admin` commands, which run in their own
//! process) see it when their entry ages out: within `session_cache_ms`.
//!
//! A check that read the database before such a change committed must not put its stale answer
//! back: every forget bumps an epoch, and an answer is kept only if no forget happened since its
//! read began.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use super::SessionUser;

/// Entries beyond this are not kept (expired ones are swept first); a full cache only costs
/// database reads.
const CAPACITY: usize = 200_000;

struct Entry {
    user: SessionUser,
    checked: Instant,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    epoch: u64,
}

/// The cache; the process has one, [`SESSIONS`].
#[derive(Default)]
pub struct SessionCache(Mutex<Inner>);

/// This process's session cache (the store's revocations reach it without any plumbing).
pub static SESSIONS: LazyLock<SessionCache> = LazyLock::new(Default::default);

impl SessionCache {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The person of session `session_id` (of user `user_id`) if this node checked it within
    /// `max_age`.
    pub fn lookup(
        &self,
        session_id: &str,
        user_id: &str,
        max_age: Duration,
    ) -> Option<SessionUser> {
        if max_age.is_zero() {
            return None;
        }
        let inner = self.inner();
        let entry = inner.entries.get(session_id)?;
        (entry.user.id == user_id && entry.checked.elapsed() < max_age).then(|| entry.user.clone())
    }

    /// Taken before a session is read from the database; hand it to [`SessionCache::remember`].
    pub fn epoch(&self) -> u64 {
        self.inner().epoch
    }

    /// Keeps a session read from the database while no forget happened since `epoch`.
    pub fn remember(&self, epoch: u64, user: &SessionUser, max_age: Duration) {
        if max_age.is_zero() {
            return;
        }
        let mut inner = self.inner();
        if inner.epoch != epoch {
            return;
        }
        if inner.entries.len() >= CAPACITY {
            inner
                .entries
                .retain(|_, entry| entry.checked.elapsed() < max_age);
            if inner.entries.len() >= CAPACITY {
                return;
            }
        }
        inner.entries.insert(
            user.session_id.clone(),
            Entry {
                user: user.clone(),
                checked: Instant::now(),
            },
        );
    }

    /// Forgets one session (logout).
    pub fn forget_session(&self, session_id: &str) {
        let mut inner = self.inner();
        inner.epoch += 1;
        inner.entries.remove(session_id);
    }

    /// Forgets every session of a person (revoked, disabled, roles changed).
    pub fn forget_user(&self, user_id: &str) {
        let mut inner = self.inner();
        inner.epoch += 1;
        inner.entries.retain(|_, entry| entry.user.id != user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, session: &str) -> SessionUser {
        SessionUser {
            id: id.into(),
            email: format!("{id}@example.org"),
            display_name: id.into(),
            is_operator: false,
            session_id: session.into(),
            memberships: Vec::new(),
        }
    }

    #[test]
    fn remembered_until_forgotten_or_old() {
        let cache = SessionCache::default();
        let minute = Duration::from_secs(60);
        let (ada, bob) = (user("u-ada", "s-ada-1"), user("u-bob", "s-bob-1"));
        cache.remember(cache.epoch(), &ada, minute);
        cache.remember(cache.epoch(), &bob, minute);
        assert_eq!(
            cache.lookup("s-ada-1", "u-ada", minute).unwrap().id,
            "u-ada"
        );
        // Another person's id with this session id, a zero or elapsed age: not found.
        assert!(cache.lookup("s-ada-1", "u-bob", minute).is_none());
        assert!(cache.lookup("s-ada-1", "u-ada", Duration::ZERO).is_none());
        assert!(cache
            .lookup("s-ada-1", "u-ada", Duration::from_nanos(1))
            .is_none());

        cache.forget_user("u-ada");
        assert!(cache.lookup("s-ada-1", "u-ada", minute).is_none());
        assert!(cache.lookup("s-bob-1", "u-bob", minute).is_some());
        cache.forget_session("s-bob-1");
        assert!(cache.lookup("s-bob-1", "u-bob", minute).is_none());
    }

    #[test]
    fn a_read_that_began_before_a_forget_is_not_kept() {
        let cache = SessionCache::default();
        let minute = Duration::from_secs(60);
        let carol = user("u-carol", "s-carol-1");
        let before = cache.epoch();
        cache.forget_user("u-carol");
        cache.remember(before, &carol, minute);
        assert!(cache.lookup("s-carol-1", "u-carol", minute).is_none());
        cache.remember(cache.epoch(), &carol, minute);
        assert!(cache.lookup("s-carol-1", "u-carol", minute).is_some());
    }
}
