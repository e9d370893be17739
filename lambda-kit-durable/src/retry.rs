//! When a failed step runs again.

use std::time::Duration;

/// How a failed step is retried: up to `max_attempts` attempts in all, the delay growing by
/// `backoff_rate` from `initial_delay` up to `max_delay`, with full jitter (a random delay
/// between 1 second and the computed one). Delays are whole seconds, at least one.
///
/// Which errors are retried: every error, unless [`RetryStrategy::retry_error_types`] or
/// [`RetryStrategy::retry_error_messages`] name some; then only those.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryStrategy {
    max_attempts: u32,
    initial_delay: Duration,
    max_delay: Duration,
    backoff_rate: f64,
    jitter: bool,
    error_types: Option<Vec<String>>,
    error_messages: Option<Vec<String>>,
}

impl Default for RetryStrategy {
    /// Six attempts, 5 s doubling up to a minute, with jitter: what the other SDKs use when
    /// a step says nothing.
    fn default() -> Self {
        RetryStrategy {
            max_attempts: 6,
            initial_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(60),
            backoff_rate: 2.0,
            jitter: true,
            error_types: None,
            error_messages: None,
        }
    }
}

impl RetryStrategy {
    /// One attempt, no retries.
    pub fn none() -> Self {
        RetryStrategy {
            max_attempts: 1,
            ..RetryStrategy::default()
        }
    }

    /// Up to `attempts` attempts in all.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The delay before the first retry.
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest delay.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The factor each delay grows by.
    pub fn backoff_rate(mut self, rate: f64) -> Self {
        self.backoff_rate = rate;
        self
    }

    /// Without jitter: exactly the computed delays.
    pub fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// Retries only errors whose type (the `ErrorType` a failed step records: the error's
    /// type name) is one of `types`, or that [`RetryStrategy::retry_error_messages`] names.
    pub fn retry_error_types<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        types: I,
    ) -> Self {
        self.error_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Retries only errors whose message contains one of `parts`, or that
    /// [`RetryStrategy::retry_error_types`] names.
    pub fn retry_error_messages<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        parts: I,
    ) -> Self {
        self.error_messages = Some(parts.into_iter().map(Into::into).collect());
        self
    }

    /// Whether an error of `error_type` saying `message` may be retried at all.
    pub(crate) fn retries(&self, error_type: &str, message: &str) -> bool {
        if self.error_types.is_none() && self.error_messages.is_none() {
            return true;
        }
        let by_type = self
            .error_types
            .iter()
            .flatten()
            .any(|known| known == error_type);
        let by_message = self
            .error_messages
            .iter()
            .flatten()
            .any(|part| message.contains(part.as_str()));
        by_type || by_message
    }

    /// After `attempts_made` attempts failed, the delay before the next one; `None` when
    /// they are used up. `random` is a number in [0, 1) for the jitter.
    pub(crate) fn next_delay(&self, attempts_made: u32, random: f64) -> Option<Duration> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        let exponent = i32::try_from(attempts_made.saturating_sub(1)).unwrap_or(i32::MAX);
        let base = (self.initial_delay.as_secs_f64() * self.backoff_rate.powi(exponent))
            .min(self.max_delay.as_secs_f64());
        let delay = if self.jitter { base * random } else { base };
        // Whole seconds, at least one: the service schedules retries by the second.
        Some(Duration::from_secs((delay.ceil() as u64).max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_until_the_cap_and_stop_with_the_attempts() {
        let strategy = RetryStrategy::default().without_jitter();
        let delays: Vec<Option<u64>> = (1..=6)
            .map(|made| strategy.next_delay(made, 0.5).map(|d| d.as_secs()))
            .collect();
        assert_eq!(
            delays,
            [Some(5), Some(10), Some(20), Some(40), Some(60), None]
        );
        assert_eq!(RetryStrategy::none().next_delay(1, 0.5), None);
    }

    #[test]
    fn error_filters_retry_only_what_they_name() {
        let all = RetryStrategy::default();
        assert!(all.retries("Anything", "at all"));
        let typed = RetryStrategy::default().retry_error_types(["TransientError"]);
        assert!(typed.retries("TransientError", "x"));
        assert!(!typed.retries("ValidationError", "x"));
        let worded = typed.clone().retry_error_messages(["timed out"]);
        assert!(worded.retries("ValidationError", "the call timed out"));
        assert!(!worded.retries("ValidationError", "bad input"));
    }

    #[test]
    fn jittered_delays_stay_between_one_second_and_the_computed_delay() {
        let strategy = RetryStrategy::default();
        for random in [0.0, 0.01, 0.5, 0.999] {
            let delay = strategy.next_delay(3, random).expect("a retry").as_secs();
            assert!((1..=20).contains(&delay), "{delay}");
        }
    }
}
