//! Limits login attempts (governor's GCRA) so passwords cannot be guessed at speed, without
//! letting a guesser lock the real user out: the tight limits are per client (per account from one
//! client, and per client over all accounts), and the one limit per account alone is a slow hourly
//! budget that a client the account has logged in from before is not held to.

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

const PER_ACCOUNT_AND_CLIENT_PER_MINUTE: NonZeroU32 = NonZeroU32::new(5).unwrap();
const PER_CLIENT_PER_MINUTE: NonZeroU32 = NonZeroU32::new(20).unwrap();
const PER_ACCOUNT_PER_HOUR: NonZeroU32 = NonZeroU32::new(100).unwrap();
/// Keys idle long enough to be full again are forgotten once this many are kept.
const PRUNE_ABOVE: usize = 10_000;
/// One more than the longest username: a longer name is cut here (so a huge name costs no more
/// memory than a real one) and still never shares a real account's counters.
const ACCOUNT_KEY_CHARS: usize = 65;

/// Who an attempt comes from, as the limits see it: the TCP peer's IPv4 address, or the /64 of its
/// IPv6 address (one subscriber's network: anyone holding one holds all 2^64 addresses in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client(IpAddr);

impl Client {
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => Self(address),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => Self(IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into())),
            },
        }
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// Why an attempt is held back, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// This client has tried this account, or accounts in general, too often.
    Client(Duration),
    /// The account's hourly budget over all clients is spent: only a client the account has
    /// logged in from before may go on.
    Account(Duration),
}

pub struct LoginLimiter {
    account_from_client: DefaultKeyedRateLimiter<(String, Client)>,
    clients: DefaultKeyedRateLimiter<Client>,
    accounts: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self {
            account_from_client: RateLimiter::keyed(Quota::per_minute(PER_ACCOUNT_AND_CLIENT_PER_MINUTE)),
            clients: RateLimiter::keyed(Quota::per_minute(PER_CLIENT_PER_MINUTE)),
            accounts: RateLimiter::keyed(Quota::per_hour(PER_ACCOUNT_PER_HOUR)),
            clock: DefaultClock::default(),
        }
    }
}

impl LoginLimiter {
    /// Counts an attempt on `account` from `client`. The client's own limits come first, so a
    /// client held back by them spends nothing of the account's budget.
    pub fn attempt(&self, account: &str, client: Client) -> Result<(), Limited> {
        self.prune();
        let now = self.clock.now();
        let account = account_key(account);
        self.account_from_client
            .check_key(&(account.clone(), client))
            .and_then(|()| self.clients.check_key(&client))
            .map_err(|not_until| Limited::Client(not_until.wait_time_from(now)))?;
        self.accounts.check_key(&account).map_err(|not_until| Limited::Account(not_until.wait_time_from(now)))
    }

    fn prune(&self) {
        if self.account_from_client.len() > PRUNE_ABOVE {
            self.account_from_client.retain_recent();
        }
        if self.clients.len() > PRUNE_ABOVE {
            self.clients.retain_recent();
        }
        if self.accounts.len() > PRUNE_ABOVE {
            self.accounts.retain_recent();
        }
    }
}

/// Every spelling of a name shares its counters, so changing case buys a guesser nothing whatever
/// the store's collation.
fn account_key(account: &str) -> String {
    account.chars().take(ACCOUNT_KEY_CHARS).flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(text: &str) -> Client {
        Client::of(text.parse().expect("an IP address"))
    }

    #[test]
    fn the_sixth_attempt_on_one_account_from_one_client_within_a_minute_is_refused() {
        let limiter = LoginLimiter::default();
        for _ in 0..5 {
            assert_eq!(limiter.attempt("alice", client("10.0.0.1")), Ok(()));
        }
        let Err(Limited::Client(wait)) = limiter.attempt("ALICE", client("10.0.0.1")) else {
            panic!("the sixth attempt is the client's to wait for");
        };
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(12), "{wait:?}");
        assert_eq!(limiter.attempt("bob", client("10.0.0.1")), Ok(()), "other accounts are not affected");
    }

    #[test]
    fn a_guesser_at_one_address_does_not_hold_back_the_account_elsewhere() {
        let limiter = LoginLimiter::default();
        for _ in 0..5 {
            assert_eq!(limiter.attempt("alice", client("203.0.113.9")), Ok(()));
        }
        assert!(matches!(limiter.attempt("alice", client("203.0.113.9")), Err(Limited::Client(_))));
        assert_eq!(limiter.attempt("alice", client("198.51.100.7")), Ok(()), "the real user, elsewhere");
    }

    #[test]
    fn one_client_cannot_spray_many_accounts() {
        let limiter = LoginLimiter::default();
        for n in 0..20 {
            assert_eq!(limiter.attempt(&format!("user{n}"), client("10.0.0.2")), Ok(()));
        }
        assert!(matches!(limiter.attempt("one-more", client("10.0.0.2")), Err(Limited::Client(_))));
        assert_eq!(limiter.attempt("one-more", client("10.0.0.3")), Ok(()));
    }

    #[test]
    fn many_clients_spend_the_accounts_hourly_budget() {
        let limiter = LoginLimiter::default();
        // 100 attempts from 25 addresses, 4 each: no client limit is reached
        for n in 0..100 {
            assert_eq!(limiter.attempt("alice", client(&format!("10.1.0.{}", n / 4))), Ok(()), "attempt {n}");
        }
        // Then the account's budget is spent, whoever asks, and refills one attempt per 36 s
        let Err(Limited::Account(wait)) = limiter.attempt("Alice", client("10.2.0.1")) else {
            panic!("the budget is spent");
        };
        assert!(wait > Duration::from_secs(30) && wait <= Duration::from_secs(36), "{wait:?}");
        assert_eq!(limiter.attempt("bob", client("10.2.0.1")), Ok(()), "other accounts keep theirs");
    }

    #[test]
    fn a_client_held_back_by_its_own_limits_spends_nothing_of_the_accounts_budget() {
        let limiter = LoginLimiter::default();
        for _ in 0..500 {
            let _ = limiter.attempt("alice", client("10.3.0.1"));
        }
        for n in 0..95 {
            assert_eq!(limiter.attempt("alice", client(&format!("10.4.0.{}", n / 5))), Ok(()), "attempt {n}");
        }
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64_and_a_mapped_one_its_ipv4_address() {
        assert_eq!(client("2001:db8:1:2:aaaa::1"), client("2001:db8:1:2:bbbb::2"));
        assert_ne!(client("2001:db8:1:2::1"), client("2001:db8:1:3::1"));
        assert_eq!(client("2001:db8:1:2:aaaa::1").to_string(), "2001:db8:1:2::/64");
        assert_eq!(client("::ffff:10.0.0.1"), client("10.0.0.1"));
        assert_eq!(client("10.0.0.1").to_string(), "10.0.0.1");
        let limiter = LoginLimiter::default();
        for n in 0..5 {
            assert_eq!(limiter.attempt("alice", client(&format!("2001:db8::{n}"))), Ok(()));
        }
        assert!(matches!(limiter.attempt("alice", client("2001:db8::ffff")), Err(Limited::Client(_))));
    }

    #[test]
    fn a_huge_name_is_keyed_short_and_apart_from_real_names() {
        let long = "a".repeat(64);
        let longer = format!("{long}xyz-and-much-more");
        assert_eq!(account_key(&longer).chars().count(), ACCOUNT_KEY_CHARS);
        assert_ne!(account_key(&longer), account_key(&long));
        assert_eq!(account_key("Alice"), "alice");
    }
}
