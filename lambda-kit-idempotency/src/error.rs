//! The one error type of idempotency, and the errorTypes Lambda reports for it.

use std::borrow::Cow;
use std::error::Error as StdError;

use lambda_kit::Diagnostic;

/// Why an idempotent call did not run the handler, or could not record its outcome.
///
/// A handler's own error is never wrapped in this type: it is returned unchanged.
/// Each variant has its own errorType (see [`IdempotencyError::error_type`]) so that
/// callers and Step Functions `Retry` rules can tell them apart.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdempotencyError {
    /// Another invocation with the same key is running now; retry later.
    #[error("an invocation with idempotency key {key} is already in progress")]
    AlreadyInProgress {
        /// The record key.
        key: String,
    },
    /// A replay carried another payload than the first call (its validation hash differs).
    #[error("the payload differs from the first call with idempotency key {key}")]
    Validation {
        /// The record key.
        key: String,
    },
    /// The key selection found nothing in the event, and missing keys are errors.
    #[error("no idempotency key in the event: {selection} selected nothing")]
    KeyMissing {
        /// The selection that came up empty (a JMESPath expression, or `closure`).
        selection: String,
    },
    /// The store could not be reached or refused the request. When this happens before the
    /// handler, the handler has not run.
    #[error("idempotency store failed: {0}")]
    Persistence(#[source] StoreError),
    /// The store's answers contradict each other (a conflicting record that is already
    /// expired, seen again after every retry).
    #[error("idempotency record {key} stayed inconsistent after {attempts} attempts")]
    InconsistentState {
        /// The record key.
        key: String,
        /// How many times the record was written.
        attempts: u32,
    },
    /// The stored response no longer decodes into the handler's response type.
    #[error("stored response of idempotency record {key} does not decode: {source}")]
    StoredResponseInvalid {
        /// The record key.
        key: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
}

/// The errorTypes of [`IdempotencyError`], as Lambda reports them.
pub mod error_type {
    /// [`IdempotencyError::AlreadyInProgress`](super::IdempotencyError::AlreadyInProgress).
    pub const ALREADY_IN_PROGRESS: &str = "Idempotency.AlreadyInProgress";
    /// [`IdempotencyError::Validation`](super::IdempotencyError::Validation).
    pub const VALIDATION: &str = "Idempotency.Validation";
    /// [`IdempotencyError::KeyMissing`](super::IdempotencyError::KeyMissing).
    pub const KEY_MISSING: &str = "Idempotency.KeyMissing";
    /// [`IdempotencyError::Persistence`](super::IdempotencyError::Persistence).
    pub const PERSISTENCE: &str = "Idempotency.Persistence";
    /// [`IdempotencyError::InconsistentState`](super::IdempotencyError::InconsistentState).
    pub const INCONSISTENT_STATE: &str = "Idempotency.InconsistentState";
    /// [`IdempotencyError::StoredResponseInvalid`](super::IdempotencyError::StoredResponseInvalid).
    pub const STORED_RESPONSE_INVALID: &str = "Idempotency.StoredResponseInvalid";
}

impl IdempotencyError {
    /// The errorType Lambda reports, such as `Idempotency.AlreadyInProgress`.
    pub fn error_type(&self) -> &'static str {
        match self {
            IdempotencyError::AlreadyInProgress { .. } => error_type::ALREADY_IN_PROGRESS,
            IdempotencyError::Validation { .. } => error_type::VALIDATION,
            IdempotencyError::KeyMissing { .. } => error_type::KEY_MISSING,
            IdempotencyError::Persistence(_) => error_type::PERSISTENCE,
            IdempotencyError::InconsistentState { .. } => error_type::INCONSISTENT_STATE,
            IdempotencyError::StoredResponseInvalid { .. } => error_type::STORED_RESPONSE_INVALID,
        }
    }
}

impl Diagnostic for IdempotencyError {
    fn error_type(&self) -> Cow<'_, str> {
        Cow::Borrowed(IdempotencyError::error_type(self))
    }

    /// The caller is at fault for a changed payload, a missing key or a concurrent duplicate
    /// (like HTTP 4xx); store trouble is the function's fault.
    fn is_client_error(&self) -> bool {
        matches!(
            self,
            IdempotencyError::AlreadyInProgress { .. }
                | IdempotencyError::Validation { .. }
                | IdempotencyError::KeyMissing { .. }
        )
    }
}

/// A store's failure: the server was unreachable, refused the request, or answered
/// something that is not a record.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    message: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl StoreError {
    /// A failure described in words.
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
            source: None,
        }
    }

    /// A failure with the client library's error as its source.
    pub fn with_source(
        message: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        StoreError {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}
