//! Limits login attempts per account and per client address (governor's GCRA), so passwords
//! cannot be guessed at speed.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

const PER_ACCOUNT_PER_MINUTE: NonZeroU32 = NonZeroU32::new(5).unwrap();
const PER_ADDRESS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(20).unwrap();
/// Keys idle long enough to be full again are forgotten once this many are kept.
const PRUNE_ABOVE: usize = 10_000;

pub struct LoginLimiter {
    accounts: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self {
            accounts: RateLimiter::keyed(Quota::per_minute(PER_ACCOUNT_PER_MINUTE)),
            addresses: RateLimiter::keyed(Quota::per_minute(PER_ADDRESS_PER_MINUTE)),
            clock: DefaultClock::default(),
        }
    }
}

impl LoginLimiter {
    /// Counts an attempt; `Err` holds how long to wait before the next one is allowed.
    pub fn attempt(&self, account: &str, address: IpAddr) -> Result<(), Duration> {
        if self.accounts.len() > PRUNE_ABOVE {
            self.accounts.retain_recent();
        }
        if self.addresses.len() > PRUNE_ABOVE {
            self.addresses.retain_recent();
        }
        let now = self.clock.now();
        self.addresses.check_key(&address).map_err(|not_until| not_until.wait_time_from(now))?;
        self.accounts.check_key(&account.to_lowercase()).map_err(|not_until| not_until.wait_time_from(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_attempt_on_one_account_within_a_minute_is_refused() {
        let limiter = LoginLimiter::default();
        let address: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..5 {
            assert!(limiter.attempt("alice", address).is_ok());
        }
        let wait = limiter.attempt("ALICE", address).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(12), "{wait:?}");
        assert!(limiter.attempt("bob", address).is_ok(), "other accounts are not affected");
    }

    #[test]
    fn one_address_cannot_spray_many_accounts() {
        let limiter = LoginLimiter::default();
        let address: IpAddr = [10, 0, 0, 2].into();
        for n in 0..20 {
            assert!(limiter.attempt(&format!("user{n}"), address).is_ok());
        }
        assert!(limiter.attempt("one-more", address).is_err());
        assert!(limiter.attempt("one-more", [10, 0, 0, 3].into()).is_ok());
    }
}
