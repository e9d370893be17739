//! Bounded exponential backoff with jitter, for reconnecting and re-polling.

use std::time::Duration;

/// The first wait; doubled on each failure up to [`MAX_DELAY`].
const BASE_DELAY: Duration = Duration::from_millis(10);
/// The longest single wait.
const MAX_DELAY: Duration = Duration::from_secs(1);
/// Attempts before the Runtime API counts as gone (about 2.5 s of waiting in all).
pub(crate) const MAX_ATTEMPTS: u32 = 9;

/// Counts consecutive failures and says how long to wait before the next attempt.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    failures: u32,
}

impl Backoff {
    /// Records a failure; returns the wait before retrying, or `None` when attempts ran out.
    pub(crate) fn next_delay(&mut self) -> Option<Duration> {
        self.failures += 1;
        if self.failures >= MAX_ATTEMPTS {
            return None;
        }
        let ceiling = BASE_DELAY
            .saturating_mul(1 << (self.failures - 1).min(16))
            .min(MAX_DELAY);
        // Half fixed, half random: workers that failed together do not retry together.
        let half = ceiling / 2;
        Some(half + half.mul_f64(crate::random::fraction()))
    }

    /// How many failures in a row were recorded.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded_then_stop() {
        let mut backoff = Backoff::default();
        let mut previous_ceiling = Duration::ZERO;
        for attempt in 1..MAX_ATTEMPTS {
            let delay = backoff.next_delay().expect("still retrying");
            let ceiling = BASE_DELAY.saturating_mul(1 << (attempt - 1)).min(MAX_DELAY);
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "attempt {attempt}: {delay:?}"
            );
            assert!(ceiling >= previous_ceiling);
            previous_ceiling = ceiling;
        }
        assert_eq!(backoff.next_delay(), None);
        assert_eq!(backoff.failures(), MAX_ATTEMPTS);
    }
}
