//! When a failed delivery is tried again: after 1 s, doubling, at most 5 min apart, until its
//! give-up time has passed.

use chrono::{DateTime, Duration, Utc};

pub const FIRST_RETRY: Duration = Duration::seconds(1);
pub const LONGEST_RETRY: Duration = Duration::minutes(5);

/// The next attempt after the `attempts`-th one failed at `failed_at`, or `None` when the delivery
/// is to be given up: its give-up time has passed, or the next attempt would come after it (the
/// last attempt is then made at the give-up time itself, so no delivery ends earlier than promised).
pub fn next_attempt(attempts: u32, failed_at: DateTime<Utc>, give_up_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if failed_at >= give_up_at {
        return None;
    }
    let doublings = attempts.saturating_sub(1).min(20);
    let delay = (FIRST_RETRY * 2_i32.pow(doublings)).min(LONGEST_RETRY);
    Some((failed_at + delay).min(give_up_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).expect("a valid time")
    }

    #[test]
    fn given_failures_then_the_delay_doubles_from_one_second_up_to_five_minutes() {
        let give_up = at(86_400);
        let delays: Vec<i64> = (1..=12)
            .map(|attempts| (next_attempt(attempts, at(0), give_up).expect("retried") - at(0)).num_seconds())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(next_attempt(u32::MAX, at(0), give_up), Some(at(300)), "no overflow after many attempts");
    }

    #[test]
    fn given_the_give_up_time_then_the_last_attempt_is_made_at_it_and_none_after() {
        assert_eq!(next_attempt(9, at(100), at(110)), Some(at(110)), "cut to the give-up time");
        assert_eq!(next_attempt(10, at(110), at(110)), None, "failed at the give-up time: given up");
        assert_eq!(next_attempt(1, at(200), at(110)), None);
    }
}
