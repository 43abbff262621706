//! In-process rate limits (per node) on login, registration, mail and other abuse-prone endpoints.
//! Every limit is a setting (`CREDO_RATE_LIMIT_<NAME>_PER_MINUTE`, or `_PER_HOUR` where a minute is
//! too coarse); `0` turns it off. Keys are client addresses from [`crate::net::limit_key`], accounts,
//! API keys or mail recipients.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Register,
    /// Anonymous requests that do real work: e-mail verification, password-reset requests.
    PublicWork,
    /// Credential verifications (`POST /api/v1/verify`, the verify page) per client address.
    Verify,
    /// Verifications made with a vendor API key, per key (a higher quota: screening systems).
    VerifyApiKey,
    /// Referral redirects per client address. Over the limit the visitor is still redirected,
    /// but the click is recorded as automated (excluded from the funnel).
    Redirect,
    /// Mails anyone can make us send (reset, verification, registration notices) per recipient.
    MailRecipient,
}

/// Referral clicks per minute from one address that still count as people (the default).
pub const REDIRECTS_PER_MINUTE: u32 = 300;

/// The quotas; `0` turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    /// Failed logins per minute per address, and per account from one address.
    pub login_per_minute: u32,
    /// Failed logins per minute per account from all addresses together.
    pub login_account_per_minute: u32,
    pub register_per_hour: u32,
    pub public_work_per_minute: u32,
    pub verify_per_minute: u32,
    pub verify_api_key_per_minute: u32,
    pub redirect_per_minute: u32,
    pub mail_recipient_per_hour: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            login_per_minute: 10,
            login_account_per_minute: 30,
            register_per_hour: 30,
            public_work_per_minute: 120,
            // Employers check batches of certificates; a verification costs well under 1 ms.
            verify_per_minute: 600,
            verify_api_key_per_minute: 6000,
            redirect_per_minute: REDIRECTS_PER_MINUTE,
            mail_recipient_per_hour: 5,
        }
    }
}

type Keyed = Option<DefaultKeyedRateLimiter<String>>;

fn keyed(quota: Option<Quota>) -> Keyed {
    quota.map(RateLimiter::keyed)
}

fn per_minute(n: u32) -> Option<Quota> {
    NonZeroU32::new(n).map(Quota::per_minute)
}

fn per_hour(n: u32) -> Option<Quota> {
    NonZeroU32::new(n).map(Quota::per_hour)
}

/// Failures counted per key, forgotten at the quota's rate (a leaky bucket). Unlike the governor
/// limiters, a key is charged only by [`Strikes::charge`], so successes can be left uncharged.
struct Strikes {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Strikes {
    fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn level(&self, key: &str, now: Instant) -> f64 {
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.get(key).map_or(0.0, |(level, at)| {
            let drained = now.duration_since(*at).as_secs_f64() * f64::from(self.per_minute) / 60.0;
            (level - drained).max(0.0)
        })
    }

    /// `Err(wait)` when the key has used its quota.
    fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let level = self.level(key, now);
        let limit = f64::from(self.per_minute);
        if level + 1.0 > limit {
            Err(Duration::from_secs_f64(
                (level + 1.0 - limit) * 60.0 / limit,
            ))
        } else {
            Ok(())
        }
    }

    fn add(&self, key: &str, amount: f64, now: Instant) {
        if self.per_minute == 0 {
            return;
        }
        let level = (self.level(key, now) + amount).max(0.0);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if level == 0.0 {
            buckets.remove(key);
        } else {
            buckets.insert(key.to_string(), (level, now));
        }
    }

    fn prune(&self, now: Instant) {
        let rate = f64::from(self.per_minute) / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.retain(|_, (level, at)| *level > now.duration_since(*at).as_secs_f64() * rate);
    }
}

pub struct RateLimits {
    login_by_address: Strikes,
    login_by_pair: Strikes,
    login_by_account: Strikes,
    register: Keyed,
    public_work: Keyed,
    verify: Keyed,
    verify_api_key: Keyed,
    redirect: Keyed,
    mail_recipient: Keyed,
    clock: DefaultClock,
}

/// A login attempt that was let through and charged as a failure up front (so a burst cannot run
/// more password checks than the quota); [`LoginCharge::release`] takes the charge back.
#[must_use]
pub struct LoginCharge<'a> {
    limits: &'a RateLimits,
    keys: [String; 3],
}

impl LoginCharge<'_> {
    /// The password was right, or never checked (empty fields, server busy): not a failure.
    pub fn release(self) {
        let now = Instant::now();
        let [address, pair, account] = &self.keys;
        self.limits.login_by_address.add(address, -1.0, now);
        self.limits.login_by_pair.add(pair, -1.0, now);
        self.limits.login_by_account.add(account, -1.0, now);
    }
}

impl RateLimits {
    pub fn new(settings: &LimitSettings) -> Self {
        let verify_burst = |n: u32| {
            per_minute(n).map(|q| q.allow_burst(NonZeroU32::new(n / 5).unwrap_or(NonZeroU32::MIN)))
        };
        Self {
            login_by_address: Strikes::new(settings.login_per_minute),
            login_by_pair: Strikes::new(settings.login_per_minute),
            login_by_account: Strikes::new(settings.login_account_per_minute),
            register: keyed(per_hour(settings.register_per_hour)),
            public_work: keyed(per_minute(settings.public_work_per_minute)),
            verify: keyed(verify_burst(settings.verify_per_minute)),
            verify_api_key: keyed(verify_burst(settings.verify_api_key_per_minute)),
            redirect: keyed(per_minute(settings.redirect_per_minute)),
            mail_recipient: keyed(per_hour(settings.mail_recipient_per_hour)),
            clock: DefaultClock::default(),
        }
    }

    fn limiter(&self, limit: Limit) -> &Keyed {
        match limit {
            Limit::Register => &self.register,
            Limit::PublicWork => &self.public_work,
            Limit::Verify => &self.verify,
            Limit::VerifyApiKey => &self.verify_api_key,
            Limit::Redirect => &self.redirect,
            Limit::MailRecipient => &self.mail_recipient,
        }
    }

    /// Counts one request; `Err(wait)` when the key is over its limit.
    pub fn check(&self, limit: Limit, key: &str) -> Result<(), Duration> {
        match self.limiter(limit) {
            None => Ok(()),
            Some(limiter) => limiter
                .check_key(&key.to_string())
                .map_err(|not_until| not_until.wait_time_from(self.clock.now())),
        }
    }

    /// Lets a login attempt for `account` from `address` through, or says how long to wait.
    /// Failures count per address, per account from that address, and per account; the account's
    /// total blocks only addresses that have failed on it themselves, so an attacker elsewhere
    /// cannot lock the owner out.
    pub fn login_attempt(&self, address: &str, account: &str) -> Result<LoginCharge<'_>, Duration> {
        let now = Instant::now();
        let pair = format!("{account}\n{address}");
        self.login_by_address.check(address, now)?;
        self.login_by_pair.check(&pair, now)?;
        if self.login_by_pair.level(&pair, now) > 0.0 {
            self.login_by_account.check(account, now)?;
        }
        self.login_by_address.add(address, 1.0, now);
        self.login_by_pair.add(&pair, 1.0, now);
        self.login_by_account.add(account, 1.0, now);
        Ok(LoginCharge {
            limits: self,
            keys: [address.to_string(), pair, account.to_string()],
        })
    }

    /// Forgets idle keys so memory stays bounded.
    pub fn prune(&self) {
        let now = Instant::now();
        self.login_by_address.prune(now);
        self.login_by_pair.prune(now);
        self.login_by_account.prune(now);
        for limiter in [
            &self.register,
            &self.public_work,
            &self.verify,
            &self.verify_api_key,
            &self.redirect,
            &self.mail_recipient,
        ]
        .into_iter()
        .flatten()
        {
            limiter.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> LimitSettings {
        LimitSettings {
            login_per_minute: 3,
            login_account_per_minute: 5,
            public_work_per_minute: 3,
            ..LimitSettings::default()
        }
    }

    #[test]
    fn limits_per_key_and_zero_is_off() {
        let limits = RateLimits::new(&settings());
        for _ in 0..3 {
            limits.check(Limit::PublicWork, "1.2.3.4").unwrap();
        }
        let wait = limits.check(Limit::PublicWork, "1.2.3.4").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(60));
        limits.check(Limit::PublicWork, "5.6.7.8").unwrap();
        let off = RateLimits::new(&LimitSettings {
            public_work_per_minute: 0,
            ..settings()
        });
        for _ in 0..10_000 {
            off.check(Limit::PublicWork, "1.2.3.4").unwrap();
        }
    }

    #[test]
    fn only_failed_logins_count() {
        let limits = RateLimits::new(&settings());
        for _ in 0..20 {
            limits.login_attempt("1.1.1.1", "ada").unwrap().release();
        }
        for _ in 0..3 {
            drop(limits.login_attempt("1.1.1.1", "ada").unwrap());
        }
        assert!(limits.login_attempt("1.1.1.1", "ada").is_err());
        assert!(
            limits.login_attempt("1.1.1.1", "bob").is_err(),
            "per address"
        );
    }

    #[test]
    fn failures_elsewhere_do_not_lock_the_owner_out() {
        let limits = RateLimits::new(&settings());
        // Many addresses fail on Ada's account until its total is used up.
        for i in 0..5 {
            drop(limits.login_attempt(&format!("6.6.6.{i}"), "ada").unwrap());
        }
        assert!(limits.login_attempt("6.6.6.0", "ada").is_err());
        // Ada's own address has no failures: let through.
        limits.login_attempt("1.1.1.1", "ada").unwrap().release();
        limits.login_attempt("1.1.1.1", "ada").unwrap().release();
    }
}
