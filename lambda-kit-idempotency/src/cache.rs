//! The local cache: completed records this environment has seen, so that a replay that
//! reaches the same environment costs no store call.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::SystemTime;

use lru::LruCache;

use crate::record::{Record, Status};

/// A bounded LRU map from record key to completed record. Expired records are dropped
/// when looked up, so the cache never answers for longer than the store would.
#[derive(Debug)]
pub(crate) struct LocalCache {
    records: Mutex<LruCache<String, Record>>,
}

impl LocalCache {
    pub(crate) fn new(capacity: NonZeroUsize) -> Self {
        LocalCache {
            records: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// The completed, unexpired record for `key`, if cached.
    pub(crate) fn get(&self, key: &str, now: SystemTime) -> Option<Record> {
        let mut records = self.records.lock().ok()?;
        let record = records.get(key)?;
        if record.is_expired(now) {
            records.pop(key);
            return None;
        }
        Some(record.clone())
    }

    /// Remembers a completed record; other statuses are not cached.
    pub(crate) fn put(&self, record: &Record) {
        if record.status != Status::Completed {
            return;
        }
        if let Ok(mut records) = self.records.lock() {
            records.put(record.key.clone(), record.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn completed(key: &str, expiration: u64) -> Record {
        Record {
            key: key.into(),
            status: Status::Completed,
            expiration,
            in_progress_expiration: None,
            data: Some("1".into()),
            validation: None,
        }
    }

    #[test]
    fn bounded_least_recently_used_and_expiry_aware() {
        let cache = LocalCache::new(NonZeroUsize::new(2).expect("non-zero"));
        let now = UNIX_EPOCH + Duration::from_secs(100);
        cache.put(&completed("a", 200));
        cache.put(&completed("b", 200));
        assert!(cache.get("a", now).is_some());
        cache.put(&completed("c", 200)); // evicts b, the least recently used
        assert!(cache.get("b", now).is_none());
        assert!(cache.get("a", now).is_some());
        let later = UNIX_EPOCH + Duration::from_secs(200);
        assert!(
            cache.get("a", later).is_none(),
            "expired records are not answered"
        );
    }

    #[test]
    fn in_progress_records_are_not_cached() {
        let cache = LocalCache::new(NonZeroUsize::new(2).expect("non-zero"));
        let record = Record {
            status: Status::InProgress,
            ..completed("a", 200)
        };
        cache.put(&record);
        assert!(cache.get("a", UNIX_EPOCH).is_none());
    }
}
