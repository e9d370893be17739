//! Where records live. A [`Store`] does three things, each in one round trip where the
//! backend allows: acquire a key (or hand back the live record that holds it), mark it
//! completed, and release it after a handler error.

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use crate::error::StoreError;
use crate::record::Record;

mod memory;
pub use memory::MemoryStore;

#[cfg(feature = "dynamodb")]
mod dynamodb;
#[cfg(feature = "dynamodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
pub use dynamodb::{DynamoDbStore, DynamoDbStoreBuilder};

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::RedisStore;

/// The future a [`Store`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What [`Store::acquire`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// The record was written: this call owns the key and runs the handler.
    Acquired,
    /// A record already held the key and was not expired by the store's check; it is
    /// returned as it was, so that no second read is needed.
    Existing(Record),
}

/// A backend for idempotency records.
///
/// Implementations must make [`acquire`](Store::acquire) atomic: of many concurrent
/// acquires of one key, exactly one may see [`Acquired::Acquired`] while the record is
/// live.
pub trait Store: Send + Sync + 'static {
    /// Writes `record` (status INPROGRESS) unless a live record holds its key, where live
    /// means not expired at `now` (see [`Record::is_expired`]); otherwise returns that
    /// record untouched.
    fn acquire<'a>(&'a self, record: &'a Record, now: SystemTime) -> StoreFuture<'a, Acquired>;

    /// Replaces the key's record with `record` (status COMPLETED, with the response).
    fn complete<'a>(&'a self, record: &'a Record) -> StoreFuture<'a, ()>;

    /// Deletes the key's record, so that a retry runs the handler again.
    fn release<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;
}

impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn acquire<'a>(&'a self, record: &'a Record, now: SystemTime) -> StoreFuture<'a, Acquired> {
        (**self).acquire(record, now)
    }

    fn complete<'a>(&'a self, record: &'a Record) -> StoreFuture<'a, ()> {
        (**self).complete(record)
    }

    fn release<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        (**self).release(key)
    }
}
