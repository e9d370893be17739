//! The idempotent call: acquire the key, run the work once, record its response, and
//! answer replays from the record.

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use lambda_kit::{Context, Error};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::cache::LocalCache;
use crate::error::IdempotencyError;
use crate::record::{Record, Status, epoch_millis, epoch_seconds};
use crate::select::Selection;
use crate::settings::{MissingKey, Settings};
use crate::store::Acquired;
use crate::text::HashedText;

/// How many times an acquire is repeated when the conflicting record it got back is
/// already expired (a race with its expiry or a deletion): twice, as in Powertools.
const MAX_RETRIES: u32 = 2;

/// Runs work at most once per key and answers replays with the first response.
///
/// Cheap to clone: clones share the store and the local cache. Use it through
/// [`IdempotencyLayer`](crate::IdempotencyLayer) around a whole handler, or call
/// [`run`](Idempotency::run) for one piece of work, such as one record of a batch.
///
/// ```
/// use lambda_kit_idempotency::{Idempotency, MemoryStore};
///
/// let idempotency = Idempotency::builder(MemoryStore::new())
///     .key_jmespath("order_id")
///     .validation_jmespath("amount")
///     .build()?;
/// # let _ = idempotency;
/// # Ok::<(), lambda_kit_idempotency::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Idempotency {
    settings: Arc<Settings>,
}

impl std::fmt::Debug for Idempotency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idempotency")
            .field("key", &self.settings.key)
            .field("validation", &self.settings.validation)
            .field("expires_after", &self.settings.expires_after)
            .field("key_prefix", &self.settings.key_prefix)
            .field("text", &self.settings.text)
            .field("hash", &self.settings.hash)
            .field("disabled", &self.settings.disabled)
            .finish_non_exhaustive()
    }
}

impl Idempotency {
    pub(crate) fn from_settings(settings: Settings) -> Self {
        Idempotency {
            settings: Arc::new(settings),
        }
    }

    /// Runs `work` unless a call with the same key (selected from `data`) already ran, in
    /// which case its stored response is returned and `work` is not called.
    ///
    /// The in-progress record expires at the invocation's deadline (`ctx`), so a call
    /// that timed out does not block retries. `work`'s error is returned unchanged and
    /// releases the key; the other failures are [`IdempotencyError`]s, converted with
    /// their own errorTypes (find them with `error.downcast_ref::<IdempotencyError>()`).
    pub async fn run<D, T, F, Fut, E>(&self, ctx: &Context, data: &D, work: F) -> Result<T, Error>
    where
        D: Serialize + ?Sized,
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<Error>,
    {
        let data = self.data(data)?;
        self.run_value(ctx.deadline(), &data, work).await
    }

    /// `data` as the JSON its keys are selected from.
    pub(crate) fn data<D: Serialize + ?Sized>(&self, data: &D) -> Result<Value, Error> {
        Ok(self.settings.text.data(data)?)
    }

    /// [`run`](Self::run) on data already in JSON form, for an invocation that ends at
    /// `deadline`.
    pub(crate) async fn run_value<T, F, Fut, E>(
        &self,
        deadline: SystemTime,
        data: &Value,
        work: F,
    ) -> Result<T, Error>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<Error>,
    {
        let settings = &*self.settings;
        if settings.disabled {
            return work().await.map_err(Into::into);
        }
        let Some(key) = self.record_key(data)? else {
            return work().await.map_err(Into::into);
        };
        let validation = settings
            .validation
            .as_ref()
            .and_then(|selection| settings.validation_hash(selection, data));
        if let Some(record) = self.cached(&key) {
            check_validation(&record, validation.as_deref())?;
            return replay(&record);
        }
        if let Some(existing) = self.acquire(&key, deadline, validation.as_deref()).await? {
            return answer_from(&existing, validation.as_deref(), settings.cache.as_ref());
        }
        match work().await {
            Ok(response) => self.complete(key, validation, response).await,
            Err(error) => {
                // The key is released so that a retry runs the work again; if that fails,
                // the record still expires at the deadline. Either way the caller gets the
                // work's own error.
                if let Err(store_error) = settings.store.release(&key).await {
                    tracing::error!(
                        idempotency_key = %key,
                        error = %store_error,
                        "could not release the idempotency record after an error; retries wait for its in-progress expiry"
                    );
                }
                Err(error.into())
            }
        }
    }

    /// The record key for `data`, or `None` when it has no key and missing keys are skipped.
    fn record_key(&self, data: &Value) -> Result<Option<String>, Error> {
        let settings = &*self.settings;
        match settings.key_hash(data) {
            Some(hash) => Ok(Some(format!("{}{hash}", settings.key_prefix))),
            None => match settings.missing_key {
                MissingKey::Skip => {
                    tracing::warn!(
                        selection = %settings.key.describe(),
                        "no idempotency key in the event; running without idempotency"
                    );
                    Ok(None)
                }
                MissingKey::Error => Err(Error::from_diagnostic(IdempotencyError::KeyMissing {
                    selection: settings.key.describe(),
                })),
            },
        }
    }

    fn cached(&self, key: &str) -> Option<Record> {
        self.settings.cache.as_ref()?.get(key, SystemTime::now())
    }

    /// Writes the in-progress record. `Ok(None)`: this call owns the key. `Ok(Some(r))`:
    /// a live record `r` holds it.
    async fn acquire(
        &self,
        key: &str,
        deadline: SystemTime,
        validation: Option<&str>,
    ) -> Result<Option<Record>, Error> {
        let settings = &*self.settings;
        for _ in 0..=MAX_RETRIES {
            let now = SystemTime::now();
            let record = Record {
                key: key.to_owned(),
                status: Status::InProgress,
                expiration: epoch_seconds(now + settings.expires_after),
                in_progress_expiration: Some(epoch_millis(deadline)),
                data: None,
                validation: validation.map(str::to_owned),
            };
            let acquired = settings
                .store
                .acquire(&record, now)
                .await
                .map_err(|error| Error::from_diagnostic(IdempotencyError::Persistence(error)))?;
            match acquired {
                Acquired::Acquired => return Ok(None),
                // The store saw it live, but by our clock it is expired (or it is a
                // completed record without a response): try again.
                Acquired::Existing(existing)
                    if existing.is_expired(SystemTime::now())
                        || (existing.status == Status::Completed && existing.data.is_none()) => {}
                Acquired::Existing(existing) => return Ok(Some(existing)),
            }
        }
        Err(Error::from_diagnostic(
            IdempotencyError::InconsistentState {
                key: key.to_owned(),
                attempts: MAX_RETRIES + 1,
            },
        ))
    }

    /// Records the response and returns it. A store failure here is logged, not returned:
    /// the work has run, and its response is the truth the caller needs.
    async fn complete<T: Serialize>(
        &self,
        key: String,
        validation: Option<String>,
        response: T,
    ) -> Result<T, Error> {
        let settings = &*self.settings;
        let data = serde_json::to_string(&response)?;
        let record = Record {
            key,
            status: Status::Completed,
            expiration: epoch_seconds(SystemTime::now() + settings.expires_after),
            in_progress_expiration: None,
            data: Some(data),
            validation,
        };
        match settings.store.complete(&record).await {
            Ok(()) => {
                if let Some(cache) = &settings.cache {
                    cache.put(&record);
                }
            }
            Err(error) => tracing::error!(
                idempotency_key = %record.key,
                %error,
                "could not record the response; a retry after the in-progress expiry runs the work again"
            ),
        }
        Ok(response)
    }
}

impl Settings {
    /// The hash of the key `data` holds; `None` if the key selection finds nothing. An
    /// expression that fails on this data (say `powertools_json` on a body that is not
    /// JSON) counts as finding nothing, and the failure is logged.
    fn key_hash(&self, data: &Value) -> Option<String> {
        let selected = logged(&self.key, self.key.select(data))?;
        Some(self.hash_of(&selected))
    }

    /// The validation hash of `data`. What the selection finds is hashed as it is, as
    /// Powertools does, except that lambda-kit's own keys store no hash when it finds
    /// nothing (Python's text hashes `null` then).
    fn validation_hash(&self, selection: &Selection, data: &Value) -> Option<String> {
        let selected = match self.text {
            HashedText::Canonical => logged(selection, selection.select(data))?,
            HashedText::Python => {
                logged(selection, selection.select_as_is(data)).unwrap_or(Value::Null)
            }
        };
        Some(self.hash_of(&selected))
    }

    fn hash_of(&self, selected: &Value) -> String {
        self.hash.hex_digest(self.text.write(selected).as_bytes())
    }
}

/// A selection's result, with a failed search logged and taken as finding nothing.
fn logged(
    selection: &Selection,
    result: Result<Option<Value>, jmespath::JmespathError>,
) -> Option<Value> {
    result.unwrap_or_else(|error| {
        tracing::warn!(selection = %selection.describe(), %error, "idempotency selection failed");
        None
    })
}

/// Answers from a live record another call wrote.
fn answer_from<T: DeserializeOwned>(
    existing: &Record,
    validation: Option<&str>,
    cache: Option<&LocalCache>,
) -> Result<T, Error> {
    check_validation(existing, validation)?;
    match existing.status {
        Status::Completed => {
            if let Some(cache) = cache {
                cache.put(existing);
            }
            replay(existing)
        }
        Status::InProgress => Err(Error::from_diagnostic(
            IdempotencyError::AlreadyInProgress {
                key: existing.key.clone(),
            },
        )),
    }
}

/// The stored response of a completed record whose payload was checked.
fn replay<T: DeserializeOwned>(record: &Record) -> Result<T, Error> {
    let data = record.data.as_deref().unwrap_or("null");
    serde_json::from_str(data).map_err(|source| {
        Error::from_diagnostic(IdempotencyError::StoredResponseInvalid {
            key: record.key.clone(),
            source,
        })
    })
}

/// A replay must carry the payload the record was made from, where both have a hash.
fn check_validation(record: &Record, validation: Option<&str>) -> Result<(), Error> {
    match (record.validation.as_deref(), validation) {
        (Some(stored), Some(ours)) if stored != ours => {
            Err(Error::from_diagnostic(IdempotencyError::Validation {
                key: record.key.clone(),
            }))
        }
        _ => Ok(()),
    }
}
