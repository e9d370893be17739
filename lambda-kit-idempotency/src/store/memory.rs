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
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<HashMap<String, Record>>,
    calls: AtomicU64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
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
