//! In-process rate limits (per node) on login, registration and other abuse-prone endpoints.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Login attempts per client address.
    LoginByAddress,
    /// Login attempts per account, so one account can't be guessed from many addresses.
    LoginByAccount,
    Register,
    /// Anonymous requests that do real work: verification, password-reset mails.
    PublicWork,
    /// Credential verifications (`POST /api/v1/verify`, the verify page) per client address.
    Verify,
    /// Referral redirects per client address. Over the limit the visitor is still redirected,
    /// but the click is recorded as automated (excluded from the funnel).
    Redirect,
}

/// Referral clicks per minute from one address that still count as people.
pub const REDIRECTS_PER_MINUTE: u32 = 300;

pub struct RateLimits {
    login_by_address: DefaultKeyedRateLimiter<String>,
    login_by_account: DefaultKeyedRateLimiter<String>,
    register: DefaultKeyedRateLimiter<String>,
    public_work: DefaultKeyedRateLimiter<String>,
    verify: DefaultKeyedRateLimiter<String>,
    redirect: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl RateLimits {
    pub fn new(login_per_minute: u32, registrations_per_hour: u32) -> Self {
        Self {
            login_by_address: RateLimiter::keyed(Quota::per_minute(nonzero(login_per_minute))),
            login_by_account: RateLimiter::keyed(Quota::per_minute(nonzero(login_per_minute))),
            register: RateLimiter::keyed(Quota::per_hour(nonzero(registrations_per_hour))),
            public_work: RateLimiter::keyed(Quota::per_minute(nonzero(120))),
            // Employers check batches of certificates; a verification costs well under 1 ms.
            verify: RateLimiter::keyed(Quota::per_minute(nonzero(600)).allow_burst(nonzero(120))),
            redirect: RateLimiter::keyed(Quota::per_minute(nonzero(REDIRECTS_PER_MINUTE))),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when the key is over its limit.
    pub fn check(&self, limit: Limit, key: &str) -> Result<(), Duration> {
        let limiter = match limit {
            Limit::LoginByAddress => &self.login_by_address,
            Limit::LoginByAccount => &self.login_by_account,
            Limit::Register => &self.register,
            Limit::PublicWork => &self.public_work,
            Limit::Verify => &self.verify,
            Limit::Redirect => &self.redirect,
        };
        limiter
            .check_key(&key.to_string())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets idle keys so memory stays bounded.
    pub fn prune(&self) {
        self.login_by_address.retain_recent();
        self.login_by_account.retain_recent();
        self.register.retain_recent();
        self.public_work.retain_recent();
        self.verify.retain_recent();
        self.redirect.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key() {
        let limits = RateLimits::new(3, 10);
        for _ in 0..3 {
            limits.check(Limit::LoginByAddress, "1.2.3.4").unwrap();
        }
        let wait = limits.check(Limit::LoginByAddress, "1.2.3.4").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(60));
        limits.check(Limit::LoginByAddress, "5.6.7.8").unwrap();
        limits.check(Limit::LoginByAccount, "1.2.3.4").unwrap();
    }
}
