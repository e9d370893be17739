//! What a built [`Idempotency`](crate::Idempotency) holds: the builder's decisions, read
//! by the call flow. Neither the builder nor the flow is imported by this module.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::LocalCache;
use crate::hash::HashFunction;
use crate::select::Selection;
use crate::store::Store;
use crate::text::HashedText;

/// What happens when the key selection finds nothing in the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// Run the handler without idempotency and log a warning (Powertools' default).
    #[default]
    Skip,
    /// Fail with [`IdempotencyError::KeyMissing`](crate::IdempotencyError::KeyMissing);
    /// the handler does not run.
    Error,
}

/// What the builder decided.
pub(crate) struct Settings {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) key: Selection,
    pub(crate) validation: Option<Selection>,
    /// The text a selection is hashed as.
    pub(crate) text: HashedText,
    pub(crate) hash: HashFunction,
    pub(crate) expires_after: Duration,
    pub(crate) missing_key: MissingKey,
    pub(crate) cache: Option<LocalCache>,
    /// `<function name>[.<scope>]#`, the start of every record key.
    pub(crate) key_prefix: String,
    pub(crate) disabled: bool,
}
