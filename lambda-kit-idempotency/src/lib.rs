//! Idempotent Lambda handlers: run the work once per event key, and answer retries and
//! duplicate deliveries with the first response.
//!
//! Lambda delivers asynchronous events at least once and callers retry, so a handler that
//! charges a card must not charge twice. This crate keeps one record per key in a
//! [`Store`] (in memory, DynamoDB with the `dynamodb` feature, Redis with the `redis`
//! feature), with the semantics of Powertools for AWS Lambda's idempotency utility:
//!
//! - **Key:** `<function name>[.<scope>]#<hash>`, where the hash is SHA-256 (lowercase hex)
//!   of the canonical JSON (object keys sorted, no whitespace) of the whole event, or of
//!   what a JMESPath expression or a closure selects. `powertools_json(...)` parses a
//!   string that holds JSON, such as an API Gateway body, so that an expression can
//!   select inside it. With
//!   [`powertools_compatible`](IdempotencyBuilder::powertools_compatible), keys and
//!   validation hashes are the ones Powertools for Python computes, so the two can share
//!   a DynamoDB table.
//! - **Flow:** one conditional write of an INPROGRESS record (no read first). If a live
//!   record holds the key, it comes back with the failed write: COMPLETED answers with
//!   its stored response, INPROGRESS fails with `AlreadyInProgress`. After the work, the
//!   record becomes COMPLETED with the response; if the work fails, the record is deleted
//!   and the work's error is returned unchanged.
//! - **Expiry:** records live one hour by default; an INPROGRESS record also expires at
//!   the invocation's deadline, so a timed-out invocation does not block its retries.
//! - **Local cache:** completed records seen by this environment answer replays with no
//!   store call at all.
//! - **Errors:** [`IdempotencyError`], one errorType per case (`Idempotency.*`).
//! - `POWERTOOLS_IDEMPOTENCY_DISABLED=true` turns it all off.
//!
//! Around a whole handler, use [`IdempotencyLayer`]; for one piece of work (one record of
//! a batch), [`Idempotency::run`].

#![cfg_attr(docsrs, feature(doc_cfg))]

mod cache;
mod canonical;
mod config;
mod error;
mod hash;
mod idempotency;
mod layer;
mod python_json;
mod record;
mod select;
mod settings;
mod sorted_json;
pub mod store;
mod text;

pub use canonical::{canonical_json, hash_value};
pub use config::{
    ConfigError, DEFAULT_CACHE_CAPACITY, DEFAULT_EXPIRES_AFTER, DISABLED_ENV, IdempotencyBuilder,
};
pub use error::{IdempotencyError, StoreError, error_type};
pub use hash::HashFunction;
pub use idempotency::Idempotency;
pub use layer::{IdempotencyLayer, Idempotent};
pub use record::{Record, Status};
pub use select::{JmesPathSelection, Selection};
pub use settings::MissingKey;
pub use store::{Acquired, MemoryStore, Store};
