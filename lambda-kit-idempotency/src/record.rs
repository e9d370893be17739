//! An idempotency record: what a store keeps per key.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where a key's invocation stands. `EXPIRED` is not a stored status: a record is expired
/// when its times say so (see [`Record::is_expired`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The handler is running (or died while running).
    InProgress,
    /// The handler finished; the record holds its response.
    Completed,
}

impl Status {
    /// The stored spelling, as Powertools stores it: `INPROGRESS` or `COMPLETED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "INPROGRESS",
            Status::Completed => "COMPLETED",
        }
    }

    /// Reads a stored status; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "INPROGRESS" => Some(Status::InProgress),
            "COMPLETED" => Some(Status::Completed),
            _ => None,
        }
    }
}

/// One key's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record key: `<function name>[.<scope>]#<hash>`.
    pub key: String,
    /// Running or done.
    pub status: Status,
    /// When the record stops counting, in epoch seconds (the store's TTL attribute).
    pub expiration: u64,
    /// While in progress: when a retry may take over, in epoch milliseconds (the
    /// invocation's deadline, so a timed-out invocation does not block retries).
    pub in_progress_expiration: Option<u64>,
    /// The handler's response as JSON text, once completed.
    pub data: Option<String>,
    /// The hash of the validated part of the payload, if validation is on.
    pub validation: Option<String>,
}

impl Record {
    /// Whether the record no longer counts at `now`: past its expiration, or in progress
    /// past its in-progress expiration.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        let now_ms = epoch_millis(now);
        if self.expiration.saturating_mul(1000) <= now_ms {
            return true;
        }
        self.status == Status::InProgress
            && self
                .in_progress_expiration
                .is_some_and(|deadline_ms| deadline_ms <= now_ms)
    }
}

/// Milliseconds since the Unix epoch (0 for times before it).
pub(crate) fn epoch_millis(time: SystemTime) -> u64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

/// Seconds since the Unix epoch (0 for times before it).
pub(crate) fn epoch_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_progress(expiration: u64, in_progress_expiration: u64) -> Record {
        Record {
            key: "f#k".into(),
            status: Status::InProgress,
            expiration,
            in_progress_expiration: Some(in_progress_expiration),
            data: None,
            validation: None,
        }
    }

    #[test]
    fn expiry_comes_from_the_times_alone() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        assert!(!in_progress(2_000, 1_500_000).is_expired(now));
        // The invocation's deadline passed: a retry may take over.
        assert!(in_progress(2_000, 999_999).is_expired(now));
        // The record's own lifetime passed.
        assert!(in_progress(1_000, 1_500_000).is_expired(now));
        let completed = Record {
            status: Status::Completed,
            in_progress_expiration: Some(1),
            ..in_progress(2_000, 1)
        };
        assert!(
            !completed.is_expired(now),
            "in-progress expiry ignored once completed"
        );
    }

    #[test]
    fn statuses_round_trip_through_their_stored_spelling() {
        for status in [Status::InProgress, Status::Completed] {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("EXPIRED"), None);
    }
}
