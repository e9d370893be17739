//! An in-process store: for tests, and for one execution environment on its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use super::{Acquired, Store, StoreFuture};
use crate::error::StoreError;
use crate::record::Record;

/// Records in a map behind a mutex. Each environment of a function has its own, so it
/// only protects against duplicates that reach the same environment; use DynamoDB or
/// Redis to cover all of them.
///
/// The map is bounded (by default [`MemoryStore::DEFAULT_CAPACITY`] records, a few MB):
/// when it is full, expired records are dropped, and if none has expired, the one that
/// expires first makes room. An environment lives for hours and may see millions of
/// events; without a bound every one of them would stay in memory.
#[derive(Debug)]
pub struct MemoryStore {
    records: Mutex<HashMap<String, Record>>,
    calls: AtomicU64,
    capacity: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_capacity(Self::DEFAULT_CAPACITY)
    }
}

impl MemoryStore {
    /// How many records a store made by [`MemoryStore::new`] holds at most.
    pub const DEFAULT_CAPACITY: usize = 10_000;

    /// An empty store of [`MemoryStore::DEFAULT_CAPACITY`] records.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// An empty store that holds at most `capacity` records (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryStore {
            records: Mutex::new(HashMap::new()),
            calls: AtomicU64::new(0),
            capacity: capacity.max(1),
        }
    }

    /// How many store calls were made (acquire, complete, release), for tests and benches.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The record held for `key`, if any (expired or not).
    pub fn get(&self, key: &str) -> Option<Record> {
        self.lock().ok()?.get(key).cloned()
    }

    /// How many records are held.
    pub fn len(&self) -> usize {
        self.lock().map(|records| records.len()).unwrap_or(0)
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts one store call and locks the map.
    fn call(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Record>>, StoreError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.lock()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Record>>, StoreError> {
        // A poisoned lock means a panic mid-update elsewhere; report it rather than guess.
        self.records
            .lock()
            .map_err(|_| StoreError::new("memory store lock poisoned"))
    }
}

impl Store for MemoryStore {
    fn acquire<'a>(&'a self, record: &'a Record, now: SystemTime) -> StoreFuture<'a, Acquired> {
        Box::pin(async move {
            let mut records = self.call()?;
            if let Some(existing) = records.get(&record.key) {
                if !existing.is_expired(now) {
                    return Ok(Acquired::Existing(existing.clone()));
                }
            }
            if records.len() >= self.capacity && !records.contains_key(&record.key) {
                make_room(&mut records, now);
            }
            records.insert(record.key.clone(), record.clone());
            Ok(Acquired::Acquired)
        })
    }

    fn complete<'a>(&'a self, record: &'a Record) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.call()?.insert(record.key.clone(), record.clone());
            Ok(())
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.call()?.remove(key);
            Ok(())
        })
    }
}

/// Drops every expired record; if none had expired, the one that expires first.
fn make_room(records: &mut HashMap<String, Record>, now: SystemTime) {
    let before = records.len();
    records.retain(|_, record| !record.is_expired(now));
    if records.len() < before {
        return;
    }
    let first_to_expire = records
        .values()
        .min_by_key(|record| record.expiration)
        .map(|record| record.key.clone());
    if let Some(key) = first_to_expire {
        records.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Status;
    use std::time::{Duration, UNIX_EPOCH};

    fn record(key: &str, expiration: u64) -> Record {
        Record {
            key: key.to_owned(),
            status: Status::Completed,
            expiration,
            in_progress_expiration: None,
            data: Some("{}".to_owned()),
            validation: None,
        }
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[tokio::test]
    async fn a_full_store_drops_its_expired_records() {
        let store = MemoryStore::with_capacity(3);
        for key in ["a", "b", "c"] {
            store
                .acquire(&record(key, 100), at(10))
                .await
                .expect("acquired");
        }
        assert_eq!(store.len(), 3);
        store
            .acquire(&record("d", 300), at(200))
            .await
            .expect("acquired");
        assert_eq!(store.len(), 1, "a, b and c had expired");
        assert!(store.get("d").is_some());
    }

    #[tokio::test]
    async fn a_store_full_of_live_records_lets_the_first_to_expire_go() {
        let store = MemoryStore::with_capacity(2);
        store
            .acquire(&record("late", 500), at(10))
            .await
            .expect("acquired");
        store
            .acquire(&record("early", 100), at(10))
            .await
            .expect("acquired");
        store
            .acquire(&record("new", 400), at(10))
            .await
            .expect("acquired");
        assert_eq!(store.len(), 2);
        assert!(store.get("early").is_none());
        assert!(store.get("late").is_some() && store.get("new").is_some());
    }

    #[tokio::test]
    async fn many_orders_never_grow_it_past_its_capacity() {
        let store = MemoryStore::with_capacity(100);
        for n in 0..10_000u64 {
            store
                .acquire(&record(&format!("order-{n}"), 1_000 + n), at(10 + n))
                .await
                .expect("acquired");
            assert!(store.len() <= 100);
        }
    }
}
