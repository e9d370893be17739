//! The cache every provider's values live in, shared by all invocations of the
//! environment (it sits in the init state).
//!
//! A read says how old a value it accepts; a value that old or younger is served with no
//! call. Otherwise one reader per key fetches while the others for that key wait and take
//! its answer, so that on Lambda Managed Instances ten invocations that find the same
//! value expired cost one round trip, not ten.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::error::ParameterError;

/// How one read treats the cache.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Freshness {
    /// The oldest value the read accepts.
    pub(crate) max_age: Duration,
    /// Fetch even if the cached value is young enough.
    pub(crate) force: bool,
    /// When the fetch fails for a transient reason, serve the cached value however old.
    pub(crate) stale_on_error: bool,
}

/// Values by key, each with the time it was fetched.
#[derive(Debug)]
pub(crate) struct Cache<K, V> {
    entries: RwLock<HashMap<K, Arc<Entry<V>>>>,
}

#[derive(Debug)]
struct Entry<V> {
    state: Mutex<State<V>>,
    /// Held by the one reader that fetches this key.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct State<V> {
    value: Option<(V, Instant)>,
    /// Counts successful fetches, so that a reader that waited for another's fetch can
    /// tell that one completed.
    fetches: u64,
}

impl<K, V> Default for Cache<K, V> {
    fn default() -> Self {
        Cache {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Cache<K, V> {
    /// The value of `key`: cached if young enough for `freshness`, else fetched by
    /// `fetch` (by this reader, or by another reader of the same key it waits for).
    pub(crate) async fn get<F, Fut>(
        &self,
        key: &K,
        name: &str,
        freshness: Freshness,
        fetch: F,
    ) -> Result<V, ParameterError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, ParameterError>>,
    {
        let entry = self.entry(key);
        let seen = {
            let state = lock(&entry.state);
            if !freshness.force {
                if let Some((value, fetched)) = &state.value {
                    if fetched.elapsed() <= freshness.max_age {
                        return Ok(value.clone());
                    }
                }
            }
            state.fetches
        };
        let _fetching = entry.fetching.lock().await;
        {
            // Another reader fetched while this one waited: its value is as fresh as any.
            let state = lock(&entry.state);
            if state.fetches != seen {
                if let Some((value, _)) = &state.value {
                    return Ok(value.clone());
                }
            }
        }
        match fetch().await {
            Ok(value) => {
                let mut state = lock(&entry.state);
                state.value = Some((value.clone(), Instant::now()));
                state.fetches += 1;
                Ok(value)
            }
            Err(error) if freshness.stale_on_error && error.is_transient() => {
                let state = lock(&entry.state);
                match &state.value {
                    Some((value, fetched)) => {
                        tracing::warn!(
                            parameter = name,
                            age_ms = u64::try_from(fetched.elapsed().as_millis()).unwrap_or(u64::MAX),
                            error = %error,
                            "serving the cached value: the refresh failed"
                        );
                        Ok(value.clone())
                    }
                    None => Err(error),
                }
            }
            Err(error) => Err(error),
        }
    }

    /// The cached value of `key` if it is at most `max_age` old.
    pub(crate) fn fresh(&self, key: &K, max_age: Duration) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(key)?;
        let state = lock(&entry.state);
        let (value, fetched) = state.value.as_ref()?;
        (fetched.elapsed() <= max_age).then(|| value.clone())
    }

    /// Stores a value fetched outside [`get`](Self::get) (one of a batch).
    pub(crate) fn insert(&self, key: &K, value: V) {
        let entry = self.entry(key);
        let mut state = lock(&entry.state);
        state.value = Some((value, Instant::now()));
        state.fetches += 1;
    }

    /// Forgets every value.
    pub(crate) fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn entry(&self, key: &K) -> Arc<Entry<V>> {
        if let Some(entry) = self
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            return Arc::clone(entry);
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.entry(key.clone()).or_insert_with(|| {
            Arc::new(Entry {
                state: Mutex::new(State {
                    value: None,
                    fetches: 0,
                }),
                fetching: tokio::sync::Mutex::new(()),
            })
        });
        Arc::clone(entry)
    }
}

/// A panic while a state lock was held cannot leave it half-written (each write is one
/// assignment), so a poisoned lock is used as it is.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const LONG: Freshness = Freshness {
        max_age: Duration::from_secs(3600),
        force: false,
        stale_on_error: false,
    };

    const EXPIRED: Freshness = Freshness {
        max_age: Duration::ZERO,
        force: false,
        stale_on_error: false,
    };

    fn unavailable() -> ParameterError {
        ParameterError::unavailable("k", "connection refused", "refused")
    }

    #[tokio::test]
    async fn a_young_value_is_served_without_a_fetch() {
        let cache = Cache::<String, u32>::default();
        let fetches = AtomicUsize::new(0);
        let fetch = || async {
            fetches.fetch_add(1, Ordering::SeqCst);
            Ok(7)
        };
        let key = "k".to_owned();
        assert_eq!(cache.get(&key, "k", LONG, fetch).await.expect("fetched"), 7);
        assert_eq!(cache.get(&key, "k", LONG, fetch).await.expect("fetched"), 7);
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let forced = Freshness {
            force: true,
            ..LONG
        };
        cache.get(&key, "k", forced, fetch).await.expect("fetched");
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        cache.get(&key, "k", EXPIRED, fetch).await.expect("fetched");
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn readers_that_wait_take_the_fetch_they_waited_for() {
        const READERS: usize = 10;
        let cache = Arc::new(Cache::<String, u32>::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        // Each reader counts itself in right before its read, in the same poll: when the
        // count is full, every reader has looked at the cache, so the fetch that waits for
        // the full count completes while all the others wait for it.
        let (arrived, arrivals) = tokio::sync::watch::channel(0);
        let arrived = Arc::new(arrived);
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                let (cache, fetches) = (Arc::clone(&cache), Arc::clone(&fetches));
                let (arrived, mut arrivals) = (Arc::clone(&arrived), arrivals.clone());
                tokio::spawn(async move {
                    arrived.send_modify(|count| *count += 1);
                    let fetch = || async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        arrivals
                            .wait_for(|count| *count == READERS)
                            .await
                            .expect("the readers run");
                        Ok(1)
                    };
                    cache.get(&"k".to_owned(), "k", EXPIRED, fetch).await
                })
            })
            .collect();
        for reader in readers {
            assert_eq!(
                reader
                    .await
                    .expect("the reader ran")
                    .expect("the read succeeds"),
                1
            );
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn stale_values_stand_in_only_for_transient_failures_when_asked() {
        let cache = Cache::<String, u32>::default();
        let key = "k".to_owned();
        cache
            .get(&key, "k", LONG, || async { Ok(1) })
            .await
            .expect("the read succeeds");
        let error = cache
            .get(&key, "k", EXPIRED, || async { Err(unavailable()) })
            .await;
        assert!(matches!(error, Err(ParameterError::Unavailable { .. })));
        let stale = Freshness {
            stale_on_error: true,
            ..EXPIRED
        };
        let served = cache
            .get(&key, "k", stale, || async { Err(unavailable()) })
            .await;
        assert_eq!(served.expect("the cached value stands in"), 1);
        let gone = || async { Err(ParameterError::NotFound { name: "k".into() }) };
        let error = cache.get(&key, "k", stale, gone).await;
        assert!(matches!(error, Err(ParameterError::NotFound { .. })));
        // Nothing cached: nothing to stand in.
        let other = "other".to_owned();
        let error = cache
            .get(&other, "other", stale, || async { Err(unavailable()) })
            .await;
        assert!(error.is_err());
    }
}
